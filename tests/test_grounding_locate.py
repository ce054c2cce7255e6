"""Locate and zoom-then-ground: the fake grounding model, the tiny model, and a real window."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from agent.backends.scripted import ScriptedBackend
from agent.computer_use.planner import Planner
from agent.errors import TargetNotFoundError
from agent.geometry import CaptureGeometry, Region
from agent.grounding.grounder import locate
from agent.grounding.locate import GroundingAsker
from agent.grounding.refine import RefineMode, Refiner
from agent.testing.grounding import FakeGroundingBackend
from tests.loopback_servers import StubServer, serving
from tests.support import call, deskpilot, model_point

ICON = (200, 40, 160)  # the colour the fake model is told its target has
PANEL = (40, 160, 90)


def _screen(icon_box: tuple[int, int, int, int]) -> Image.Image:
    image = Image.new("RGB", (1920, 1080), (235, 235, 235))
    draw = ImageDraw.Draw(image)
    draw.rectangle((300, 300, 699, 499), fill=PANEL)  # a 400x200 panel
    draw.rectangle((icon_box[0], icon_box[1], icon_box[2] - 1, icon_box[3] - 1), fill=ICON)
    return image


def _inside(point: tuple[int, int], box: tuple[int, int, int, int]) -> bool:
    return box[0] <= point[0] < box[2] and box[1] <= point[1] < box[3]


# A 16 px icon near the right edge, and a model that is 10 grid units (19.2 px) off in x.
ICON_BOX = (1880, 40, 1896, 56)
OFFSET = Region(-1920, -300, 1920, 1080)  # a monitor left of and above the primary


def _shifted(box: tuple[int, int, int, int], region: Region) -> tuple[int, int, int, int]:
    return (box[0] + region.left, box[1] + region.top, box[2] + region.left, box[3] + region.top)


@pytest.mark.parametrize(
    ("mode", "hit"), [(RefineMode.OFF, False), (RefineMode.ALWAYS, True), (RefineMode.AUTO, True)]
)
def test_refinement_hits_the_icon_one_pass_misses(mode: RefineMode, hit: bool) -> None:
    fake = FakeGroundingBackend({"the pink icon": ICON}, error=(10, 0))
    asker = GroundingAsker(fake)
    refiner = None if mode is RefineMode.OFF else Refiner(asker, mode)
    geometry = CaptureGeometry.unscaled(OFFSET)
    located = locate(asker, refiner, "the pink icon", _screen(ICON_BOX), geometry, threading.Event())
    assert _inside(located.screen_xy, _shifted(ICON_BOX, OFFSET)) is hit
    assert len(fake.requests) == (1 if mode is RefineMode.OFF else 2)
    if mode is not RefineMode.OFF:
        record = located.refinement
        assert record is not None and record["used"]
        assert record["crop"] == {"left": 1440, "top": 0, "width": 480, "height": 270}  # clamped at the edge
        assert tuple(record["screen"]) == located.screen_xy
        assert fake.requests[1].images[0].size == (480, 270)  # the crop at its own resolution


def test_auto_leaves_a_point_on_large_structure_alone() -> None:
    fake = FakeGroundingBackend({"the green panel": PANEL}, error=(10, 0))
    asker = GroundingAsker(fake)
    located = locate(
        asker,
        Refiner(asker, RefineMode.AUTO),
        "the green panel",
        _screen(ICON_BOX),
        CaptureGeometry.unscaled(Region(0, 0, 1920, 1080)),
        threading.Event(),
    )
    assert located.refinement is None
    assert len(fake.requests) == 1
    assert _inside(located.screen_xy, (300, 300, 700, 500))


def test_hidpi_capture_maps_the_refined_point_to_input_units() -> None:
    # 2 image pixels per input unit: the same picture, captured at 3840x2160 on a 1920x1080 monitor.
    image = _screen(ICON_BOX).resize((3840, 2160), Image.Resampling.NEAREST)
    fake = FakeGroundingBackend({"the pink icon": ICON}, error=(10, 0))
    asker = GroundingAsker(fake)
    geometry = CaptureGeometry(Region(0, 0, 1920, 1080), 3840, 2160)
    located = locate(
        asker, Refiner(asker, RefineMode.ALWAYS), "the pink icon", image, geometry, threading.Event()
    )
    assert _inside(located.screen_xy, ICON_BOX)


def test_a_reply_without_a_point_is_not_found_never_a_guess() -> None:
    backend = ScriptedBackend([call('{"action": "terminate", "status": "failure"}')])
    with pytest.raises(TargetNotFoundError, match="did not point"):
        locate(
            GroundingAsker(backend),
            None,
            "the moon",
            _screen(ICON_BOX),
            CaptureGeometry.unscaled(Region(0, 0, 1920, 1080)),
            threading.Event(),
        )


def test_the_planner_refines_a_click_and_keeps_the_crop_request() -> None:
    from agent.computers.base import Frame

    fake = FakeGroundingBackend({"pink icon": ICON}, error=(10, 0))
    planner = Planner(fake, refiner=Refiner(GroundingAsker(fake), RefineMode.AUTO))
    frame = Frame(_screen(ICON_BOX), CaptureGeometry.unscaled(Region(0, 0, 1920, 1080)))
    plan = planner.plan("click the pink icon", [], [frame], threading.Event())
    assert plan.usable
    (action,) = plan.actions
    assert _inside(action.screen_xy or (-1, -1), ICON_BOX)
    assert plan.refinement is not None and plan.refinement["action_index"] == 0
    assert "zoomed-in part of the screen" in json.dumps(fake.requests[1].messages[1]["content"][-1])
    # The model's own coordinate is what it wrote on the full frame; the screen point is refined.
    first = action.action.point
    assert first is not None and abs(first[0] / 1000 * 1920 - action.x) > 10  # type: ignore[operator]


def test_tiny_model_answers_on_the_full_frame_then_on_the_crop(tiny_model_dir: Path) -> None:
    from agent.backends.local import LocalBackend, LocalSettings
    from agent.backends.precision import Precision
    from agent.backends.processor import load_processor
    from agent.testing.tiny import forced_replies_fn

    tokenizer = load_processor(str(tiny_model_dir), local_files_only=True).tokenizer
    first = call('{"action": "left_click", "coordinate": [985, 45]}')
    second = call('{"action": "left_click", "coordinate": [750, 100]}')
    local = LocalBackend(
        LocalSettings(
            model=str(tiny_model_dir),
            precision=Precision.FP32,
            generate_kwargs={"prefix_allowed_tokens_fn": forced_replies_fn(tokenizer, [first, second])},
        )
    )
    asker = GroundingAsker(local)
    located = locate(
        asker,
        Refiner(asker, RefineMode.ALWAYS),
        "the pink icon",
        _screen(ICON_BOX),
        CaptureGeometry.unscaled(OFFSET),
        threading.Event(),
    )
    # First point (1891.2, 48.6) → crop 1440..1920 x 0..270; 750/1000 of 480 = 360, 100/1000 of 270 = 27.
    assert located.refinement is not None and located.refinement["crop"]["left"] == 1440
    assert located.screen_xy == (1440 + 360 + OFFSET.left, 27 + OFFSET.top)


def test_locate_on_a_real_window_through_a_loopback_server(probe, tmp_path: Path) -> None:
    window = probe("--geometry", "300x200+600+400", "--colour", "#2060a0")
    target = (window.ready["x"] + 150, window.ready["y"] + 100)
    first = call(f'{{"action": "left_click", "coordinate": {model_point(*target)}}}')
    # The crop is 480x270 centred on the first point; on it the model points 20 px right, 10 px up.
    on_crop = f"[{(240 + 20 + 0.5) * 1000 / 480:.2f}, {(135 - 10 + 0.5) * 1000 / 270:.2f}]"
    second = call(f'{{"action": "left_click", "coordinate": {on_crop}}}')
    shown = tmp_path / "where.png"
    with serving(StubServer(models=["qwen3-vl:8b"], replies=[first, second])) as stub:
        result = deskpilot(
            "locate",
            "the blue window",
            "--backend",
            "openai",
            "--base-url",
            stub.url,
            "--model",
            "qwen3-vl:8b",
            "--show",
            str(shown),
            "--refine",
            "always",
        )
    assert result.returncode == 0, result.stderr
    x, y = (int(v) for v in result.stdout.split())
    assert (x, y) == (target[0] + 20, target[1] - 10)
    posts = [body for method, _, body, _ in stub.calls if method == "POST"]
    assert len(posts) == 2  # the full frame, then the crop around the first point
    assert posts[0]["tools"][0]["function"]["name"] == "computer_use"
    assert "Click on this element: the blue window" in json.dumps(posts[0]["messages"])
    assert stat.S_IMODE(os.stat(shown).st_mode) == 0o600
    with Image.open(shown) as marked:
        assert marked.getpixel((x, y)) == (230, 0, 0)  # the crosshair's centre
        assert marked.getpixel((x + 40, y)) == (0x20, 0x60, 0xA0)  # the window itself, unmarked


@pytest.mark.process
def test_locate_bad_input_is_one_line_before_any_model(tmp_path: Path) -> None:
    result = deskpilot(
        "locate",
        "the icon",
        "--show",
        str(tmp_path / "nowhere" / "x.png"),
        "--backend",
        "openai",
        "--base-url",
        "http://127.0.0.1:9/v1",
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "does not exist" in result.stderr


def test_run_clicks_the_refined_point_on_a_real_window_and_records_the_crop(probe, tmp_path: Path) -> None:
    window = probe("--geometry", "300x200+600+400", "--colour", "#2060a0")
    target = (window.ready["x"] + 150, window.ready["y"] + 100)
    first = call(f'{{"action": "left_click", "coordinate": {model_point(*target)}}}')
    on_crop = f"[{(240 + 20 + 0.5) * 1000 / 480:.2f}, {(135 - 10 + 0.5) * 1000 / 270:.2f}]"
    second = call(f'{{"action": "left_click", "coordinate": {on_crop}}}')
    done = call('{"action": "terminate", "status": "success"}')
    history = tmp_path / "runs"
    with serving(StubServer(models=["qwen3-vl:8b"], replies=[first, second, done])) as stub:
        result = deskpilot(
            "run", "click the blue window", "--backend", "openai", "--base-url", stub.url, "--model", "qwen3-vl:8b",
            "--refine", "always", "--confirm", "never", "--history-dir", str(history),
        )
    assert result.returncode == 0, result.stderr
    press = window.wait_for("press")
    assert (press["x"], press["y"]) == (target[0] + 20, target[1] - 10)  # the refined point, not the first
    (run_dir,) = history.iterdir()
    step = json.loads((run_dir / "steps.jsonl").read_text().splitlines()[0])
    assert step["refinement"]["used"] and tuple(step["refinement"]["screen"]) == (press["x"], press["y"])
    assert step["actions"][0]["screen"]["x"] == press["x"]

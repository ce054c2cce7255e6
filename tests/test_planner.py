"""One planning step through the real prompt and parser, driven by the scripted backend."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from agent.backends.scripted import ScriptedBackend, load_script
from agent.computer_use.planner import Planner
from agent.errors import BackendError, ConfigError, StoppedError
from agent.geometry import Region
from agent.testing.fake import FakeComputer

DONE = '<tool_call>{"name": "computer_use", "arguments": {"action": "terminate", "status": "success"}}</tool_call>'


def call(args: str) -> str:
    return f'Thought: go.\n<tool_call>\n{{"name": "computer_use", "arguments": {args}}}\n</tool_call>'


def test_a_scripted_step_becomes_validated_screen_actions() -> None:
    computer = FakeComputer(region=Region(-1920, 0, 1920, 1080))
    backend = ScriptedBackend([call('{"action": "left_click", "coordinate": [500, 500]}')])
    plan = Planner(backend).plan("click the middle", [], [computer.capture()], threading.Event())
    assert plan.usable
    assert [a.to_json_dict() for a in plan.actions] == [{"action": "left_click", "x": -960, "y": 540}]
    assert plan.reply is not None and plan.reply.thought == "Thought: go."
    # The backend received the real prompt: tool schema, task and one screenshot.
    request = backend.requests[0]
    assert request.tools[0]["function"]["name"] == "computer_use"
    # ... already resized to the pixel budget's size, which the processor then keeps: at the
    # default (native) budget 1920x1080 only rounds to multiples of 32.
    assert len(request.images) == 1 and request.images[0].size == (1920, 1080)  # inside the budget: as captured


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        ("I am not sure what to do.", "no tool call"),
        (call('{"action": "left_click", "coordinate": [2530, 10]}'), "outside the rel1000 frame"),
        (call('{"action": "teleport"}'), "unknown action 'teleport'"),
        ("<tool_call>{oops</tool_call>", "not valid JSON"),
    ],
)
def test_unusable_answers_come_back_as_an_error_to_feed_back(reply: str, fragment: str) -> None:
    plan = Planner(ScriptedBackend([reply])).plan("t", [], [FakeComputer().capture()], threading.Event())
    assert not plan.usable and plan.actions == ()
    assert plan.error is not None and fragment in plan.error


def test_script_exhaustion_is_a_backend_error() -> None:
    planner = Planner(ScriptedBackend([call('{"action": "wait", "time": 1}')]))
    frames = [FakeComputer().capture()]
    planner.plan("t", [], frames, threading.Event())
    with pytest.raises(BackendError, match="no reply for step 2"):
        planner.plan("t", [], frames, threading.Event())


def test_cancelled_before_asking_raises_stopped() -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(StoppedError):
        Planner(ScriptedBackend(["x"])).plan("t", [], [FakeComputer().capture()], cancel)


def test_load_script_reads_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text('{"reply": "a"}\n\n{"reply": "<tool_call>{}</tool_call>"}\n', encoding="utf-8")
    assert load_script(path) == ["a", "<tool_call>{}</tool_call>"]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"reply": "a"}\n{not json}\n', "line 2: not valid JSON"),
        ('{"text": "a"}\n', 'line 1: expected {"reply"'),
        ('["a"]\n', "line 1"),
        ("\n\n", "has no replies"),
    ],
)
def test_malformed_scripts_are_config_errors(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=fragment.replace("{", r"\{").replace("[", r"\[")):
        load_script(path)


def test_missing_script_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_script(tmp_path / "nope.jsonl")


@pytest.mark.parametrize(
    ("size", "kind", "expected"),
    [((1920, 1080), "rel1000", (1344, 768)), ((2560, 1440), "rel999", (1344, 768)),
     ((1920, 1080), "qwen25", (1344, 756)), ((640, 480), "rel1000", (640, 480)),
     # inside the budget a relative frame is sent as it is; an absolute one gets the processor's size
     ((1000, 700), "rel1000", (1000, 700)), ((1000, 700), "rel999", (1000, 700)), ((1000, 700), "qwen25", (1008, 700)),
     ((250, 250), "rel1000", (256, 256)), ((1025, 1024), "rel1000", (1024, 1024))],
)
def test_fit_to_budget_matches_the_processor_size(size: tuple[int, int], kind: str, expected: tuple[int, int]) -> None:
    from PIL import Image

    from agent.scaling import FrameKind, fit_to_budget

    image = Image.new("RGB", size)
    assert fit_to_budget(image, FrameKind(kind), 64 * 32 * 32, 1024 * 32 * 32).size == expected


def test_a_full_hd_frame_inside_the_default_budget_is_not_resampled_on_a_relative_grid() -> None:
    from PIL import Image

    from agent.computer_use.prompts import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS
    from agent.scaling import FrameKind, fit_to_budget

    image = Image.new("RGB", (1920, 1080))
    for kind in (FrameKind.REL1000, FrameKind.REL999):
        assert fit_to_budget(image, kind, DEFAULT_MIN_PIXELS, DEFAULT_MAX_PIXELS) is image
    # Qwen2.5's absolute pixels must be the processor's exact size, so that frame is resized.
    assert fit_to_budget(image, FrameKind.QWEN25, DEFAULT_MIN_PIXELS, DEFAULT_MAX_PIXELS).size == (1932, 1092)


def test_fit_to_budget_agrees_with_the_tiny_models_processor(tiny_model_dir: Path) -> None:
    from PIL import Image

    from agent.backends.processor import load_processor
    from agent.scaling import FrameKind, fit_to_budget

    processor = load_processor(str(tiny_model_dir))
    size = {"shortest_edge": 64 * 32 * 32, "longest_edge": 1024 * 32 * 32}
    for dims in ((1920, 1080), (2560, 1440), (1366, 768), (3840, 2160)):
        image = fit_to_budget(Image.new("RGB", dims), FrameKind.REL1000, size["shortest_edge"], size["longest_edge"])
        grid = processor.image_processor(images=[image], size=size, return_tensors="pt")["image_grid_thw"][0]
        assert (int(grid[2]) * 16, int(grid[1]) * 16) == image.size


@pytest.mark.parametrize("kind", ["rel1000", "rel999", "qwen25"])
@pytest.mark.parametrize("screen", [(1920, 1080), (2560, 1440), (1366, 768), (800, 600)])
def test_the_image_sent_is_the_size_the_prompt_states(kind: str, screen: tuple[int, int]) -> None:
    """One image-size rule: what the backend is given is what the tool description talks about.

    For qwen25 the stated resolution is the image's own pixel size (the bug was a 1344x756
    statement about an image a Qwen2.5 processor turned into 1372x756); for the relative
    frames the image is the screen's own size inside the budget (the 0..1000 grid does not
    depend on it) and the size the Qwen3-VL processor would pick beyond it.
    """
    from agent.computer_use.prompts import PromptSettings
    from agent.scaling import QWEN3_FACTOR, FrameKind, smart_resize

    settings = PromptSettings(max_pixels=1024 * 32 * 32)
    backend = ScriptedBackend([DONE])
    planner = Planner(backend, frame_kind=FrameKind(kind), settings=settings)
    frame = FakeComputer(region=Region(0, 0, *screen)).capture()
    planner.plan("t", [], [frame], threading.Event())
    request = backend.requests[0]
    (image,) = request.images
    stated = planner.model_frame(frame)
    description = request.tools[0]["function"]["description"]
    if kind == "qwen25":
        assert image.size == (int(stated.extent_x), int(stated.extent_y))
        assert f"{image.width}x{image.height}" in description
        assert image.width % 28 == 0 and image.height % 28 == 0
    else:
        height, width = smart_resize(screen[1], screen[0], QWEN3_FACTOR, min_pixels=settings.min_pixels,
                                     max_pixels=settings.max_pixels)
        inside = settings.min_pixels <= screen[0] * screen[1] <= settings.max_pixels
        assert image.size == (screen if inside else (width, height))
        assert f"{int(stated.extent_x)}x{int(stated.extent_y)}" in description


SEED_DESCRIPTION_ONLY = '{"action_type": "click", "element_description": "the Save button"}'


class PointingLocator:
    def __init__(self, point: tuple[int, int] | None) -> None:
        self.point = point
        self.asked: list[str] = []

    def locate_point(self, description, image, geometry, cancel):  # type: ignore[no-untyped-def]
        self.asked.append(description)
        return self.point


def test_a_description_only_click_is_grounded_by_the_locator() -> None:
    locator = PointingLocator((640, 360))
    planner = Planner(ScriptedBackend([SEED_DESCRIPTION_ONLY]), locator=locator)
    plan = planner.plan("save", [], [FakeComputer().capture()], threading.Event())
    assert plan.usable and locator.asked == ["the Save button"]
    (action,) = plan.actions
    assert (action.name, action.screen_xy, action.action.element_description) == ("left_click", (640, 360), "the Save button")


@pytest.mark.parametrize("locator", [None, PointingLocator(None)])
def test_a_description_only_click_nobody_can_ground_is_unusable_never_a_pointer_click(locator) -> None:  # type: ignore[no-untyped-def]
    planner = Planner(ScriptedBackend([SEED_DESCRIPTION_ONLY]), locator=locator)
    plan = planner.plan("save", [], [FakeComputer().capture()], threading.Event())
    assert not plan.usable and plan.actions == ()
    assert "needs 'coordinates' [x, y] of 'the Save button'" in (plan.error or "")

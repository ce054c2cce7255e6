"""Tier (d) of macro replay: the model grounds an anchor's description, through a real backend.

The backend is the real OpenAI-compatible client talking to a loopback server the
tests start (``tests/loopback_servers.py``); only the computer is fake, so what is
checked is where the player clicks, whether it clicks at all, and what the model was
asked. The anchor's crop is cut from a picture that is not on the current screen, so no
picture tier can find it and only the description is left.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from agent.api import Session
from agent.config import Settings
from agent.geometry import Region
from agent.grounding.pointing import ModelPointer, run_refiner
from agent.macros.anchors import make_anchor
from agent.macros.healing import Healer, Miss
from agent.macros.player import MacroPlayer, PlaySettings
from agent.macros.schema import Macro, MacroStep, Monitor
from agent.run.capture import Capture, SettleSettings
from agent.run.executor import GuardedExecutor
from agent.run.harness import RunHarness
from agent.run.policy import ConfirmMode, Policy, PolicyConfig
from agent.testing.chat_server import CannedChatServer, request_text
from agent.testing.chat_server import serving as serving_chat
from agent.testing.fake import FakeComputer
from agent.testing.operator import FakeOperator
from tests.loopback_servers import StubServer, dead_port, serving
from tests.macro_images import screen
from tests.support import call

MONITOR = Region(1280, 0, 1920, 1080)  # a second monitor: image pixels are not screen points
BUTTON_AT = (900, 600)  # where the Save button is drawn now
TARGET = (BUTTON_AT[0] + 60, BUTTON_AT[1] + 20)  # its centre, in image pixels
DESCRIPTION = "the blue Save button"


def _grounder(session: Session, settings: Settings, stop: threading.Event) -> ModelPointer:
    """Tier (d) as ``Session.play_macro`` builds it: the session's cached backend, loaded on first ask."""
    return ModelPointer(lambda: session.backend(settings, cancel=stop), settings, stop, refiner=run_refiner)


def _gone_look() -> Image.Image:
    """A picture nothing on the current screen resembles: the anchor of a target that changed."""
    image = Image.new("RGB", (1920, 1080), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    for i in range(12):
        draw.ellipse((300 + 9 * i, 200 + 5 * i, 340 + 11 * i, 260 + 3 * i), outline=(200, 20 * i, 90), width=3)
    return image


def _macro(description: str = DESCRIPTION) -> Macro:
    anchor = make_anchor(_gone_look(), (340, 240))
    anchor.description = description
    return Macro(
        monitor=Monitor(left=MONITOR.left, width=1920, height=1080),
        steps=[
            MacroStep(action={"action": "left_click", "x": MONITOR.left + 340, "y": 240}, anchor=anchor),
            MacroStep(action={"action": "type", "text": "after the click"}),
        ],
    )


def _click(image_xy: tuple[int, int]) -> str:
    """The model's answer: a click at ``image_xy`` of the 1920x1080 capture, in its rel1000 grid."""
    x, y = image_xy
    return call(f'{{"action": "left_click", "coordinate": [{(x + 0.5) * 1000 / 1920:.2f}, {(y + 0.5) * 1000 / 1080:.2f}]}}')


def _settings(url: str, **extra: Any) -> Settings:
    # Refinement off: one grounding call per step, so the requests can be counted.
    return Settings(backend="openai", base_url=url, model="qwen3-vl", refine="off", **extra)


def _player(
    grounder: Any, *, timeout_s: float = 0.0, stop: threading.Event | None = None
) -> tuple[MacroPlayer, FakeComputer]:
    computer = FakeComputer(region=MONITOR, image=screen(at=BUTTON_AT))
    if stop is not None:
        computer.cancel = stop
    harness = RunHarness(computer)
    executor = GuardedExecutor(
        computer, Policy(PolicyConfig(confirm=ConfirmMode.NEVER)), FakeOperator(), computer.cancel, harness.emit
    )
    capture = Capture(computer, computer.cancel, SettleSettings(quiet_s=0.0, timeout_s=0.1))
    healer = Healer(grounder=grounder)
    return MacroPlayer(executor, capture, harness, healer, PlaySettings(anchor_timeout_s=timeout_s)), computer


def _posts(stub: StubServer) -> list[dict[str, Any]]:
    return [body for method, _, body, _ in stub.calls if method == "POST" and body is not None]


def test_the_model_grounds_the_description_and_the_player_clicks_there() -> None:
    with serving(StubServer(models=["qwen3-vl"], reply=_click(TARGET))) as stub:
        stop = threading.Event()
        play, computer = _player(_grounder(Session(), _settings(stub.url), stop), stop=stop)
        result = play.play(_macro(), [{}], "macro")
        posts = _posts(stub)
    assert result.outcome == "success", result
    assert computer.clicked == [(MONITOR.left + TARGET[0], TARGET[1])]  # the model's point, on monitor 2
    assert computer.typed == ["after the click"]
    found = play.log.steps[0].found
    assert found is not None and found.tier == "d-model"
    assert play.log.healed[0].found is found  # the report lists it as healed
    # Boxed like the anchor around the model's point: what the report draws, --update-anchors keeps.
    anchor = _macro().steps[0].anchor
    assert anchor is not None
    box = found.box
    assert (box.width, box.height) == anchor.box[2:]
    assert (box.left + anchor.offset[0], box.top + anchor.offset[1]) == TARGET
    (post,) = posts  # one call: the picture tiers were not worth a second look, and no retries
    assert f"Click on this element: {DESCRIPTION}" in json.dumps(post["messages"])


def test_the_model_is_asked_once_after_the_whole_wait_not_on_every_look() -> None:
    with serving(StubServer(models=["qwen3-vl"], reply=_click(TARGET))) as stub:
        stop = threading.Event()
        play, computer = _player(_grounder(Session(), _settings(stub.url), stop), timeout_s=0.3, stop=stop)
        result = play.play(_macro(), [{}], "macro")
        posts = _posts(stub)
    assert result.outcome == "success" and len(computer.clicked) == 1
    assert len(posts) == 1


def test_without_a_grounder_the_step_is_a_miss_and_nothing_is_clicked() -> None:
    play, computer = _player(None)  # what --no-model plays with
    result = play.play(_macro(), [{}], "macro")
    assert result.outcome == "failure" and result.exit_code == 1
    assert "not on the screen" in result.detail and "nothing clicked" in result.detail
    assert "the model tier is off" in result.detail
    assert computer.performed == []


def test_a_step_without_a_description_never_asks_the_model() -> None:
    with serving(StubServer(models=["qwen3-vl"], reply=_click(TARGET))) as stub:
        stop = threading.Event()
        play, computer = _player(_grounder(Session(), _settings(stub.url), stop), stop=stop)
        result = play.play(_macro(description=""), [{}], "macro")
        posts = _posts(stub)
    assert result.outcome == "failure" and computer.performed == [] and posts == []


def test_anchors_the_picture_tiers_find_load_no_model() -> None:
    image = screen(at=BUTTON_AT)
    anchor = make_anchor(image, TARGET)
    anchor.description = DESCRIPTION
    macro = Macro(
        monitor=Monitor(left=MONITOR.left, width=1920, height=1080),
        steps=[MacroStep(action={"action": "left_click", "x": MONITOR.left + TARGET[0], "y": TARGET[1]}, anchor=anchor)],
    )
    session = Session()
    stop = threading.Event()
    # A model that cannot load: loading it at all would fail the replay.
    grounder = _grounder(session, Settings(backend="local", model="/no/such/model"), stop)
    play, computer = _player(grounder, stop=stop)
    result = play.play(macro, [{}], "macro")
    assert result.outcome == "success" and computer.clicked == [(MONITOR.left + TARGET[0], TARGET[1])]
    assert play.log.steps[0].found is not None and play.log.steps[0].found.tier == "a-near"
    assert session._backends == {}


def test_a_server_that_is_down_fails_the_step_in_one_line_and_clicks_nothing() -> None:
    with dead_port() as port:
        stop = threading.Event()
        grounder = _grounder(Session(), _settings(f"http://127.0.0.1:{port}/v1"), stop)
        play, computer = _player(grounder, stop=stop)
        result = play.play(_macro(), [{}], "macro")
    assert result.outcome == "failure" and result.exit_code == 1
    assert "tier d-model failed" in result.detail and "nothing clicked" in result.detail
    assert "\n" not in result.detail
    assert computer.performed == []


def test_a_model_that_points_off_its_grid_is_a_miss_not_a_guess() -> None:
    off = call('{"action": "left_click", "coordinate": [1400, 500]}')
    with serving(StubServer(models=["qwen3-vl"], reply=off)) as stub:
        stop = threading.Event()
        play, computer = _player(_grounder(Session(), _settings(stub.url), stop), stop=stop)
        result = play.play(_macro(), [{}], "macro")
    assert result.outcome == "failure" and computer.performed == []
    assert f"the model did not find {DESCRIPTION!r}" in result.detail


def test_the_kill_hotkey_while_the_model_generates_stops_with_no_action_after_it() -> None:
    stop = threading.Event()
    release = threading.Event()
    answered = threading.Event()

    def reply(body: dict[str, Any]) -> str:
        assert DESCRIPTION in request_text(body)
        stop.set()  # the kill hotkey, pressed while the model is still generating...
        release.wait(30)  # ...which goes on until the test lets it finish
        answered.set()
        return _click(TARGET)

    with serving_chat(CannedChatServer(reply)) as server:
        play, computer = _player(_grounder(Session(), _settings(server.url), stop), stop=stop)
        result = play.play(_macro(), [{}], "macro")
        waited_for_the_answer = answered.is_set()
        release.set()
    assert result.outcome == "stopped" and result.exit_code == 3
    assert not waited_for_the_answer  # the replay left the generation, it did not sit it out
    assert computer.performed == []  # neither the click nor the typing after it


class _PointsAt:
    """A grounder that answers one fixed image point: for the healer's own check on it."""

    def __init__(self, point: tuple[int, int]) -> None:
        self.point = point

    def ground(self, image: Image.Image, description: str) -> tuple[int, int] | None:
        return self.point


@pytest.mark.parametrize("point", [(1920, 10), (-1, 10), (10, 5000)])
def test_a_point_off_the_monitor_is_a_miss(point: tuple[int, int]) -> None:
    macro = _macro()
    frame = FakeComputer(region=MONITOR, image=screen(at=BUTTON_AT)).capture()
    healer = Healer(grounder=_PointsAt(point))
    anchor = macro.steps[0].anchor
    assert anchor is not None
    looked = healer.locate(frame, anchor, macro.monitor)
    assert isinstance(looked, Miss)
    result = healer.ground(frame, anchor, looked)
    assert isinstance(result, Miss) and "off the 1920x1080 monitor" in result.reason


@pytest.mark.process
def test_play_bad_model_options_fail_before_playback(tmp_path: Path) -> None:
    from agent.macros.schema import save_macro
    from tests.support import deskpilot

    macro = tmp_path / "m.json"
    save_macro(_macro(), macro)
    result = deskpilot("macro", "play", str(macro), "--backend", "openai", "--base-url", "ftp://nowhere",
                       "--history-dir", str(tmp_path / "h"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "http://" in result.stderr
    assert not (tmp_path / "h").exists()  # nothing was recorded: playback never started


def test_tier_d_through_the_tiny_local_model_loaded_only_when_needed(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.backends.local import LocalBackend, LocalSettings
    from agent.backends.precision import Precision
    from agent.backends.processor import load_processor
    from agent.testing.tiny import forced_replies_fn

    tokenizer = load_processor(str(tiny_model_dir), local_files_only=True).tokenizer
    loads: list[str] = []

    def load(settings: Settings, progress: Any = None, cancel: Any = None) -> LocalBackend:
        # The real transformers backend on the tiny random-weight checkpoint, its answer forced.
        loads.append(settings.model)
        return LocalBackend(
            LocalSettings(
                model=str(tiny_model_dir),
                precision=Precision.FP32,
                generate_kwargs={"prefix_allowed_tokens_fn": forced_replies_fn(tokenizer, [_click(TARGET)])},
            ),
            cancel=cancel,
        )

    monkeypatch.setattr("agent.api.make_backend", load)
    stop = threading.Event()
    settings = Settings(backend="local", model=str(tiny_model_dir), refine="off", max_pixels=1024 * 32 * 32)
    play, computer = _player(_grounder(Session(), settings, stop), stop=stop)
    result = play.play(_macro(), [{}], "macro")
    assert result.outcome == "success", result
    assert loads == [str(tiny_model_dir)]
    found = play.log.steps[0].found
    assert found is not None and found.tier == "d-model"
    ((x, y),) = computer.clicked
    # The forced rel1000 answer maps back within a pixel of the target through the model's frame.
    assert abs(x - (MONITOR.left + TARGET[0])) <= 1 and abs(y - TARGET[1]) <= 1

"""Click by name: on the run core with fakes (what is clicked, what is recorded), then on real Qt buttons."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agent.access.clicking import ClickByName, ClickRequest
from agent.actions import DoubleClick, LeftClick, RightClick
from agent.geometry import Region
from agent.ports import TextBox
from agent.records.schema import StepRecord
from agent.run.capture import Capture, SettleSettings
from agent.run.events import RunEvent
from agent.run.executor import GuardedExecutor
from agent.run.harness import RunHarness
from agent.run.policy import ConfirmMode, Policy, PolicyConfig
from agent.run.ports import ConfirmResult
from agent.testing.fake import FakeComputer
from agent.testing.operator import FakeOperator
from agent.testing.reader import FakeReader
from agent.testing.speech import FakeSpeech
from tests.conftest import APPS, xdotool
from tests.support import LinePump, deskpilot


@dataclass
class Recorded:
    steps: list[StepRecord] = field(default_factory=list)
    finished: list[tuple[str, str]] = field(default_factory=list)

    def record_step(self, record: StepRecord, image: object) -> StepRecord:
        self.steps.append(record)
        return record

    def finish(self, outcome: str, detail: str) -> None:
        self.finished.append((outcome, detail))


BOXES = [
    TextBox("Save", 100, 100, 160, 120),
    TextBox("Delete", 300, 100, 380, 120),
    TextBox("Cancel", 500, 100, 580, 120),
    TextBox("Delete", 300, 400, 380, 420),
]


def clicker(boxes: list[TextBox], confirm: str = "never", scale: float = 1.0) -> tuple[ClickByName, Any]:
    computer = FakeComputer(region=Region(0, 0, 960, 540), scale=scale)
    recorder = Recorded()
    events: list[RunEvent] = []
    harness = RunHarness(computer, recorder=recorder, observers=[events.append])
    operator = FakeOperator(default=ConfirmResult("rejected"), resume_default=False)
    executor = GuardedExecutor(
        computer, Policy(PolicyConfig(confirm=ConfirmMode(confirm))), operator, computer.cancel, harness.emit
    )
    capture = Capture(computer, computer.cancel, SettleSettings(quiet_s=0.0, timeout_s=0.1))
    listed: list[str] = []
    speech = FakeSpeech()
    click = ClickByName(FakeReader(boxes), executor, capture, harness, speech=speech, on_list=listed.append)
    return click, {"computer": computer, "recorder": recorder, "listed": listed, "speech": speech, "operator": operator}


def test_one_match_is_clicked_at_its_centre_and_recorded() -> None:
    click, seen = clicker(BOXES)
    outcome = click.run(ClickRequest("cancel"))
    assert outcome.exit_code == 0
    (action,) = seen["computer"].performed
    assert isinstance(action.action, LeftClick) and action.screen_xy == (540, 110)
    assert not action.from_model
    (step,) = seen["recorder"].steps
    assert step.actions[0].performed and step.actions[0].model is None  # no model coordinate recorded
    assert step.screenshot == "" and step.timings["ocr_s"] >= 0
    assert seen["recorder"].finished[0][0] == "success"
    assert seen["speech"].texts[0].startswith("Clicking Cancel")


def test_several_matches_are_listed_in_reading_order_and_nothing_is_clicked() -> None:
    click, seen = clicker(BOXES)
    outcome = click.run(ClickRequest("Delete"))
    assert outcome.exit_code == 1
    assert seen["computer"].performed == []
    assert seen["listed"][0] == "2 matches for Delete:"
    assert seen["listed"][1].startswith("1. Delete") and seen["listed"][2].startswith("2. Delete")
    assert [m.box.top for m in outcome.found.matches] == [100, 400]
    assert seen["speech"].texts[:3] == seen["listed"]  # spoken too
    assert seen["recorder"].steps[0].actions == []


@pytest.mark.parametrize(("button", "kind"), [("left", LeftClick), ("double", DoubleClick), ("right", RightClick)])
def test_pick_clicks_the_nth_match(button: str, kind: type) -> None:
    click, seen = clicker(BOXES)
    outcome = click.run(ClickRequest("Delete", pick=2, button=button))  # type: ignore[arg-type]
    assert outcome.exit_code == 0
    (action,) = seen["computer"].performed
    assert isinstance(action.action, kind) and action.screen_xy == (340, 410)


def test_pick_beyond_the_matches_clicks_nothing() -> None:
    click, seen = clicker(BOXES)
    assert click.run(ClickRequest("Delete", pick=3)).exit_code == 1
    assert seen["computer"].performed == []


def test_nothing_found_is_a_failure_not_a_guess() -> None:
    click, seen = clicker(BOXES)
    outcome = click.run(ClickRequest("Submit"))
    assert outcome.exit_code == 1 and "no text matching 'Submit'" in outcome.result.detail
    assert seen["computer"].performed == []


def test_the_click_goes_through_the_confirmation() -> None:
    click, seen = clicker(BOXES, confirm="always")
    outcome = click.run(ClickRequest("Save"))
    assert outcome.exit_code == 1 and "rejected" in outcome.result.detail
    assert seen["computer"].performed == []
    (question,) = seen["operator"].questions
    assert question.action.screen_xy == (130, 110)


def test_hidpi_image_points_map_to_input_units() -> None:
    # A 2x capture: the image is 1920x1080 for a 960x540 monitor.
    click, seen = clicker([TextBox("OK", 1000, 600, 1040, 640)], scale=2.0)
    assert click.run(ClickRequest("OK")).exit_code == 0
    assert seen["computer"].performed[0].screen_xy == (510, 310)


# -- real buttons under Xvfb ------------------------------------------------------------------

LABELS = ["Save", "Cancel", "Delete", "Open", "Delete"]


@pytest.fixture(scope="module")
def buttons(x_display: str) -> Iterator[tuple[LinePump, list[dict[str, Any]]]]:
    args = [a for label in LABELS for a in ("--button", label)]
    proc = subprocess.Popen(
        [sys.executable, str(APPS / "button_window.py"), "--geometry", "800x240+100+100", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    pump = LinePump(proc.stdout, json_lines=True)
    ready = pump.wait_for(lambda e: e["event"] == "ready", 20, "ready")
    yield pump, ready["buttons"]
    proc.terminate()
    proc.wait(timeout=10)


def clicks_until_sync(pump: LinePump, sync: dict[str, Any]) -> list[int]:
    """Every button clicked before the test's own click on Sync (X delivers input in order)."""
    xdotool("mousemove", str(sync["x"]), str(sync["y"]), "click", "1")
    indices: list[int] = []
    while True:
        event = pump.wait_for(lambda e: e["event"] == "clicked", 10, "click")
        if event["label"] == "Sync":
            return indices
        indices.append(event["index"])


def test_click_by_name_clicks_the_right_button(buttons: tuple[LinePump, list[dict[str, Any]]], tmp_path: Path) -> None:
    pump, centres = buttons
    result = deskpilot("click", "cancel", "--history-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert clicks_until_sync(pump, centres[-1]) == [1]
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    (step,) = [json.loads(line) for line in (run / "steps.jsonl").read_text().splitlines()]
    action = step["actions"][0]
    assert action["performed"] and action["screen"]["action"] == "left_click"
    assert abs(action["screen"]["x"] - centres[1]["x"]) <= 10 and abs(action["screen"]["y"] - centres[1]["y"]) <= 10


def test_two_buttons_with_one_label_are_listed_and_none_is_clicked(
    buttons: tuple[LinePump, list[dict[str, Any]]], tmp_path: Path
) -> None:
    pump, centres = buttons
    result = deskpilot("click", "Delete", "--history-dir", str(tmp_path))
    assert result.returncode == 1
    listed = result.stdout.splitlines()
    assert listed[0] == "2 matches for Delete:"
    assert listed[1].startswith("1. Delete") and listed[2].startswith("2. Delete")
    assert "--pick" in result.stderr
    assert clicks_until_sync(pump, centres[-1]) == []  # nothing arrived before the sync click

    picked = deskpilot("click", "Delete", "--pick", "2", "--history-dir", str(tmp_path))
    assert picked.returncode == 0, picked.stderr
    assert clicks_until_sync(pump, centres[-1]) == [4]  # the second in reading order


class PointingLocator:
    """A stand-in for the model's locate: it points where it is told and counts the calls."""

    def __init__(self, point: tuple[int, int] | None) -> None:
        self.point = point
        self.asked: list[str] = []

    def locate(self, name: str, frame: object) -> tuple[int, int] | None:
        self.asked.append(name)
        return self.point


@pytest.mark.parametrize(("confirm", "asked", "clicked"), [("risky", True, False), ("never", False, True)])
def test_when_ocr_finds_nothing_the_models_point_is_confirmed_first(confirm: str, asked: bool, clicked: bool) -> None:
    click, seen = clicker(BOXES, confirm=confirm)
    click.locator = PointingLocator((700, 300))
    outcome = click.run(ClickRequest("the gear icon"))
    questions = seen["operator"].questions
    assert bool(questions) is asked
    if asked:
        assert "the model located 'the gear icon'; OCR did not" == questions[0].verdict.reason
        assert questions[0].action.screen_xy == (700, 300)
    assert [a.screen_xy for a in seen["computer"].performed] == ([(700, 300)] if clicked else [])
    assert outcome.exit_code == (0 if clicked else 1)


def test_a_model_that_points_nowhere_clicks_nothing() -> None:
    click, seen = clicker(BOXES, confirm="never")
    click.locator = PointingLocator(None)
    outcome = click.run(ClickRequest("the gear icon"))
    assert outcome.exit_code == 1 and seen["computer"].performed == []


def test_the_model_locator_asks_the_settings_backend_and_maps_its_point() -> None:
    from agent.api import Session
    from agent.config import Settings
    from agent.grounding.pointing import ModelPointer
    from tests.loopback_servers import StubServer, serving

    reply = '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [750, 500]}}\n</tool_call>'
    with serving(StubServer(models=["qwen3-vl"], reply=reply)) as stub:
        settings = Settings(backend="openai", base_url=stub.url, model="qwen3-vl")
        frame = FakeComputer(region=Region(100, 0, 800, 600)).capture()
        session, stop = Session(), threading.Event()
        pointer = ModelPointer(lambda: session.backend(settings, cancel=stop), settings, stop)
        point = pointer.locate("the gear icon", frame)
        posts = [r for r in stub.calls if r[0] == "POST"]
    assert point == (100 + 600, 300)
    assert len(posts) == 1 and "the gear icon" in json.dumps(posts[0][2])


class SayingLocator(PointingLocator):
    """Keeps what had been said when the model was asked."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(None)
        self.lines = lines
        self.said_before: list[str] = []

    def locate(self, name: str, frame: object) -> tuple[int, int] | None:
        self.said_before = list(self.lines)
        return super().locate(name, frame)


def test_the_fallback_to_the_model_is_said_before_the_model_is_asked() -> None:
    click, seen = clicker(BOXES, confirm="never")
    lines: list[str] = []
    click.on_line = lines.append
    click.locator = locator = SayingLocator(lines)
    assert click.run(ClickRequest("the gear icon")).exit_code == 1
    assert locator.said_before[-1] == "the gear icon not found on screen; asking the model"
    assert seen["speech"].texts[0] == "the gear icon not found on screen; asking the model"


def test_without_the_fallback_nothing_is_asked_or_said_about_a_model() -> None:
    click, seen = clicker(BOXES, confirm="never")
    lines: list[str] = []
    click.on_line = lines.append
    assert click.run(ClickRequest("the gear icon")).exit_code == 1
    assert not any("model" in line for line in lines) and "Not found: the gear icon" in seen["speech"].texts


def test_the_fallback_is_an_option_that_is_on_by_default() -> None:
    from agent.cli.main import build_parser

    parser = build_parser()
    assert parser.parse_args(["click", "OK"]).model_fallback is True
    assert parser.parse_args(["click", "OK", "--no-model-fallback"]).model_fallback is False
    click_help = parser._subparsers._group_actions[0].choices["click"].format_help()  # type: ignore[union-attr]
    assert "--model-fallback, --no-model-fallback" in click_help and "(default: on)" in click_help


def test_equal_matches_in_one_place_are_told_apart_by_their_position() -> None:
    click, seen = clicker([TextBox("Save", 400, 250, 440, 270), TextBox("Save", 520, 250, 560, 270)])
    assert click.run(ClickRequest("Save")).exit_code == 1
    assert seen["listed"][1:] == ["1. Save, centre (at 420, 260)", "2. Save, centre (at 540, 260)"]

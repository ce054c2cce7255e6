"""Narration: each action said in plain words before it happens, its outcome after, kept in the step record."""

from __future__ import annotations

import json
import threading
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agent.access.narration import Narrator, narrate_action, place
from agent.actions import ScreenAction
from agent.backends.scripted import ScriptedBackend
from agent.computer_use.loop import AgentLoop, LoopSettings
from agent.computer_use.planner import Planner
from agent.geometry import Region
from agent.records.history import RunRecorder, load_run
from agent.records.schema import RunInfo
from agent.run.policy import ConfirmMode, Policy, PolicyConfig
from agent.run.ports import ConfirmResult
from agent.testing.fake import FakeComputer
from agent.testing.operator import FakeOperator
from agent.testing.speech import FakeSpeech
from tests.support import call, deskpilot, model_point

SCREEN = Region(0, 0, 1920, 1080)


@pytest.mark.parametrize(
    ("screen", "target", "words"),
    [
        ({"action": "left_click", "x": 100, "y": 1000}, "Save", "Clicking Save, bottom left"),
        ({"action": "left_click", "x": 100, "y": 1000}, None, "Clicking at the bottom left"),
        ({"action": "double_click", "x": 960, "y": 540}, None, "Double-clicking in the centre"),
        ({"action": "right_click", "x": 1800, "y": 50}, "File", "Right-clicking File, top right"),
        ({"action": "type", "text": "hello"}, None, "Typing 'hello'"),
        ({"action": "key", "keys": ["ctrl", "s"]}, None, "Pressing ctrl+s"),
        ({"action": "wait", "time": 2}, None, "Waiting 2 seconds"),
        ({"action": "terminate", "status": "success"}, None, "Finishing"),
    ],
)
def test_narrate_action(screen: dict[str, Any], target: str | None, words: str) -> None:
    assert narrate_action(screen, SCREEN, target) == words


def test_place() -> None:
    assert place(0, 0, SCREEN) == "top left"
    assert place(1919, 1079, SCREEN) == "bottom right"
    assert place(2000, 540, Region(1920, 0, 1920, 1080)) == "middle left"  # a second monitor


@dataclass
class Listening(FakeComputer):
    """Notes what had been said when each action was performed."""

    speech: FakeSpeech = field(default_factory=FakeSpeech)
    heard_before: list[list[str]] = field(default_factory=list)

    def perform(self, action: ScreenAction) -> None:
        self.heard_before.append(list(self.speech.texts))
        super().perform(action)


def test_each_action_is_spoken_before_it_happens_and_kept_in_the_record(tmp_path: Path, x_display: str) -> None:
    computer = Listening()
    speech = computer.speech
    replies = [
        call('{"action": "left_click", "coordinate": ' + model_point(100, 1000) + "}"),
        call('{"action": "type", "text": "hello"}'),
        call('{"action": "terminate", "status": "success"}'),
    ]
    narrator = Narrator(speech)
    info = RunInfo(id="", task="t", backend="script", model="s", started_at="2026-12-01T00:00:00+00:00")
    recorder = RunRecorder.start(tmp_path, info)
    stop = threading.Event()
    loop = AgentLoop.on(
        computer,
        Planner(ScriptedBackend(replies)),
        Policy(PolicyConfig(confirm=ConfirmMode("never"))),
        FakeOperator(default=ConfirmResult("approved"), resume_default=True),
        stop,
        settings=LoopSettings(settle_timeout_s=0.1),
        recorder=narrator.recording(recorder),
        observers=[narrator],
    )
    assert loop.run("t").outcome == "success"
    heard = computer.heard_before
    assert heard[0][-1] == "Clicking at the bottom left"  # said, and said last, before the click
    assert heard[1][-1] == "Typing 'hello'"
    _, steps = load_run(tmp_path, "latest")
    assert steps[0].spoken == ["Clicking at the bottom left", "Done"]
    assert steps[1].spoken == ["Typing 'hello'", "Done"]
    assert speech.texts[-1] == "Task done."


def test_a_narrated_scripted_run_records_a_spoken_line_before_each_action(probe, tmp_path: Path) -> None:
    app = probe("--geometry", "400x300+700+300")
    script = tmp_path / "script.jsonl"
    replies = [
        call('{"action": "left_click", "coordinate": ' + model_point(800, 400) + "}"),
        call('{"action": "terminate", "status": "success"}'),
    ]
    script.write_text("".join(json.dumps({"reply": r}) + "\n" for r in replies))
    wav = tmp_path / "narration.wav"
    history = tmp_path / "history"
    result = deskpilot(
        "run", "click it", "--script", str(script), "--narrate", "--speak-to", str(wav),
        "--history-dir", str(history), "--confirm", "never",
    )
    assert result.returncode == 0, result.stderr
    assert app.wait_for("press")["x"] == 800
    _, steps = load_run(history, "latest")
    assert steps[0].spoken == ["Clicking in the centre", "Done"]
    with wave.open(str(wav), "rb") as spoken:
        assert spoken.getnframes() / spoken.getframerate() > 1.0  # "Clicking …", "Done", "Task done."

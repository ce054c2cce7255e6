"""One planning step through the real prompt and parser, driven by the scripted backend."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from agent.backends.scripted import ScriptedBackend, load_script
from agent.computers import FakeComputer
from agent.errors import BackendError, ConfigError, StoppedError
from agent.geometry import Region
from agent.planner import Planner


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
    assert len(request.images) == 1 and request.images[0].size == (1920, 1080)


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

"""The loop on the fake computer with scripted replies: endings, policy, confirmation, stop, pause."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from agent.backends.scripted import ScriptedBackend
from agent.computer_use.loop import AgentLoop, LoopSettings
from agent.computer_use.planner import Planner
from agent.records.history import load_run
from agent.records.schema import RunInfo
from agent.run.capture import Capture
from agent.run.events import ActionDecided, ActionDone, Paused, RunFinished, RunResult, StepFinished
from agent.run.policy import ConfirmMode, Policy, PolicyConfig
from agent.run.ports import ConfirmResult, PauseGate
from agent.run.settle import SettleResult
from agent.testing.fake import FakeComputer
from agent.testing.operator import FakeOperator
from tests.support import call

CLICK = call('{"action": "left_click", "coordinate": [500, 500]}')
TYPE = call('{"action": "type", "text": "hello"}')
ENTER = call('{"action": "key", "keys": ["enter"]}')
DONE = call('{"action": "terminate", "status": "success"}')
FAILED = call('{"action": "terminate", "status": "failure"}')
WAIT = call('{"action": "wait", "time": 30}')


class CountingCapture(Capture):
    """The real capture service, except that settling is counted instead of polled."""

    def __init__(self, computer: FakeComputer, stop: threading.Event) -> None:
        super().__init__(computer, stop)
        self.settled: list[float] = []

    def settle(self) -> SettleResult:
        self.settled.append(self.settle_settings.quiet_s)
        return SettleResult(True, 0.0, 1, 0.0)


def make_loop(replies: list[str], *, operator: FakeOperator | None = None, confirm: str = "risky",
              settings: LoopSettings | None = None, recorder=None, computer: FakeComputer | None = None,
              stop: threading.Event | None = None, pause: PauseGate | None = None):
    computer = computer or FakeComputer()
    stop = stop or computer.cancel
    backend = ScriptedBackend(replies)
    events: list[object] = []
    capture = CountingCapture(computer, stop)
    loop = AgentLoop.on(
        computer,
        Planner(backend),
        Policy(PolicyConfig(confirm=ConfirmMode(confirm)), extra_denied=("ctrl+alt+k",)),
        operator or FakeOperator(),
        stop,
        settings=settings or LoopSettings(),
        recorder=recorder,
        observers=[events.append],
        pause=pause,
        capture=capture,
    )
    return loop, computer, backend, events, capture.settled


def performed(computer: FakeComputer) -> list[dict]:
    return [a.to_json_dict() for a in computer.performed]


def test_scripted_task_runs_to_success_and_settles_after_acting() -> None:
    operator = FakeOperator(answers=[ConfirmResult("approved")])
    loop, computer, backend, events, settled = make_loop([CLICK, TYPE, ENTER, DONE], operator=operator)
    result = loop.run("type hello")
    assert (result.outcome, result.exit_code, result.steps) == ("success", 0, 4)
    assert performed(computer) == [
        {"action": "left_click", "x": 960, "y": 540},
        {"action": "type", "text": "hello"},
        {"action": "key", "keys": ["enter"]},
    ]
    assert operator.asked == ["presses Enter"]
    assert len(settled) == 3
    # the model saw its own history in the third prompt
    third = "".join(p.get("text", "") for p in backend.requests[2].messages[1]["content"])
    assert 'Step 1: left_click {"coordinate": [500.0, 500.0]} -> done' in third
    assert isinstance(events[-1], RunFinished)


def test_three_unusable_answers_give_up_with_nothing_performed() -> None:
    loop, computer, backend, _, _ = make_loop(["hmm", "<tool_call>{bad</tool_call>", call('{"action": "fly"}'), DONE])
    result = loop.run("t")
    assert (result.outcome, result.exit_code, result.steps) == ("gave_up", 1, 3)
    assert computer.performed == []
    second = "".join(p.get("text", "") for p in backend.requests[1].messages[1]["content"])
    assert "Your last answer could not be used: the reply contains no tool call" in second


def test_an_unusable_answer_then_a_good_one_resets_the_count() -> None:
    loop, computer, _, _, _ = make_loop(["x", "y", CLICK, "z", "w", DONE])
    assert loop.run("t").outcome == "success"
    assert len(computer.performed) == 1


def test_denied_chord_is_never_performed_and_the_model_is_told() -> None:
    loop, computer, backend, _, _ = make_loop([call('{"action": "key", "keys": ["ctrl", "alt", "delete"]}'),
                                                call('{"action": "key", "keys": ["ctrl", "alt", "k"]}'), DONE],
                                               confirm="never")
    assert loop.run("t").outcome == "success"
    assert computer.performed == []
    second = "".join(p.get("text", "") for p in backend.requests[1].messages[1]["content"])
    assert "was refused (the chord ctrl+alt+delete is on the denylist)" in second


def test_dry_run_performs_nothing_but_records_everything(tmp_path: Path) -> None:
    from agent.records.history import RunRecorder

    recorder = RunRecorder.start(tmp_path, RunInfo(id="", task="t", backend="script", model="s", started_at="2026-11-24T00:00:00+00:00"))
    loop, computer, _, _, settled = make_loop([CLICK, ENTER, DONE], settings=LoopSettings(dry_run=True), recorder=recorder)
    assert loop.run("t").outcome == "success"
    assert computer.performed == [] and settled == []
    info, steps = load_run(tmp_path, "latest")
    assert info.outcome == "success" and len(steps) == 3
    assert steps[0].actions[0].confirmation == "dry_run" and not steps[0].actions[0].performed
    assert steps[0].actions[0].screen == {"action": "left_click", "x": 960, "y": 540}


def test_rejection_with_a_note_reaches_the_model() -> None:
    operator = FakeOperator(answers=[ConfirmResult("rejected", "use the Save button instead")])
    loop, computer, backend, _, _ = make_loop([call('{"action": "key", "keys": ["ctrl", "s"]}'), DONE], operator=operator)
    assert loop.run("t").outcome == "success"
    assert computer.performed == []
    second = "".join(p.get("text", "") for p in backend.requests[1].messages[1]["content"])
    assert "the user rejected it. The user says: use the Save button instead" in second


def test_timed_out_confirmation_is_a_rejection() -> None:
    loop, computer, backend, events, _ = make_loop([ENTER, DONE], operator=FakeOperator(answers=[ConfirmResult("timed_out")]))
    assert loop.run("t").outcome == "success"
    assert computer.performed == []
    first = next(e.record for e in events if isinstance(e, StepFinished))
    assert (first.actions[0].confirmation, first.actions[0].performed) == ("timed_out", False)
    second = "".join(p.get("text", "") for p in backend.requests[1].messages[1]["content"])
    assert "was not performed: nobody confirmed it in time" in second


def test_approve_for_session_is_asked_once() -> None:
    operator = FakeOperator(answers=[ConfirmResult("approved_for_session")])
    loop, computer, _, _, _ = make_loop([ENTER, ENTER, ENTER, DONE], operator=operator,
                                        settings=LoopSettings(watchdog_repeats=99))
    loop.run("t")
    assert operator.asked == ["presses Enter"] and len(computer.performed) == 3


def test_endings_step_limit_answer_and_failure() -> None:
    loop, _, _, _, _ = make_loop([CLICK] * 5, settings=LoopSettings(max_steps=2, watchdog_repeats=99))
    result = loop.run("t")
    assert (result.outcome, result.exit_code, result.detail) == ("gave_up", 1, "reached the step limit (2)")
    loop, _, _, _, _ = make_loop([call('{"action": "answer", "text": "It is 42."}')])
    result = loop.run("what is the answer?")
    assert (result.outcome, result.answer, result.exit_code) == ("success", "It is 42.", 0)
    loop, _, _, _, _ = make_loop([FAILED])
    assert loop.run("t").exit_code == 1


class StopWatchedWhileWaiting(threading.Event):
    """A stop token that says when the run is waiting on it inside a wait action.

    Armed once the wait is decided; the executor's next ``wait()`` on the token is the
    wait action itself: the sync point to press stop while the run is inside the wait.
    """

    def __init__(self) -> None:
        super().__init__()
        self.armed = False
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        if self.armed:
            self.waiting.set()
        return super().wait(timeout)


def test_stop_during_a_wait_ends_the_wait_at_once_and_no_action_follows() -> None:
    stop = StopWatchedWhileWaiting()
    loop, computer, _, events, _ = make_loop([call('{"action": "wait", "time": 60}'), CLICK, DONE],
                                             computer=FakeComputer(cancel=stop), stop=stop)
    loop.harness.observers.append(
        lambda e: setattr(stop, "armed", True) if isinstance(e, ActionDecided) and e.action.name == "wait" else None
    )
    results: list[RunResult] = []
    runner = threading.Thread(target=lambda: results.append(loop.run("t")), daemon=True)
    runner.start()
    # The stop comes while the run is inside the 60 s wait, not before it starts (a
    # stop caught by the check before the wait would pass even if the wait ignored it).
    assert stop.waiting.wait(10), "the wait action never waited on the stop token"
    stop.set()
    runner.join(10)  # the wait ends at once: 10 s is slack for a loaded machine, not 60
    assert not runner.is_alive(), "the wait went on after the stop"
    (result,) = results
    assert (result.outcome, result.exit_code, result.detail) == ("stopped", 3, "stopped during a wait")
    assert computer.performed == [] and computer.releases == 1
    assert not any(isinstance(e, ActionDone) and e.performed for e in events)


def test_no_progress_watchdog_pauses_and_the_user_can_stop() -> None:
    operator = FakeOperator(resume_answers=[False])
    loop, computer, _, events, _ = make_loop([CLICK] * 6, operator=operator)
    result = loop.run("t")
    assert result.outcome == "stopped"
    assert len(computer.performed) == 3
    assert operator.paused and "no progress" in operator.paused[0]
    assert any(isinstance(e, Paused) for e in events)


def test_a_pause_request_waits_for_the_operator_and_resumes() -> None:
    operator = FakeOperator(resume_answers=[True])
    pause = PauseGate()
    pause.request("user input detected (mouse moved)")
    loop, computer, _, _, _ = make_loop([CLICK, DONE], operator=operator, pause=pause)
    assert loop.run("t").outcome == "success"
    assert operator.paused == ["user input detected (mouse moved)"] and len(computer.performed) == 1


def test_every_step_is_reported_to_observers() -> None:
    loop, _, _, events, _ = make_loop([CLICK, DONE])
    loop.run("t")
    assert [e.record.number for e in events if isinstance(e, StepFinished)] == [1, 2]


@pytest.mark.parametrize("confirm", ["always"])
def test_confirm_always_asks_for_clicks(confirm: str) -> None:
    operator = FakeOperator(answers=[ConfirmResult("approved")])
    loop, computer, _, _, _ = make_loop([CLICK, DONE], operator=operator, confirm=confirm)
    loop.run("t")
    assert len(operator.asked) == 1 and len(computer.performed) == 1


def test_extra_calls_in_one_answer_are_not_performed_and_the_model_is_told() -> None:
    loop, computer, backend, _, _ = make_loop([CLICK + TYPE, DONE])
    assert loop.run("t").outcome == "success"
    assert [a.name for a in computer.performed] == ["left_click"]
    second = "".join(p.get("text", "") for p in backend.requests[1].messages[1]["content"])
    assert "Only your first tool call was carried out; 1 more were ignored" in second


def test_the_seed_guides_element_description_is_kept_in_the_record(tmp_path: Path) -> None:
    from agent.records.history import RunRecorder

    recorder = RunRecorder.start(tmp_path, RunInfo(id="", task="t", backend="script", model="s", started_at=""))
    reply = '{"action_type": "click", "element_description": "Save button", "coordinates": [500, 500]}'
    loop, computer, _, _, _ = make_loop([reply, DONE], recorder=recorder, confirm="never")
    assert loop.run("t").outcome == "success"
    _, steps = load_run(tmp_path, "latest")
    assert steps[0].actions[0].element_description == "Save button" and steps[0].actions[0].performed

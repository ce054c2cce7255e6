"""The guarded run core on the fake computer: executor, capture service, harness and watchdog."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image

from agent.actions import Key, LeftClick, ScreenAction, Scroll, Type, Wait
from agent.errors import BackendError, DisplayError, HistoryError, StoppedError
from agent.geometry import Region
from agent.records.history import RunRecorder, load_run
from agent.records.schema import RunInfo
from agent.run.capture import Capture, SettleSettings
from agent.run.events import (
    ActionDecided,
    ActionDone,
    Paused,
    Resumed,
    RunEvent,
    RunFinished,
    RunStarted,
    StepFinished,
)
from agent.run.executor import GuardedExecutor
from agent.run.harness import RunEnd, RunHarness
from agent.run.policy import ConfirmMode, Policy, PolicyConfig
from agent.run.ports import ConfirmResult, PauseGate
from agent.run.watchdog import Watchdog
from agent.testing.fake import FakeComputer
from agent.testing.operator import FakeOperator

MONITOR = Region(0, 0, 1920, 1080)


@dataclass
class Guard:
    """Counts the brackets around injected input (the takeover detector's view)."""

    acting: int = 0
    rearmed: int = 0
    during_perform: list[int] = field(default_factory=list)

    def agent_acting(self):  # type: ignore[no-untyped-def]
        import contextlib

        @contextlib.contextmanager
        def bracket():  # type: ignore[no-untyped-def]
            self.acting += 1
            try:
                yield
            finally:
                self.acting -= 1

        return bracket()

    def rearm(self) -> None:
        self.rearmed += 1


class WatchedComputer(FakeComputer):
    def __init__(self, guard: Guard, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.guard = guard

    def perform(self, action: ScreenAction) -> None:
        self.guard.during_perform.append(self.guard.acting)
        super().perform(action)


def click(x: int, y: int) -> ScreenAction:
    return ScreenAction(action=LeftClick(coordinate=(500, 500)), x=x, y=y)


def enter() -> ScreenAction:
    return ScreenAction(action=Key(keys=("enter",)))


def make(confirm: str = "risky", *, operator: FakeOperator | None = None, dry_run: bool = False,
         computer: FakeComputer | None = None, guard: Guard | None = None, pause: PauseGate | None = None):
    computer = computer or FakeComputer()
    events: list[RunEvent] = []
    executor = GuardedExecutor(
        computer, Policy(PolicyConfig(confirm=ConfirmMode(confirm))), operator or FakeOperator(), computer.cancel,
        events.append, pause=pause, guard=guard, dry_run=dry_run,
    )
    return executor, computer, events


# -- the executor -------------------------------------------------------------------------------

def test_an_allowed_action_is_performed_inside_the_acting_bracket() -> None:
    guard = Guard()
    computer = WatchedComputer(guard)
    executor, _, events = make(computer=computer, guard=guard)
    outcome = executor.execute(1, click(10, 20), MONITOR)
    assert outcome.status == "performed" and outcome.record.performed
    assert computer.performed == [click(10, 20)]
    assert guard.during_perform == [1] and guard.acting == 0
    assert [type(e) for e in events] == [ActionDecided, ActionDone]
    assert outcome.record.screen == {"action": "left_click", "x": 10, "y": 20}
    assert outcome.record.model == {"action": "left_click", "coordinate": [500.0, 500.0]}


def test_a_point_off_the_monitor_is_refused_and_never_performed() -> None:
    executor, computer, events = make(confirm="never")
    outcome = executor.execute(1, click(1920, 5), MONITOR)
    assert outcome.status == "refused" and "outside the captured monitor" in outcome.reason
    assert computer.performed == [] and outcome.record.error.startswith("refused: ")
    assert isinstance(events[-1], ActionDone) and not events[-1].performed


def test_a_risky_action_waits_for_the_question_that_names_its_monitor() -> None:
    operator = FakeOperator(answers=[ConfirmResult("approved")])
    executor, computer, _ = make(operator=operator)
    region = Region(1920, 0, 1280, 1024)
    executor.execute(1, enter(), region)
    assert [q.region for q in operator.questions] == [region]
    assert operator.questions[0].verdict.reason == "presses Enter"
    assert computer.performed == [enter()]


@pytest.mark.parametrize(("answer", "status"), [("rejected", "rejected"), ("timed_out", "timed_out")])
def test_a_rejected_or_unanswered_question_performs_nothing(answer: str, status: str) -> None:
    operator = FakeOperator(answers=[ConfirmResult(answer, "not now")])  # type: ignore[arg-type]
    executor, computer, _ = make(operator=operator)
    outcome = executor.execute(1, enter(), MONITOR)
    assert (outcome.status, outcome.reason, computer.performed) == (status, "not now", [])
    assert outcome.record.confirmation == answer


def test_approve_for_session_is_remembered_by_the_policy() -> None:
    operator = FakeOperator(answers=[ConfirmResult("approved_for_session")])
    executor, computer, _ = make(operator=operator)
    for _ in range(3):
        executor.execute(1, enter(), MONITOR)
    assert len(operator.questions) == 1 and len(computer.performed) == 3


def test_dry_run_asks_nobody_and_performs_nothing() -> None:
    executor, computer, events = make(dry_run=True)
    outcome = executor.execute(1, enter(), MONITOR)
    assert (outcome.status, outcome.record.confirmation, computer.performed) == ("dry_run", "dry_run", [])
    assert isinstance(events[-1], ActionDone) and events[-1].error == "dry run"


def test_a_stop_during_the_question_performs_nothing_and_raises() -> None:
    executor, computer, _ = make()

    executor.operator = FakeOperator(answers=[ConfirmResult("approved")], while_asked=threading.Event.set)
    with pytest.raises(StoppedError):
        executor.execute(1, enter(), MONITOR)
    assert computer.performed == []


def test_a_failed_perform_is_an_outcome_not_an_exception() -> None:
    class Broken(FakeComputer):
        def perform(self, action: ScreenAction) -> None:
            raise DisplayError("the pointer is at (0, 0), not at (10, 20); not clicking")

    executor, _, events = make(computer=Broken())
    outcome = executor.execute(1, click(10, 20), MONITOR)
    assert outcome.status == "failed" and "not clicking" in outcome.reason
    assert not outcome.record.performed and "not clicking" in outcome.record.error


def test_a_pause_before_acting_asks_and_a_no_stops() -> None:
    pause = PauseGate()
    pause.request("user input detected (mouse moved)")
    guard = Guard()
    executor, computer, events = make(operator=FakeOperator(resume_answers=[False]), pause=pause, guard=guard)
    with pytest.raises(StoppedError, match="stopped while paused"):
        executor.execute(1, click(10, 20), MONITOR)
    assert computer.performed == [] and computer.cancel.is_set()
    assert any(isinstance(e, Paused) for e in events)


def test_a_pause_answered_yes_resumes_and_rearms_the_detector() -> None:
    pause = PauseGate()
    pause.request("paused by you")
    guard = Guard()
    executor, computer, events = make(operator=FakeOperator(resume_answers=[True]), pause=pause, guard=guard)
    assert executor.execute(1, click(10, 20), MONITOR).performed
    assert guard.rearmed == 1 and any(isinstance(e, Resumed) for e in events)


class StopOnFirstWait(threading.Event):
    """A stop token the user presses the moment the executor starts waiting on it."""

    def wait(self, timeout: float | None = None) -> bool:
        self.set()
        return super().wait(timeout)


def test_a_wait_action_is_interrupted_by_a_stop() -> None:
    executor, computer, _ = make(computer=FakeComputer(cancel=StopOnFirstWait()))
    with pytest.raises(StoppedError, match="during a wait"):
        executor.execute(1, ScreenAction(action=Wait(time=60)), MONITOR)
    assert computer.performed == []


def test_a_screen_point_action_records_no_model_form() -> None:
    executor, computer, _ = make(confirm="never")
    action = ScreenAction.at_screen_point(Scroll(pixels=-3), 100, 200)
    outcome = executor.execute(1, action, MONITOR)
    assert outcome.performed and outcome.record.model is None
    assert outcome.record.screen == {"action": "scroll", "x": 100, "y": 200, "pixels": -3}
    assert computer.cursor == (100, 200)


# -- the capture service ------------------------------------------------------------------------

def test_capture_frames_and_changes() -> None:
    computer = FakeComputer(region=Region(0, 0, 640, 360))
    capture = Capture(computer, computer.cancel, SettleSettings(quiet_s=0.01, timeout_s=1.0))
    frame = capture.frame()
    assert frame.region == Region(0, 0, 640, 360)
    assert not capture.changed_since(frame)
    computer.image = Image.new("RGB", (640, 360), "white")
    assert capture.changed_since(frame)
    assert capture.settle().settled


def test_capture_settle_honours_the_stop() -> None:
    computer = FakeComputer()
    computer.cancel.set()
    with pytest.raises(StoppedError):
        Capture(computer, computer.cancel).settle()


# -- the harness --------------------------------------------------------------------------------

def recorder(root: Path) -> RunRecorder:
    return RunRecorder.start(root, RunInfo(id="", task="t", backend="script", model="m", started_at=""))


def test_the_harness_finishes_a_run_that_ends_on_its_own(tmp_path: Path) -> None:
    computer = FakeComputer()
    events: list[RunEvent] = []
    harness = RunHarness(computer, recorder=recorder(tmp_path), observers=[events.append])

    def body() -> RunEnd:
        record = harness.begin_step(1)
        harness.finish_step(record, computer.capture())
        return RunEnd("success", "done")

    result = harness.run("t", body)
    assert (result.outcome, result.steps, result.exit_code) == ("success", 1, 0)
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    info, steps = load_run(tmp_path, "latest")
    assert info.outcome == "success" and [s.number for s in steps] == [1] and steps[0].screenshot


@pytest.mark.parametrize("error", [BackendError("the server went away"), HistoryError("disk full"),
                                   DisplayError("the display closed")])
def test_any_deskpilot_error_after_the_start_ends_the_run_as_error(tmp_path: Path, error: Exception) -> None:
    computer = FakeComputer()
    harness = RunHarness(computer, recorder=recorder(tmp_path))

    def body() -> RunEnd:
        record = harness.begin_step(1)
        harness.attach_frame(record, computer.capture())
        raise error

    result = harness.run("t", body)
    assert (result.outcome, result.exit_code) == ("error", 1)
    assert computer.releases == 1
    info, steps = load_run(tmp_path, "latest")
    assert info.outcome == "error" and info.detail == str(error)
    assert steps[0].error == f"error: {error}"


def test_a_stop_ends_the_run_as_stopped_and_records_the_step_under_way(tmp_path: Path) -> None:
    computer = FakeComputer()
    harness = RunHarness(computer, recorder=recorder(tmp_path))

    def body() -> RunEnd:
        record = harness.begin_step(1)
        harness.attach_frame(record, computer.capture())
        raise StoppedError("stopped by the user")

    result = harness.run("t", body)
    assert (result.outcome, result.exit_code, computer.releases) == ("stopped", 3, 1)
    _, steps = load_run(tmp_path, "latest")
    assert steps[0].error == "stopped: stopped by the user"


def test_a_recorder_that_cannot_write_ends_the_run_as_error_and_nothing_more_runs() -> None:
    class FullDisk:
        finished: list[str] = []

        def record_step(self, step, screenshot):  # type: ignore[no-untyped-def]
            raise HistoryError("cannot write steps.jsonl: No space left on device")

        def finish(self, outcome, detail):  # type: ignore[no-untyped-def]
            self.finished.append(outcome)

    computer = FakeComputer()
    harness = RunHarness(computer, recorder=FullDisk())
    steps_run: list[int] = []

    def body() -> RunEnd:
        for number in (1, 2, 3):
            steps_run.append(number)
            record = harness.begin_step(number)
            harness.finish_step(record, computer.capture())
        return RunEnd("success", "")

    result = harness.run("t", body)
    assert (result.outcome, result.exit_code) == ("error", 1) and "No space left" in result.detail
    assert steps_run == [1] and FullDisk.finished == ["error"]


def test_an_observer_bug_does_not_stop_the_run() -> None:
    def broken(event: RunEvent) -> None:
        raise RuntimeError("observer bug")

    harness = RunHarness(FakeComputer(), observers=[broken])
    assert harness.run("t", lambda: RunEnd("success", "")).outcome == "success"


def test_step_finished_carries_the_stored_record(tmp_path: Path) -> None:
    events: list[RunEvent] = []
    computer = FakeComputer()
    harness = RunHarness(computer, recorder=recorder(tmp_path), observers=[events.append])
    record = harness.begin_step(1)
    harness.finish_step(record, computer.capture())
    stored = next(e for e in events if isinstance(e, StepFinished)).record
    assert stored.screenshot == "step-0001.png"


# -- the watchdog -------------------------------------------------------------------------------

def test_the_watchdog_fires_on_the_third_repeat_on_an_unchanged_screen_only() -> None:
    still = Image.new("RGB", (1920, 1080), "grey")
    watchdog = Watchdog(repeats=3)
    assert watchdog.observe("click", still) is None
    assert watchdog.observe("click", still) is None
    assert "3 times in a row" in (watchdog.observe("click", still) or "")
    assert watchdog.observe("click", still) is None  # it starts counting afresh


def test_the_watchdog_is_quiet_when_the_screen_or_the_action_changes() -> None:
    a, b = Image.new("RGB", (1920, 1080), "grey"), Image.new("RGB", (1920, 1080), "white")
    watchdog = Watchdog(repeats=2)
    assert watchdog.observe("click", a) is None
    assert watchdog.observe("click", b) is None
    assert watchdog.observe("type", b) is None


def test_type_actions_are_recorded_in_screen_form() -> None:
    executor, computer, _ = make(confirm="never")
    outcome = executor.execute(1, ScreenAction(action=Type(text="héllo")), MONITOR)
    assert computer.typed == ["héllo"]
    assert outcome.status == "performed" and outcome.record.performed
    assert outcome.record.screen == {"action": "type", "text": "héllo"}
    assert outcome.record.model == {"action": "type", "text": "héllo"}


@pytest.mark.parametrize("gpu", [False, True], ids=["no-gpu", "gpu"])
def test_a_local_run_without_a_gpu_names_the_model_servers_it_finds(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, gpu: bool
) -> None:
    import agent.backends.presence
    from agent.api import Session
    from agent.config import Settings
    from tests.loopback_servers import StubServer, serving

    # The probe, not the machine, says whether there is a GPU: the test means the same on both.
    monkeypatch.setattr(agent.backends.presence, "has_cuda", lambda: gpu)
    lines: list[str] = []
    with serving(StubServer(models=["qwen3-vl:8b"])) as stub:
        session = Session(progress=lines.append, server_ports=[stub.port])
        backend = session.backend(Settings(model=str(tiny_model_dir), precision="fp32"))
    assert backend.name == "local"
    named = [line for line in lines if "No NVIDIA GPU" in line or f"--base-url {stub.url}" in line]
    if gpu:
        assert named == [], lines  # the model runs fast here: no advice to go elsewhere
    else:
        assert any("No NVIDIA GPU" in line for line in named), lines
        assert any(f"--base-url {stub.url} --model qwen3-vl:8b" in line for line in named), lines

"""Steps are written off the step's path, yet every finished step is on disk before the next action."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from agent.actions import ScreenAction
from agent.backends.scripted import ScriptedBackend
from agent.computer_use.loop import AgentLoop, LoopSettings
from agent.computer_use.planner import Planner
from agent.errors import HistoryError
from agent.records.history import RunRecorder, load_run, read_steps
from agent.records.schema import Outcome, RunInfo, StepRecord
from agent.run.policy import ConfirmMode, Policy, PolicyConfig
from agent.testing.fake import FakeComputer
from agent.testing.operator import FakeOperator
from tests.support import DONE, call

MOVES = [call('{"action": "mouse_move", "coordinate": [' + str(100 + 100 * i) + ', 500]}') for i in range(4)]
INFO = RunInfo(id="", task="t", backend="script", model="s", started_at="2026-12-06T00:00:00+00:00")


class HeldRecorder(RunRecorder):
    """Writes a queued step only once somebody waits for it (``flush``), as a slow disk would."""

    gate: threading.Event
    fail_at: int | None = None
    closing = False

    def _write_step(self, step: StepRecord, screenshot: object) -> StepRecord:
        self.gate.wait(10)
        if not self.closing:
            self.gate.clear()
        if step.number == self.fail_at:
            raise HistoryError("cannot write steps.jsonl: No space left on device")
        return super()._write_step(step, screenshot)  # type: ignore[arg-type]

    def flush(self) -> None:
        self.gate.set()
        super().flush()

    def finish(self, outcome: Outcome, detail: str = "") -> None:
        self.closing = True
        self.gate.set()
        super().finish(outcome, detail)


def held(tmp_path: Path, fail_at: int | None = None) -> HeldRecorder:
    recorder = HeldRecorder.start(tmp_path, INFO)
    assert isinstance(recorder, HeldRecorder)
    recorder.gate, recorder.fail_at = threading.Event(), fail_at
    return recorder


@dataclass
class DiskWatchingComputer(FakeComputer):
    """Notes, at each action, how many steps (and screenshots) the history holds on disk."""

    run_dir: Path | None = None
    on_disk: list[tuple[int, int]] = field(default_factory=list)

    def perform(self, action: ScreenAction) -> None:
        assert self.run_dir is not None
        steps = self.run_dir / "steps.jsonl"
        lines = len(read_steps(steps)) if steps.exists() else 0
        self.on_disk.append((lines, len(list(self.run_dir.glob("step-*.png")))))
        super().perform(action)


def run(recorder: RunRecorder, replies: list[str]) -> tuple[str, DiskWatchingComputer]:
    computer = DiskWatchingComputer(run_dir=recorder.run_dir)
    loop = AgentLoop.on(
        computer,
        Planner(ScriptedBackend(replies)),
        Policy(PolicyConfig(confirm=ConfirmMode.NEVER)),
        FakeOperator(),
        computer.cancel,
        settings=LoopSettings(settle_quiet_s=0.0),
        recorder=recorder,
    )
    return loop.run("t").outcome, computer


def test_every_finished_step_is_on_disk_before_the_next_action(tmp_path: Path) -> None:
    outcome, computer = run(held(tmp_path), [*MOVES, DONE])
    assert outcome == "success"
    # At action n (step n), steps 1..n-1 and their screenshots are on disk already.
    assert computer.on_disk == [(n, n) for n in range(len(MOVES))]
    info, steps = load_run(tmp_path, "latest")
    assert info.outcome == "success" and [s.number for s in steps] == [1, 2, 3, 4, 5]
    assert all((tmp_path / info.id / s.screenshot).is_file() for s in steps)
    from PIL import Image

    with Image.open(tmp_path / info.id / steps[0].screenshot) as shot:  # encoded ahead, while the step ran
        assert shot.size == (1920, 1080) and shot.getpixel((5, 5)) == FakeComputer().colour


def test_a_step_that_cannot_be_written_stops_the_run_before_the_next_action(tmp_path: Path) -> None:
    outcome, computer = run(held(tmp_path, fail_at=2), [*MOVES, DONE])
    assert outcome == "error"
    assert len(computer.performed) == 2  # step 2 acted, then its record failed: step 3 never acted
    info, steps = load_run(tmp_path, "latest")
    assert info.outcome == "error" and "No space left on device" in info.detail
    assert [s.number for s in steps] == [1]  # nothing after the failed step is written


def test_a_last_step_that_cannot_be_written_makes_the_run_an_error(tmp_path: Path) -> None:
    recorder = held(tmp_path, fail_at=1)
    recorder.queue_step(StepRecord(number=1, started_at=INFO.started_at))
    recorder.gate.set()
    try:
        recorder.finish("success", "done")
    except HistoryError as err:
        assert "No space left" in str(err)
    else:
        raise AssertionError("finish() did not report the step it could not write")
    info, _ = load_run(tmp_path, "latest")
    assert info.outcome == "error" and "No space left on device" in info.detail


def test_record_step_keeps_the_order_of_queued_steps(tmp_path: Path) -> None:
    recorder = RunRecorder.start(tmp_path, INFO)
    recorder.queue_step(StepRecord(number=1, started_at=INFO.started_at))
    recorder.record_step(StepRecord(number=2, started_at=INFO.started_at))  # on disk on return
    assert [s.number for s in read_steps(recorder.run_dir / "steps.jsonl")] == [1, 2]
    recorder.finish("success")

"""A run's life: start, step records, finish; keys and buttons released however it ends.

Any ``DeskpilotError`` raised after the start (a history folder that fills up, a
backend that dies, a display that goes away) ends the run as ``error`` with run.json
finished and exit code 1; a stop ends it as ``stopped``. Either way the step under
way is recorded with its error, and nothing more is performed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from agent.errors import DeskpilotError, StoppedError
from agent.records.schema import CapturedArea, Outcome, StepRecord
from agent.run.events import Observer, RunEvent, RunFinished, RunResult, RunStarted, StepFinished, StepStarted
from agent.run.ports import QueuingRecorder

if TYPE_CHECKING:
    from agent.computers.base import Computer, Frame
    from agent.run.ports import Recorder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunEnd:
    """How a run's body ended on its own: success, failure or giving up, and why."""

    outcome: Outcome
    detail: str
    answer: str | None = None


def captured_area(frame: Frame) -> CapturedArea:
    g = frame.geometry
    r = g.region
    return CapturedArea(left=r.left, top=r.top, width=r.width, height=r.height, scale=g.scale_x)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class RunHarness:
    """Owns one run: its observers, its recorder and the release of held input."""

    def __init__(
        self,
        computer: Computer,
        *,
        recorder: Recorder | None = None,
        observers: Sequence[Observer] = (),
        keep_screenshots: bool = True,
    ) -> None:
        self.computer = computer
        self.recorder = recorder
        self.observers = list(observers)
        self.keep_screenshots = keep_screenshots
        self.steps = 0
        self.flush_waits_s: list[float] = []
        self._open: tuple[StepRecord, Frame | None] | None = None

    def emit(self, event: RunEvent) -> None:
        for observer in self.observers:
            try:
                observer(event)
            except Exception:  # an observer's bug must not take the run down
                log.exception("observer failed on %s", type(event).__name__)

    # -- steps -----------------------------------------------------------------------
    def begin_step(self, number: int) -> StepRecord:
        record = StepRecord(number=number, started_at=now_iso())
        self.steps = number
        self._open = (record, None)
        self.emit(StepStarted(number))
        return record

    def attach_frame(self, record: StepRecord, frame: Frame) -> None:
        """The screenshot to keep with the open step (recorded even if the step is cut short)."""
        self._open = (record, frame)
        if self.keep_screenshots and isinstance(self.recorder, QueuingRecorder):
            self.recorder.prepare_screenshot(record.number, frame.image)  # encoded while the step runs

    def finish_step(self, record: StepRecord, frame: Frame | None) -> StepRecord:
        """Write the step to the history (with its screenshot) and announce it."""
        self._open = None
        if self.recorder is not None:
            image = frame.image if frame is not None and self.keep_screenshots else None
            if image is not None and frame is not None:
                # The screenshot alone cannot say which monitor it shows or at what scale;
                # a macro made from the run (from-run) needs both to cut its anchors.
                record.capture = captured_area(frame)
            if isinstance(self.recorder, QueuingRecorder):
                # Written while the next step captures and asks the model; ``flush`` (before
                # the next action) waits for it.
                record = self.recorder.queue_step(record, image)
            else:
                record = self.recorder.record_step(record, image)
        self.emit(StepFinished(record))
        return record

    def flush(self) -> None:
        """Wait until every finished step is on disk: the executor calls it before each action.

        The wait is added to ``flush_waits_s`` (what keeping the history crash-safe costs).
        """
        if isinstance(self.recorder, QueuingRecorder):
            started = time.perf_counter()
            try:
                self.recorder.flush()
            finally:
                self.flush_waits_s.append(time.perf_counter() - started)

    # -- the run ---------------------------------------------------------------------
    def run(self, task: str, body: Callable[[], RunEnd]) -> RunResult:
        """Run ``body`` as the run for ``task``; every way out is a finished, recorded result."""
        self.emit(RunStarted(task))
        try:
            end = body()
        except StoppedError as err:
            self.release()
            self._close_open_step(f"stopped: {err}")
            return self._finish(RunEnd("stopped", str(err)))
        except DeskpilotError as err:
            self.release()
            self._close_open_step(f"error: {err}")
            return self._finish(RunEnd("error", str(err)))
        return self._finish(end)

    def release(self) -> None:
        try:
            self.computer.release_all()
        except DeskpilotError as err:
            log.warning("could not release keys and buttons: %s", err)

    def _close_open_step(self, error: str) -> None:
        if self._open is None:
            return
        record, frame = self._open
        if frame is None:  # nothing was seen yet: there is no step to show
            return
        record.error = record.error or error
        try:
            self.finish_step(record, frame)
        except DeskpilotError as err:  # the history itself may be what failed
            log.warning("could not record step %d: %s", record.number, err)

    def _finish(self, end: RunEnd) -> RunResult:
        result = RunResult(end.outcome, end.detail, self.steps, end.answer)
        if self.recorder is not None:
            try:
                self.recorder.finish(end.outcome, end.detail)
            except DeskpilotError as err:
                log.warning("could not finish the run record: %s", err)
                if end.outcome != "stopped":
                    result = RunResult("error", f"{end.detail}; and {err}", self.steps, end.answer)
        self.emit(RunFinished(result))
        return result

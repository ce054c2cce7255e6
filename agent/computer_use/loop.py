"""The agent loop: check stop → capture → plan → for each action: policy, confirm, act → record → settle.

It ends on ``terminate`` (its status decides the outcome), on ``answer`` (success, the
answer is kept), at the step limit, after ``max_unusable`` unusable answers in a row
(each one fed back to the model first), or when the user stops it. Observers get a
typed event for every phase; the loop knows nothing of terminals or Qt.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from agent.actions import Answer, ScreenAction, Terminate, Wait
from agent.computer_use.planner import Plan, Planner
from agent.computer_use.prompts import StepNote, action_text
from agent.computers.base import Computer, Frame
from agent.errors import BackendError, DeskpilotError, DisplayError, StoppedError
from agent.imaging import DEFAULT_TOLERANCE, changed_fraction, thumbnail
from agent.records.schema import ActionRecord, Confirmation, Outcome, StepRecord
from agent.run.policy import Policy, Verdict
from agent.run.settle import wait_until_settled
from agent.wording import describe_action

if TYPE_CHECKING:
    from PIL.Image import Image

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoopSettings:
    max_steps: int = 30
    max_unusable: int = 3
    dry_run: bool = False
    confirm_timeout_s: float = 60.0
    settle_quiet_s: float = 0.05
    settle_timeout_s: float = 3.0
    watchdog_repeats: int = 3
    keep_screenshots: bool = True


@dataclass(frozen=True)
class ConfirmResult:
    outcome: Confirmation
    note: str = ""


class Operator(Protocol):
    """The person watching: answers confirmations and decides whether a paused run goes on."""

    def confirm(
        self, action: ScreenAction, verdict: Verdict, stop: threading.Event, timeout_s: float
    ) -> ConfirmResult: ...

    def resume(self, reason: str, stop: threading.Event) -> bool: ...


class Recorder(Protocol):
    def record_step(self, step: StepRecord, screenshot: Image | None) -> StepRecord: ...

    def finish(self, outcome: Outcome, detail: str) -> None: ...


class ActingGuard(Protocol):
    """Told when the agent injects input, so that input is not taken for the user's."""

    def agent_acting(self) -> contextlib.AbstractContextManager[None]: ...

    def rearm(self) -> None: ...


# The last step's action signature, its screen thumbnail, and how often it repeated.
_WatchState = tuple[str, "Image | None", int]

SettleFn = Callable[[Callable[[], "Image"], threading.Event, float, float], object]


# -- events ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RunStarted:
    task: str


@dataclass(frozen=True)
class StepStarted:
    number: int


@dataclass(frozen=True)
class Captured:
    number: int
    frame: Frame


@dataclass(frozen=True)
class ModelText:
    number: int
    text: str


@dataclass(frozen=True)
class Planned:
    number: int
    plan: Plan


@dataclass(frozen=True)
class ActionDecided:
    number: int
    action: ScreenAction
    verdict: Verdict


@dataclass(frozen=True)
class ActionDone:
    number: int
    action: ScreenAction
    performed: bool
    error: str = ""


@dataclass(frozen=True)
class StepFinished:
    record: StepRecord


@dataclass(frozen=True)
class Paused:
    reason: str


@dataclass(frozen=True)
class Resumed:
    pass


@dataclass(frozen=True)
class RunResult:
    outcome: Outcome
    detail: str
    steps: int
    answer: str | None = None

    @property
    def exit_code(self) -> int:
        return {"success": 0, "stopped": 3}.get(self.outcome, 1)


@dataclass(frozen=True)
class RunFinished:
    result: RunResult


Event = (
    RunStarted
    | StepStarted
    | Captured
    | ModelText
    | Planned
    | ActionDecided
    | ActionDone
    | StepFinished
    | Paused
    | Resumed
    | RunFinished
)
Observer = Callable[[Event], None]


class PauseGate:
    """Pause requests from other threads (user takeover, the tray's Pause) for the loop to honour."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reason: str | None = None

    def request(self, reason: str) -> None:
        with self._lock:
            if self._reason is None:
                self._reason = reason

    def take(self) -> str | None:
        with self._lock:
            reason, self._reason = self._reason, None
            return reason

    @property
    def pending(self) -> bool:
        return self._reason is not None


class NoGuard:
    """Nobody watches for user input (tests, the fake computer)."""

    @contextlib.contextmanager
    def agent_acting(self) -> Iterator[None]:
        yield

    def rearm(self) -> None:
        pass


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _settle(grab: Callable[[], Image], stop: threading.Event, quiet_s: float, timeout_s: float) -> object:
    return wait_until_settled(grab, stop, quiet_s=quiet_s, timeout_s=timeout_s)


@dataclass
class AgentLoop:
    computer: Computer
    planner: Planner
    policy: Policy
    operator: Operator
    stop: threading.Event
    settings: LoopSettings = field(default_factory=LoopSettings)
    recorder: Recorder | None = None
    observers: Sequence[Observer] = ()
    guard: ActingGuard = field(default_factory=NoGuard)
    pause: PauseGate = field(default_factory=PauseGate)
    settle: SettleFn = _settle

    def _emit(self, event: Event) -> None:
        for observer in self.observers:
            try:
                observer(event)
            except Exception:  # an observer's bug must not take the run down
                log.exception("observer failed on %s", type(event).__name__)

    def _model_text(self, number: int, text: str) -> None:
        self._emit(ModelText(number, text))

    def _check_stop(self) -> None:
        if self.stop.is_set():
            raise StoppedError("stopped by the user")

    def _honour_pause(self) -> None:
        reason = self.pause.take()
        if reason is None:
            return
        self._emit(Paused(reason))
        # The user answers with the keyboard or mouse: that input is no takeover.
        with self.guard.agent_acting():
            resume = self.operator.resume(reason, self.stop)
        if not resume:
            self.stop.set()
            raise StoppedError(f"stopped while paused ({reason})")
        self.guard.rearm()
        self._emit(Resumed())

    # -- the run -------------------------------------------------------------------
    def run(self, task: str) -> RunResult:
        self._emit(RunStarted(task))
        notes: list[StepNote] = []
        frames: deque[Frame] = deque(maxlen=max(1, self.planner.settings.screenshots))
        feedback: str | None = None
        unusable = 0
        watchdog: _WatchState = ("", None, 0)
        number = 0
        record: StepRecord | None = None
        frame: Frame | None = None
        try:
            for number in range(1, self.settings.max_steps + 1):
                self._check_stop()
                self._honour_pause()
                self._emit(StepStarted(number))
                record = StepRecord(number=number, started_at=_now())
                started = time.perf_counter()
                frame = self.computer.capture()
                record.timings["capture_s"] = time.perf_counter() - started
                frames.append(frame)
                self._emit(Captured(number, frame))

                plan = self.planner.plan(
                    task,
                    notes,
                    list(frames),
                    self.stop,
                    feedback=feedback,
                    on_text=functools.partial(self._model_text, number),
                )
                record.timings.update(plan.timings)
                record.raw_text = plan.completion.text
                record.thought = plan.reply.thought if plan.reply else ""
                self._emit(Planned(number, plan))
                self._check_stop()

                if not plan.usable:
                    unusable += 1
                    record.error = plan.error or "unusable answer"
                    feedback = (
                        f"Your last answer could not be used: {record.error}. Answer with a <tool_call>."
                    )
                    notes.append(StepNote(number, (), f"unusable answer ({record.error})"))
                    self._finish_step(record, frame)
                    record = None
                    if unusable >= self.settings.max_unusable:
                        return self._end(
                            "gave_up", f"the model gave {unusable} unusable answers in a row", number
                        )
                    continue
                unusable = 0
                feedback, outcome, ended = self._act(number, plan, frame, record)
                notes.append(StepNote(number, tuple(action_text(a.action) for a in plan.actions), outcome))

                if ended is None and any(a.performed for a in record.actions):
                    settled = time.perf_counter()
                    self._wait_settled()
                    record.timings["settle_s"] = time.perf_counter() - settled
                self._finish_step(record, frame)
                record = None
                if ended is not None:
                    return self._end(ended.outcome, ended.detail, number, ended.answer)
                watchdog = self._watch(watchdog, plan, frame)
            return self._end("gave_up", f"reached the step limit ({self.settings.max_steps})", number)
        except StoppedError as err:
            self._release()
            if record is not None and frame is not None:
                record.error = f"stopped: {err}"
                self._finish_step(record, frame)
            return self._end("stopped", str(err), number)
        except (BackendError, DisplayError) as err:
            self._release()
            return self._end("error", str(err), number)

    def _act(
        self, number: int, plan: Plan, frame: Frame, record: StepRecord
    ) -> tuple[str | None, str, RunResult | None]:
        """Carry out the plan's actions; returns (feedback, outcome in words, end of run or None)."""
        outcomes: list[str] = []
        for screen_action in plan.actions:
            words = describe_action(screen_action.to_json_dict())
            verdict = self.policy.decide(screen_action, frame.region)
            self._emit(ActionDecided(number, screen_action, verdict))
            item = ActionRecord(
                model=screen_action.action.arguments(),
                screen=screen_action.to_json_dict(),
                decision=verdict.decision,
                reason=verdict.reason,
            )
            record.actions.append(item)
            inner = screen_action.action
            if verdict.decision == "deny":
                item.error = f"refused: {verdict.reason}"
                self._emit(ActionDone(number, screen_action, False, item.error))
                return (
                    f"The action '{words}' was refused ({verdict.reason}). Do it another way.",
                    "; ".join([*outcomes, "refused"]),
                    None,
                )
            if isinstance(inner, Terminate):
                status: Outcome = "success" if inner.status == "success" else "failure"
                return None, "finished", RunResult(status, f"the model finished the task ({status})", number)
            if isinstance(inner, Answer):
                return None, "answered", RunResult("success", "the model answered", number, answer=inner.text)
            if verdict.decision == "confirm" and not self.settings.dry_run:
                with self.guard.agent_acting():  # answering is input the user is asked for
                    answer = self.operator.confirm(
                        screen_action, verdict, self.stop, self.settings.confirm_timeout_s
                    )
                item.confirmation, item.note = answer.outcome, answer.note
                if answer.outcome == "approved_for_session":
                    self.policy.approve_for_session(verdict)
                if answer.outcome in ("rejected", "timed_out"):
                    self._check_stop()
                    self._emit(ActionDone(number, screen_action, False, answer.outcome))
                    why = (
                        "the user rejected it"
                        if answer.outcome == "rejected"
                        else "nobody confirmed it in time"
                    )
                    note = f" The user says: {answer.note}" if answer.note else ""
                    return (
                        f"The action '{words}' was not performed: {why}.{note}",
                        "; ".join([*outcomes, f"not performed ({why})"]),
                        None,
                    )
            self._check_stop()
            self._honour_pause()
            if self.settings.dry_run:
                item.confirmation = "dry_run"
                outcomes.append("not performed (dry run)")
                self._emit(ActionDone(number, screen_action, False, "dry run"))
                continue
            started = time.perf_counter()
            try:
                if isinstance(inner, Wait):
                    self._wait(inner.time)
                else:
                    with self.guard.agent_acting():
                        self.computer.perform(screen_action)
            except StoppedError:
                raise
            except DeskpilotError as err:
                item.error = str(err)
                self._emit(ActionDone(number, screen_action, False, item.error))
                return f"The action '{words}' failed: {err}", "; ".join([*outcomes, f"failed ({err})"]), None
            record.timings["perform_s"] = record.timings.get("perform_s", 0.0) + time.perf_counter() - started
            item.performed = True
            outcomes.append("done")
            self._emit(ActionDone(number, screen_action, True))
        return None, "; ".join(outcomes) or "done", None

    def _wait(self, seconds: float) -> None:
        """A model-requested wait that a stop ends at once and a pause request cuts short."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if self.stop.wait(min(0.05, remaining)):
                raise StoppedError("stopped during a wait")
            if self.pause.pending:
                self._honour_pause()

    def _wait_settled(self) -> None:
        self.settle(
            self.computer.poll_image, self.stop, self.settings.settle_quiet_s, self.settings.settle_timeout_s
        )

    def _watch(self, state: _WatchState, plan: Plan, frame: Frame) -> _WatchState:
        """Pause when the same actions meet an unchanged screen ``watchdog_repeats`` times in a row."""
        signature = "|".join(str(a.to_json_dict()) for a in plan.actions)
        thumb = thumbnail(frame.image)
        last_signature, last_thumb, repeats = state
        unchanged = last_thumb is not None and changed_fraction(thumb, last_thumb) <= DEFAULT_TOLERANCE
        repeats = repeats + 1 if signature == last_signature and unchanged else 1
        if repeats >= self.settings.watchdog_repeats:
            self.pause.request(
                f"no progress: the same action on an unchanged screen {repeats} times in a row"
            )
            return ("", None, 0)
        return (signature, thumb, repeats)

    def _finish_step(self, record: StepRecord, frame: Frame) -> None:
        if self.recorder is not None:
            image = frame.image if self.settings.keep_screenshots else None
            record = self.recorder.record_step(record, image)
        self._emit(StepFinished(record))

    def _release(self) -> None:
        try:
            self.computer.release_all()
        except DeskpilotError as err:
            log.warning("could not release keys and buttons: %s", err)

    def _end(self, outcome: Outcome, detail: str, steps: int, answer: str | None = None) -> RunResult:
        result = RunResult(outcome, detail, steps, answer)
        if self.recorder is not None:
            self.recorder.finish(outcome, detail)
        self._emit(RunFinished(result))
        return result

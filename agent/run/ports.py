"""The seams of a run: who confirms, who records, who watches for the user's input, who pauses,
and who is asked where a lost macro target went."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from agent.records.schema import Confirmation, Outcome, StepRecord

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.actions import ScreenAction
    from agent.computers.base import Frame
    from agent.geometry import Region
    from agent.run.policy import Verdict


@dataclass(frozen=True)
class ConfirmQuestion:
    """What the user is asked to approve: the action, why it is asked, and the monitor it acts on."""

    action: ScreenAction
    verdict: Verdict
    region: Region


@dataclass(frozen=True)
class ConfirmResult:
    outcome: Confirmation
    note: str = ""


class Operator(Protocol):
    """The person watching: answers confirmations and decides whether a paused run goes on."""

    def confirm(
        self, question: ConfirmQuestion, stop: threading.Event, timeout_s: float
    ) -> ConfirmResult: ...

    def resume(self, reason: str, stop: threading.Event) -> bool: ...


@dataclass(frozen=True)
class LostTarget:
    """A macro step whose anchor no healing tier found: what the user is shown to point at it.

    ``best_box`` is the closest candidate in ``frame``'s image pixels (left, top, width,
    height) and ``best_point`` the screen point acting on it would use; both are None
    when nothing resembled the anchor at all.
    """

    number: int  # the step's number in the replay
    words: str  # the step in words ("Click at (460, 320)")
    crop: Image  # the recorded anchor crop
    frame: Frame  # the current screen the anchor was looked for on
    reason: str
    best_box: tuple[int, int, int, int] | None = None
    best_point: tuple[int, int] | None = None
    best_score: float | None = None


class TargetFinder(Protocol):
    """An operator that can be asked where a lost target is (healing tier e: ask the user).

    An optional part of ``Operator``: ``find_lost`` returns the screen point (input
    units) the user picked, or None to stop (also on ``stop``, or after ``timeout_s``).
    """

    def find_lost(
        self, question: LostTarget, stop: threading.Event, timeout_s: float
    ) -> tuple[int, int] | None: ...


def ask_lost_target(
    operator: Operator, question: LostTarget, stop: threading.Event, timeout_s: float
) -> tuple[int, int] | None:
    """The operator's answer to ``question``; None (stop) for operators that cannot ask (a terminal)."""
    finder = getattr(operator, "find_lost", None)
    if finder is None:
        return None
    point: tuple[int, int] | None = finder(question, stop, timeout_s)
    return point


class Recorder(Protocol):
    def record_step(self, step: StepRecord, screenshot: Image | None) -> StepRecord: ...

    def finish(self, outcome: Outcome, detail: str) -> None: ...


@runtime_checkable
class QueuingRecorder(Recorder, Protocol):
    """A recorder that can write steps on its own thread; ``flush`` waits until they are on disk."""

    def prepare_screenshot(self, number: int, screenshot: Image) -> None: ...

    def queue_step(self, step: StepRecord, screenshot: Image | None) -> StepRecord: ...

    def flush(self) -> None: ...


class ActingGuard(Protocol):
    """Told when Deskpilot injects input, so that input is not taken for the user's."""

    def agent_acting(self) -> contextlib.AbstractContextManager[None]: ...

    def rearm(self) -> None: ...


class NoGuard:
    """Nobody watches for user input (tests, the fake computer)."""

    @contextlib.contextmanager
    def agent_acting(self) -> Iterator[None]:
        yield

    def rearm(self) -> None:
        pass


class PauseGate:
    """Pause requests from other threads (user takeover, the tray's Pause) for the run to honour."""

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

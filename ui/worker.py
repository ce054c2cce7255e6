"""The agent run (or a macro replay) on a worker thread, its events as Qt signals, and the
operator's questions (confirmations, pauses, lost macro targets) across threads."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, SignalInstance, Slot

from agent.api import (
    ConfirmQuestion,
    ConfirmResult,
    DeskpilotError,
    LostTarget,
    PauseGate,
    PlaySettings,
    Session,
    Settings,
)

log = logging.getLogger(__name__)

_POLL_S = 0.05


def deliver(
    what: str,
    job: Callable[[], object],
    finished: SignalInstance,
    failed: SignalInstance,
    explain: Callable[[DeskpilotError], str] = str,
) -> None:
    """Run ``job`` on this worker thread and emit its result, or its words when it fails.

    A ``DeskpilotError`` is the user's words (``explain`` puts them in the tray's terms);
    anything else is a bug, logged with its traceback and still shown, so it never kills
    the thread silently.
    """
    try:
        result = job()
    except DeskpilotError as err:
        failed.emit(explain(err))
        return
    except Exception as err:
        log.exception("%s failed", what)
        failed.emit(f"internal error: {err}")
        return
    finished.emit(result)


def end_thread(thread: QThread | None, worker: QObject | None) -> None:
    """Wait for a worker's thread to end and let Qt delete both (the worker's job has returned)."""
    if thread is not None:
        thread.quit()
        thread.wait()
        thread.deleteLater()
    if worker is not None:
        worker.deleteLater()


class QtOperator(QObject):
    """The loop's operator: asks the GUI (overlay, dialogs) and blocks only the worker thread."""

    confirm_requested = Signal(object, float)  # ConfirmQuestion, timeout_s
    resume_requested = Signal(str)
    lost_requested = Signal(object, float)  # LostTarget, timeout_s
    question_withdrawn = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._answered = threading.Event()
        self._confirm: ConfirmResult | None = None
        self._resume = False
        self._lost: tuple[int, int] | None = None

    def confirm(self, question: ConfirmQuestion, stop: threading.Event, timeout_s: float) -> ConfirmResult:
        self._answered.clear()
        self._confirm = None
        self.confirm_requested.emit(question, timeout_s)
        # The overlay runs its own visible countdown; this bound only guards against a
        # GUI that never answers.
        deadline = timeout_s + 5.0
        waited = 0.0
        while not self._answered.wait(_POLL_S):
            waited += _POLL_S
            if stop.is_set() or waited >= deadline:
                self.question_withdrawn.emit()
                return ConfirmResult("rejected", "stopped") if stop.is_set() else ConfirmResult("timed_out")
        return self._confirm or ConfirmResult("rejected")

    def resume(self, reason: str, stop: threading.Event) -> bool:
        self._answered.clear()
        self.resume_requested.emit(reason)
        while not self._answered.wait(_POLL_S):
            if stop.is_set():
                self.question_withdrawn.emit()
                return False
        return self._resume

    def find_lost(
        self, question: LostTarget, stop: threading.Event, timeout_s: float
    ) -> tuple[int, int] | None:
        """Healing tier (e): the GUI shows the lost target; the screen point the user gave, or None."""
        self._answered.clear()
        self._lost = None
        self.lost_requested.emit(question, timeout_s)
        deadline = timeout_s + 5.0  # the dialog counts down itself; this guards a GUI that never answers
        waited = 0.0
        while not self._answered.wait(_POLL_S):
            waited += _POLL_S
            if stop.is_set() or waited >= deadline:
                self.question_withdrawn.emit()
                return None
        return self._lost

    # Called from the GUI thread.
    @Slot(object)
    def answer_lost(self, point: tuple[int, int] | None) -> None:
        self._lost = point
        self._answered.set()

    @Slot(str, str)
    def answer_confirm(self, outcome: str, note: str) -> None:
        self._confirm = ConfirmResult(outcome, note)  # type: ignore[arg-type]
        self._answered.set()

    @Slot(bool)
    def answer_resume(self, resume: bool) -> None:
        self._resume = resume
        self._answered.set()


class RunWorker(QObject):
    """Runs one task through ``agent.api``; lives in a QThread. Run events arrive on ``event``."""

    progress = Signal(str)
    event = Signal(object)  # type: ignore[assignment]  # shadows QObject.event (a handler), as before
    finished = Signal(object)  # agent.api.RunResult
    failed = Signal(str)  # the run could not start (model failed to load, no display...)

    def __init__(
        self,
        session: Session,
        settings: Settings,
        task: str,
        operator: QtOperator,
        stop: threading.Event,
        pause: PauseGate,
        wrap_computer: Any,
        dry_run: bool = False,
        narration: Any = None,
    ) -> None:
        super().__init__()
        self._narration = narration  # a Speech that says each action before it happens, or None
        self._session = session
        self._settings = settings
        self._task = task
        self._operator = operator
        self._stop = stop
        self._pause = pause
        self._wrap = wrap_computer
        self._dry_run = dry_run

    @Slot()
    def run(self) -> None:
        self.progress.emit("preparing the model")
        deliver(
            "run",
            lambda: self._session.run_task(
                self._settings,
                self._task,
                self._operator,
                stop=self._stop,
                pause=self._pause,
                dry_run=self._dry_run,
                observers=[self._started, self.event.emit],
                wrap_computer=self._wrap,
                narration=self._narration,
            ),
            self.finished,
            self.failed,
            # A missing model is told as what to change in Settings: the tray has no --model.
            lambda err: self._session.explain_for_settings(err, self._settings),
        )

    def _started(self, event: object) -> None:
        from agent.api import RunStarted

        if isinstance(event, RunStarted):
            self.progress.emit(f"running; kill hotkey {self._settings.kill_hotkey}")


class MacroWorker(QObject):
    """Replays one macro file through ``agent.api`` (``Session.play_macro``); lives in a QThread.

    The same signals as ``RunWorker``, so the controller drives both alike: the overlay
    confirms, Stop and the kill hotkey stop, and the tray shows the state.
    """

    progress = Signal(str)
    event = Signal(object)  # type: ignore[assignment]  # shadows QObject.event (a handler), as before
    finished = Signal(object)  # agent.api.RunResult
    failed = Signal(str)

    def __init__(
        self,
        session: Session,
        settings: Settings,
        path: Path,
        play: PlaySettings,
        operator: QtOperator,
        stop: threading.Event,
        pause: PauseGate,
        wrap_computer: Any,
    ) -> None:
        super().__init__()
        self._session, self._settings, self._path, self._play = session, settings, path, play
        self._operator, self._stop, self._pause, self._wrap = operator, stop, pause, wrap_computer

    @Slot()
    def run(self) -> None:
        deliver(
            "macro replay",
            lambda: self._session.play_macro(
                self._settings,
                self._path,
                self._operator,
                stop=self._stop,
                play=self._play,
                pause=self._pause,
                observers=[self._started, self.event.emit],
                wrap_computer=self._wrap,
                # As 'macro play' without --monitor: a monitor the settings leave at the
                # default gives way to the one the macro was recorded on.
                find_monitor=self._settings.monitor == Settings().monitor,
            ),
            self.finished,
            self.failed,
        )

    def _started(self, event: object) -> None:
        from agent.api import RunStarted

        if isinstance(event, RunStarted):
            self.progress.emit(f"playing; kill hotkey {self._settings.kill_hotkey}")

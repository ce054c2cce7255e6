"""The agent run on a worker thread, its events as Qt signals, and confirmations across threads."""

from __future__ import annotations

import logging
import threading
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from agent.actions import ScreenAction
from agent.backends.base import Backend
from agent.computer_use.loop import ConfirmResult, PauseGate
from agent.config import Settings
from agent.errors import DeskpilotError
from agent.run.policy import Verdict

log = logging.getLogger(__name__)

_POLL_S = 0.05


class QtOperator(QObject):
    """The loop's operator: asks the GUI (overlay, dialogs) and blocks only the worker thread."""

    confirm_requested = Signal(object, object, float)  # ScreenAction, Verdict, timeout_s
    resume_requested = Signal(str)
    question_withdrawn = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._answered = threading.Event()
        self._confirm: ConfirmResult | None = None
        self._resume = False

    def confirm(
        self, action: ScreenAction, verdict: Verdict, stop: threading.Event, timeout_s: float
    ) -> ConfirmResult:
        self._answered.clear()
        self._confirm = None
        self.confirm_requested.emit(action, verdict, timeout_s)
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

    # Called from the GUI thread.
    @Slot(str, str)
    def answer_confirm(self, outcome: str, note: str) -> None:
        self._confirm = ConfirmResult(outcome, note)  # type: ignore[arg-type]
        self._answered.set()

    @Slot(bool)
    def answer_resume(self, resume: bool) -> None:
        self._resume = resume
        self._answered.set()


class RunWorker(QObject):
    """Runs one task; lives in a QThread. Loop events arrive on ``event`` in the GUI thread."""

    progress = Signal(str)
    event = Signal(object)
    finished = Signal(object)  # agent.loop.RunResult
    failed = Signal(str)  # the run could not start (model failed to load, no display...)

    def __init__(
        self,
        settings: Settings,
        task: str,
        operator: QtOperator,
        stop: threading.Event,
        pause: PauseGate,
        wrap_computer: Any,
        backend_cache: dict[tuple[str, ...], Backend],
        dry_run: bool = False,
    ) -> None:
        super().__init__()
        self._settings = settings
        self._task = task
        self._operator = operator
        self._stop = stop
        self._pause = pause
        self._wrap = wrap_computer
        self._cache = backend_cache
        self._dry_run = dry_run

    def _backend(self) -> Backend:
        from agent.runner import make_backend

        s = self._settings
        if s.backend == "script":  # replies are consumed: a fresh one every run
            return make_backend(s, progress=self.progress.emit)
        key = (s.backend, s.model, s.precision, s.base_url, s.api_key)
        if key not in self._cache:
            self._cache.clear()  # one loaded model at a time: they are large
            self._cache[key] = make_backend(s, progress=self.progress.emit)
        return self._cache[key]

    @Slot()
    def run(self) -> None:
        from agent.computers.windows import X11Windows
        from agent.runner import build_loop, desktop_session

        try:
            self.progress.emit("preparing the model")
            backend = self._backend()
            with desktop_session(self._settings, self._stop, self._pause) as desk:
                loop = build_loop(
                    self._settings,
                    backend,
                    self._wrap(desk.computer),
                    self._operator,
                    self._stop,
                    dry_run=self._dry_run,
                    pause=self._pause,
                    guard=desk.takeover,
                    observers=[self.event.emit],
                    window_title_at=X11Windows().title_at,
                    task=self._task,
                )
                self.progress.emit(f"running; kill hotkey {self._settings.kill_hotkey}")
                result = loop.run(self._task)
        except DeskpilotError as err:
            self.failed.emit(str(err))
            return
        except Exception as err:  # a bug must surface in the UI, not kill the thread silently
            log.exception("run failed")
            self.failed.emit(f"internal error: {err}")
            return
        self.finished.emit(result)

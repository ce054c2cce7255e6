"""One place that owns a run's life in the GUI (an agent task or a macro replay): start, stop,
pause, confirmations, lost macro targets, state."""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from agent.api import (
    ActionDecided,
    ActionDone,
    ConfirmQuestion,
    LostTarget,
    PauseGate,
    PlaySettings,
    RunResult,
    Session,
    Settings,
    StepStarted,
)
from ui.worker import MacroWorker, QtOperator, RunWorker, end_thread


class State(StrEnum):
    IDLE = "idle"
    THINKING = "thinking"
    ACTING = "acting"
    WAITING = "waiting for you"
    PAUSED = "paused"
    RECORDING = "recording"
    ERROR = "error"


class RunController(QObject):
    """Starts runs on a worker thread and turns their events into GUI state."""

    state_changed = Signal(str, str)  # State, detail
    event = Signal(object)  # type: ignore[assignment]  # shadows QObject.event; every agent.computer_use.loop event, in the GUI thread
    progress = Signal(str)
    run_finished = Signal(object)  # RunResult
    run_failed = Signal(str)
    confirm_needed = Signal(object, object, float, object)  # action, verdict, timeout_s, monitor Region
    resume_needed = Signal(str)
    lost_needed = Signal(object, float)  # LostTarget, timeout_s (a macro step no tier found)
    question_withdrawn = Signal()

    def __init__(
        self,
        settings_loader: Callable[[], Settings],
        wrap_computer: Callable[[Any], Any],
        speech: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__()
        self._load_settings = settings_loader
        self._wrap = wrap_computer
        self._speech = speech  # the app's speech, for narrated runs (settings: narrate)
        self._operator = QtOperator()
        self._operator.confirm_requested.connect(self._on_confirm)
        self._operator.resume_requested.connect(self._on_resume)
        self._operator.lost_requested.connect(self._on_lost)
        self._operator.question_withdrawn.connect(self.question_withdrawn)
        self._thread: QThread | None = None
        self._worker: RunWorker | MacroWorker | None = None
        self.kind = "task"  # what runs (or ran last): "task" or "macro"
        self._stop = threading.Event()
        self._pause = PauseGate()
        # One session for the app's life: it keeps the loaded model between runs.
        self._session = Session(progress=self.progress.emit, settings_terms=True)  # no CLI flags shown
        self.state = State.IDLE
        self.last_result: RunResult | None = None

    @property
    def session(self) -> Session:
        """The app's one session (its loaded model), shared with the Skills window."""
        return self._session

    @property
    def running(self) -> bool:
        return self._thread is not None

    def _set_state(self, state: State, detail: str = "") -> None:
        self.state = state
        self.state_changed.emit(state.value, detail)

    def start(self, task: str, *, dry_run: bool = False, settings: Settings | None = None) -> None:
        if self.running:
            return
        settings = settings or self._load_settings()
        self._stop = threading.Event()
        self._pause = PauseGate()
        thread = QThread()
        worker = RunWorker(
            self._session,
            settings,
            task,
            self._operator,
            self._stop,
            self._pause,
            self._wrap,
            dry_run=dry_run,
            narration=self._speech() if settings.narrate and self._speech is not None else None,
        )
        self._launch(thread, worker, "task")

    def play_macro(self, path: Path, play: PlaySettings, *, settings: Settings | None = None) -> None:
        """Replay ``path`` on a worker thread, with this controller's operator, stop and pause."""
        if self.running:
            return
        settings = settings or self._load_settings()
        self._stop = threading.Event()
        self._pause = PauseGate()
        thread = QThread()
        worker = MacroWorker(
            self._session, settings, path, play, self._operator, self._stop, self._pause, self._wrap
        )
        self._launch(thread, worker, "macro")

    def _launch(self, thread: QThread, worker: RunWorker | MacroWorker, kind: str) -> None:
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self.progress)
        worker.event.connect(self._on_event)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        self._thread, self._worker, self.kind = thread, worker, kind
        self._set_state(State.THINKING if kind == "task" else State.ACTING, "starting")
        thread.start()

    @Slot()
    def stop(self) -> None:
        """Stop at once: the loop checks this token before every action and during generation."""
        self._stop.set()
        self.question_withdrawn.emit()

    @Slot()
    def toggle_pause(self) -> None:
        if self.state is State.PAUSED:
            self._operator.answer_resume(True)
            self._set_state(State.THINKING, "resumed")
        elif self.running:
            self._pause.request("paused by you")

    @Slot(str, str)
    def answer_confirm(self, outcome: str, note: str) -> None:
        self._operator.answer_confirm(outcome, note)
        if self.running:
            self._set_state(State.ACTING)

    @Slot(bool)
    def answer_resume(self, resume: bool) -> None:
        if not resume:
            self._stop.set()
        self._operator.answer_resume(resume)

    def _on_confirm(self, question: ConfirmQuestion, timeout_s: float) -> None:
        self._set_state(State.WAITING, question.verdict.reason)
        self.confirm_needed.emit(question.action, question.verdict, timeout_s, question.region)

    @Slot(object)
    def answer_lost(self, point: tuple[int, int] | None) -> None:
        self._operator.answer_lost(point)
        if self.running:
            self._set_state(State.ACTING)

    def _on_lost(self, question: LostTarget, timeout_s: float) -> None:
        self._set_state(State.WAITING, f"step {question.number}: where is the target?")
        self.lost_needed.emit(question, timeout_s)

    def _on_resume(self, reason: str) -> None:
        self._set_state(State.PAUSED, reason)
        self.resume_needed.emit(reason)

    def _on_event(self, event: object) -> None:
        match event:
            case StepStarted():
                # A macro step has no model to think with: it looks for its target and acts.
                self._set_state(State.THINKING if self.kind == "task" else State.ACTING)
            case ActionDecided() | ActionDone():
                if self.state is not State.WAITING:
                    self._set_state(State.ACTING)
        self.event.emit(event)

    def _cleanup(self) -> None:
        end_thread(self._thread, self._worker)
        self._thread = self._worker = None

    def _on_finished(self, result: RunResult) -> None:
        self._cleanup()
        self.last_result = result
        self._set_state(State.ERROR if result.outcome == "error" else State.IDLE, result.detail)
        self.run_finished.emit(result)

    def _on_failed(self, message: str) -> None:
        self._cleanup()
        self._set_state(State.ERROR, message)
        self.run_failed.emit(message)

    def shutdown(self) -> None:
        self.stop()
        self._cleanup()

"""The command window: type a task, run or stop it, and watch its steps and the model's text live."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agent.api import (
    ActionDecided,
    Captured,
    ModelText,
    Planned,
    RunResult,
    Settings,
    StepFinished,
    StepRecord,
    StepStarted,
    describe_action,
    describe_step,
)
from ui.style import set_accessible

if TYPE_CHECKING:
    from PIL.Image import Image

THUMB = QSize(192, 108)


def to_pixmap(image: Image, size: QSize = THUMB) -> QPixmap:
    small = image.convert("RGB")
    small.thumbnail((size.width(), size.height()))
    data = small.tobytes("raw", "RGB")
    qimage = QImage(data, small.width, small.height, small.width * 3, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(qimage.copy())


class CommandWindow(QWidget):
    """Emits ``run_requested(task, dry_run)`` and ``stop_requested``; shows what the controller reports."""

    run_requested = Signal(str, bool)
    stop_requested = Signal()
    pause_requested = Signal()
    resume_answered = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Deskpilot — new command")
        self.resize(760, 640)
        self._thumbs: dict[int, QPixmap] = {}

        self.task = QComboBox(self)
        self.task.setEditable(True)
        self.task.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        cast(QLineEdit, self.task.lineEdit()).setPlaceholderText("What should Deskpilot do?")
        set_accessible(
            self.task, "Task", "The task to carry out, in plain words; earlier tasks are in the list"
        )
        cast(QLineEdit, self.task.lineEdit()).returnPressed.connect(self._run_clicked)  # editable: never None

        self.info = QLabel(self)
        set_accessible(
            self.info, "Model and safety settings", "The model, precision, confirmation mode and kill hotkey"
        )
        self.info.setWordWrap(True)

        self.run_button = QPushButton("&Run", self)
        set_accessible(self.run_button, "Run", "Start the task")
        self.run_button.clicked.connect(self._run_clicked)
        self.stop_button = QPushButton("&Stop", self)
        set_accessible(self.stop_button, "Stop", "Stop the agent now; nothing more is performed")
        self.stop_button.clicked.connect(self.stop_requested)
        self.stop_button.setEnabled(False)
        self.pause_button = QPushButton("&Pause", self)
        set_accessible(self.pause_button, "Pause", "Pause before the next action")
        self.pause_button.clicked.connect(self.pause_requested)
        self.pause_button.setEnabled(False)
        self.dry_run = QCheckBox("&Dry run (plan only, perform nothing)", self)
        set_accessible(self.dry_run, "Dry run", "Plan and record the steps without performing any of them")

        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.setVisible(False)
        set_accessible(self.progress, "Working", "Shown while the model loads or thinks")
        self.status = QLabel("Idle", self)
        self.status.setWordWrap(True)
        set_accessible(self.status, "Status", "What Deskpilot is doing now")

        self.pause_banner = QWidget(self)
        banner = QHBoxLayout(self.pause_banner)
        self.pause_reason = QLabel(self.pause_banner)
        self.pause_reason.setWordWrap(True)
        set_accessible(self.pause_reason, "Pause reason", "Why the run is paused")
        self.resume_button = QPushButton("Res&ume", self.pause_banner)
        set_accessible(self.resume_button, "Resume", "Continue the paused run")
        self.resume_button.clicked.connect(lambda: self.resume_answered.emit(True))
        self.end_button = QPushButton("&End run", self.pause_banner)
        set_accessible(self.end_button, "End run", "Stop the paused run")
        self.end_button.clicked.connect(lambda: self.resume_answered.emit(False))
        banner.addWidget(self.pause_reason, 1)
        banner.addWidget(self.resume_button)
        banner.addWidget(self.end_button)
        self.pause_banner.setVisible(False)

        self.steps = QListWidget(self)
        self.steps.setIconSize(THUMB)
        self.steps.setWordWrap(True)
        set_accessible(
            self.steps, "Steps", "Each step: its screenshot, the actions in words, status and timings"
        )
        self.model_text = QPlainTextEdit(self)
        self.model_text.setReadOnly(True)
        self.model_text.setMaximumBlockCount(2000)
        set_accessible(self.model_text, "Model output", "The model's text as it is generated")

        buttons = QHBoxLayout()
        for widget in (self.run_button, self.stop_button, self.pause_button, self.dry_run):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        task_label = QLabel("&Task:", self)
        task_label.setBuddy(self.task)
        layout.addWidget(task_label)
        layout.addWidget(self.task)
        layout.addWidget(self.info)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.pause_banner)
        steps_label = QLabel("Steps:", self)
        steps_label.setBuddy(self.steps)
        layout.addWidget(steps_label)
        layout.addWidget(self.steps, 3)
        text_label = QLabel("Model output:", self)
        text_label.setBuddy(self.model_text)
        layout.addWidget(text_label)
        layout.addWidget(self.model_text, 1)
        self.setTabOrder(self.task, self.run_button)
        self.setTabOrder(self.run_button, self.stop_button)
        self.setTabOrder(self.stop_button, self.pause_button)
        self.setTabOrder(self.pause_button, self.dry_run)
        self.setTabOrder(self.dry_run, self.steps)
        self.setTabOrder(self.steps, self.model_text)

    # -- input -----------------------------------------------------------------
    def _run_clicked(self) -> None:
        task = self.task.currentText().strip()
        if not task:
            self.status.setText("Type a task first.")
            return
        self.run_requested.emit(task, self.dry_run.isChecked())

    def set_previous_tasks(self, tasks: list[str]) -> None:
        current = self.task.currentText()
        self.task.clear()
        self.task.addItems(tasks)
        self.task.setEditText(current)

    def show_settings(self, settings: Settings) -> None:
        model = settings.script if settings.backend == "script" else settings.model
        where = {"local": "on this computer", "openai": f"on {settings.base_url}", "script": "from a script"}
        self.info.setText(
            f"Model: {model} ({where[settings.backend]}) · precision {settings.precision} · "
            f"confirm {settings.confirm} · kill hotkey {settings.kill_hotkey}"
        )

    # -- run state -------------------------------------------------------------
    def run_started(self) -> None:
        self.steps.clear()
        self.model_text.clear()
        self._thumbs.clear()
        self.run_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.pause_button.setEnabled(True)
        self.progress.setVisible(True)
        self.status.setText("Starting…")

    def run_ended(self, text: str) -> None:
        self.run_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.pause_button.setEnabled(False)
        self.progress.setVisible(False)
        self.pause_banner.setVisible(False)
        self.status.setText(text)

    def show_result(self, result: RunResult) -> None:
        answer = f" Answer: {result.answer}" if result.answer else ""
        self.run_ended(f"Finished: {result.outcome.replace('_', ' ')} — {result.detail}.{answer}")

    def show_progress(self, message: str) -> None:
        self.status.setText(message)

    def show_paused(self, reason: str) -> None:
        self.pause_reason.setText(f"Paused: {reason}")
        self.pause_banner.setVisible(True)
        self.resume_button.setFocus()

    def hide_paused(self) -> None:
        self.pause_banner.setVisible(False)

    def on_event(self, event: object) -> None:
        match event:
            case StepStarted(number=number):
                self.status.setText(f"Step {number}: looking at the screen and thinking…")
                self.model_text.appendPlainText(f"— step {number} —\n")
            case Captured(number=number, frame=frame):
                self._thumbs[number] = to_pixmap(frame.image)
            case ModelText(text=text):
                self.model_text.insertPlainText(text)
            case Planned(number=number, plan=plan) if not plan.usable:
                self.status.setText(f"Step {number}: the answer could not be used; asking again")
            case ActionDecided(number=number, action=action):
                self.status.setText(f"Step {number}: {describe_action(action.to_json_dict())}")
            case StepFinished(record=record):
                self.add_step(record)
            case _:
                pass

    def add_step(self, record: StepRecord) -> None:
        # The same words as ``deskpilot history show`` and the history window.
        text = "\n".join(line.strip() for line in describe_step(record))
        item = QListWidgetItem(text)
        thumb = self._thumbs.get(record.number)
        if thumb is not None:
            item.setIcon(QIcon(thumb))
        item.setData(Qt.ItemDataRole.AccessibleTextRole, text)
        self.steps.addItem(item)
        self.steps.scrollToBottom()

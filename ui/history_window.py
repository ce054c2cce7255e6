"""The history window: past runs, their steps in words, and each step's screenshot and model text."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontDatabase, QKeySequence, QPixmap, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from agent.api import (
    ConfigError,
    RunInfo,
    StepRecord,
    clip,
    describe_step,
    list_runs,
    load_run,
    local_time,
)
from ui.style import ERROR_TEXT, apply_style, set_accessible, set_role

RUN_COLUMNS = ("Started", "Outcome", "Steps", "Task", "Run id")
_RUN_ID_ROLE = Qt.ItemDataRole.UserRole

_OUTCOME_WORDS = {
    "running": "running or cut off",
    "success": "succeeded",
    "failure": "failed",
    "gave_up": "gave up",
    "stopped": "stopped",
    "error": "error",
    "interrupted": "interrupted",
}


class ScaledImage(QLabel):
    """A label showing a picture scaled to fit, keeping its aspect ratio, as the label resizes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._original: QPixmap | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        # Ignored: the picture follows the label's size, never the other way round.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setMinimumSize(160, 90)

    @property
    def original(self) -> QPixmap | None:
        """The picture at full size, or None while the label shows text."""
        return self._original

    def set_picture(self, pixmap: QPixmap) -> None:
        self._original = pixmap
        self._rescale()

    def set_message(self, text: str) -> None:
        self._original = None
        self.clear()
        self.setText(text)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._original is None:
            return
        self.setPixmap(
            self._original.scaled(
                self.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
        )


class HistoryWindow(QWidget):
    """The runs under ``root``, newest first; picking a run shows its steps, picking a step its details."""

    def __init__(self, root: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._root = root
        self._run: RunInfo | None = None
        self._steps: list[StepRecord] = []
        self.setWindowTitle("Deskpilot history")
        self.setObjectName("deskpilotWindow")  # the shared stylesheet paints this window's background
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        set_accessible(self, "Deskpilot history", f"Past runs kept in {root}")
        self._build()
        apply_style(self)
        self.resize(1280, 760)
        self.refresh()

    # --- public API -------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        return self._root

    def refresh(self) -> None:
        """Read the runs again, keeping the selected run and step when they still exist."""
        selected_run = self._run.id if self._run is not None else None
        selected_step = self.steps_view.currentRow()
        self.runs_view.clear()
        try:
            runs = list_runs(self._root)
        except ConfigError as err:
            self._show_empty(f"Cannot read the history: {err}", error=True)
            return
        if not runs:
            self._show_empty(
                "No runs yet.\n\nRuns started from the tray or with “deskpilot run” "
                f"are kept in {self._root} and appear here.",
                error=False,
            )
            return
        self.empty_label.hide()
        self._splitter.show()
        for info in runs:
            self.runs_view.addTopLevelItem(_run_item(info))
        for column in range(len(RUN_COLUMNS) - 1):
            self.runs_view.resizeColumnToContents(column)
        if selected_run is None or not self.select_run(selected_run):
            self.runs_view.setCurrentItem(self._run_items()[0])
        elif 0 <= selected_step < self.steps_view.count():
            self.steps_view.setCurrentRow(selected_step)

    def select_run(self, run_id: str) -> bool:
        """Select the run with this id and show its steps; False when it is not listed."""
        for item in self._run_items():
            if item.data(0, _RUN_ID_ROLE) == run_id:
                self.runs_view.setCurrentItem(item)
                return True
        return False

    def select_step(self, number: int) -> bool:
        """Select the shown run's step with this number; False when it has none."""
        for row, step in enumerate(self._steps):
            if step.number == number:
                self.steps_view.setCurrentRow(row)
                return True
        return False

    def run_ids(self) -> list[str]:
        """The listed runs' ids, top to bottom."""
        return [str(item.data(0, _RUN_ID_ROLE)) for item in self._run_items()]

    def step_texts(self) -> list[str]:
        """The shown steps as listed, one text per step."""
        return [self.steps_view.item(row).text() for row in range(self.steps_view.count())]

    def _run_items(self) -> list[QTreeWidgetItem]:
        count = self.runs_view.topLevelItemCount()
        return [item for i in range(count) if (item := self.runs_view.topLevelItem(i)) is not None]

    # --- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)

        top = QHBoxLayout()
        heading = QLabel(f"Runs in {self._root}")
        heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        set_role(heading, "hint")
        top.addWidget(heading, 1)
        self.refresh_button = set_accessible(
            QPushButton("&Refresh"), "Refresh", "Read the history folder again (F5)"
        )
        self.refresh_button.clicked.connect(self.refresh)
        top.addWidget(self.refresh_button)
        outer.addLayout(top)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Refresh), self, self.refresh)

        self.empty_label = QLabel()
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # Focusable, so keyboard and screen reader users reach the message with Tab.
        self.empty_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.empty_label.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        set_accessible(self.empty_label, "No runs")
        self.empty_label.hide()
        outer.addWidget(self.empty_label, 1)

        self.runs_view = QTreeWidget()
        self.runs_view.setColumnCount(len(RUN_COLUMNS))
        self.runs_view.setHeaderLabels(list(RUN_COLUMNS))
        self.runs_view.setRootIsDecorated(False)
        self.runs_view.setUniformRowHeights(True)
        self.runs_view.setAllColumnsShowFocus(True)
        self.runs_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        set_accessible(self.runs_view, "Runs", "Past runs, newest first: start time, outcome, steps and task")
        self.runs_view.currentItemChanged.connect(self._on_run_changed)

        self.run_summary = QLabel("Select a run to see its steps.")
        self.run_summary.setWordWrap(True)
        self.run_summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.run_summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.steps_view = QListWidget()
        self.steps_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.steps_view.setWordWrap(True)
        self.steps_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        set_accessible(
            self.steps_view,
            "Steps",
            "The selected run's steps: each action and what became of it, errors, thoughts and timings",
        )
        self.steps_view.currentRowChanged.connect(self._on_step_changed)
        steps_pane = _column(self.run_summary, self.steps_view)

        self.screenshot_label = ScaledImage()
        set_accessible(self.screenshot_label, "Screenshot", "The screen the model saw at the selected step")
        self.screenshot_label.set_message("Select a step to see its screenshot.")
        self.raw_text = QPlainTextEdit()
        self.raw_text.setReadOnly(True)
        self.raw_text.setTabChangesFocus(True)  # read-only, but Tab would still be swallowed
        self.raw_text.setPlaceholderText("Select a step to see the model's answer.")
        set_accessible(self.raw_text, "Model's answer", "The selected step's raw model text, read-only")
        answer_label = QLabel("Model's &answer")
        answer_label.setBuddy(self.raw_text)
        details = QSplitter(Qt.Orientation.Vertical)
        details.addWidget(self.screenshot_label)
        details.addWidget(_column(answer_label, self.raw_text))
        details.setStretchFactor(0, 3)
        details.setStretchFactor(1, 2)

        self._splitter = QSplitter(Qt.Orientation.Horizontal)
        self._splitter.addWidget(self.runs_view)
        self._splitter.addWidget(steps_pane)
        self._splitter.addWidget(details)
        self._splitter.setSizes([420, 400, 460])
        outer.addWidget(self._splitter, 1)

        for first, second in (
            (self.refresh_button, self.empty_label),
            (self.empty_label, self.runs_view),  # only one of the two is ever shown
            (self.runs_view, self.steps_view),
            (self.steps_view, self.raw_text),
        ):
            QWidget.setTabOrder(first, second)

    # --- showing ----------------------------------------------------------------------------

    def _show_empty(self, text: str, *, error: bool) -> None:
        self._run = None
        self._steps = []
        self.steps_view.clear()
        self._splitter.hide()
        self.empty_label.setText(text)
        set_role(self.empty_label, "error" if error else "empty")
        set_accessible(self.empty_label, "Problem" if error else "No runs", text)
        self.empty_label.show()

    def _on_run_changed(self, current: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        self._steps = []
        self.steps_view.clear()
        self._clear_step()
        if current is None:
            self._run = None
            self.run_summary.setText("Select a run to see its steps.")
            return
        run_id = str(current.data(0, _RUN_ID_ROLE))
        try:
            info, steps = load_run(self._root, run_id)
        except ConfigError as err:
            self._run = None
            self.run_summary.setText(f"Cannot read this run: {err}")
            return
        self._run = info
        self._steps = steps
        self.run_summary.setText(_summary(info))
        for step in steps:
            self.steps_view.addItem(_step_item(step, self.steps_view.font()))
        if not steps:
            self.steps_view.addItem(_placeholder_item("This run recorded no steps."))

    def _on_step_changed(self, row: int) -> None:
        if self._run is None or not 0 <= row < len(self._steps):
            self._clear_step()
            return
        step = self._steps[row]
        self.raw_text.setPlainText(step.raw_text)
        if not step.raw_text:
            self.raw_text.setPlaceholderText("The model wrote nothing at this step.")
        self._show_screenshot(step)

    def _show_screenshot(self, step: StepRecord) -> None:
        name = step.screenshot
        if not name:
            self.screenshot_label.set_message(f"No screenshot was kept for step {step.number}.")
            self.screenshot_label.setAccessibleDescription("No screenshot for this step")
            return
        # A recorded name is a bare file name; anything with a folder in it is not ours to open.
        if Path(name).name != name or self._run is None:
            self.screenshot_label.set_message(f"Step {step.number} names an unusable screenshot file.")
            return
        pixmap = QPixmap(str(self._root / self._run.id / name))
        if pixmap.isNull():
            self.screenshot_label.set_message(f"The screenshot {name} is missing or unreadable.")
            self.screenshot_label.setAccessibleDescription(f"The screenshot {name} cannot be shown")
            return
        self.screenshot_label.set_picture(pixmap)
        self.screenshot_label.setAccessibleDescription(
            f"The screen the model saw at step {step.number}, {pixmap.width()} by {pixmap.height()} pixels"
        )

    def _clear_step(self) -> None:
        self.raw_text.clear()
        self.raw_text.setPlaceholderText("Select a step to see the model's answer.")
        self.screenshot_label.set_message("Select a step to see its screenshot.")
        self.screenshot_label.setAccessibleDescription("The screen the model saw at the selected step")


def _column(*widgets: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget, 1 if isinstance(widget, QListWidget | QPlainTextEdit) else 0)
    return box


def outcome_words(outcome: str) -> str:
    return _OUTCOME_WORDS.get(outcome, outcome)


def _run_item(info: RunInfo) -> QTreeWidgetItem:
    item = QTreeWidgetItem(
        [
            local_time(info.started_at) or "unknown",
            outcome_words(info.outcome),
            str(info.steps),
            clip(info.task, 120) or "(no task)",
            info.id,
        ]
    )
    item.setData(0, _RUN_ID_ROLE, info.id)
    item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    item.setToolTip(3, clip(info.task, 500))
    return item


def _summary(info: RunInfo) -> str:
    lines = [f"Task: {clip(info.task, 300) or '(no task)'}"]
    outcome = outcome_words(info.outcome)
    lines.append(f"Outcome: {outcome}" + (f" ({clip(info.detail, 300)})" if info.detail else ""))
    started = local_time(info.started_at)
    ended = local_time(info.ended_at)
    lines.append(f"Started {started or 'at an unknown time'}" + (f", ended {ended}" if ended else ""))
    lines.append(f"Backend {info.backend or '?'}, model {clip(info.model, 120) or '?'}; {info.steps} steps")
    return "\n".join(lines)


def step_has_problem(step: StepRecord) -> bool:
    """True for a step with an error, or with an action that was denied, refused or failed."""
    if step.error:
        return True
    return any(
        action.decision == "deny" or action.error or action.confirmation in ("rejected", "timed_out")
        for action in step.actions
    )


def _step_item(step: StepRecord, font: QFont) -> QListWidgetItem:
    text = "\n".join(describe_step(step))
    item = QListWidgetItem(text)
    if step_has_problem(step):
        # Colour and weight together: the problem must not be told by colour alone.
        item.setForeground(QBrush(QColor(ERROR_TEXT)))
        bold = QFont(font)
        bold.setBold(True)
        item.setFont(bold)
        item.setData(Qt.ItemDataRole.AccessibleTextRole, "Problem. " + text)
    return item


def _placeholder_item(text: str) -> QListWidgetItem:
    item = QListWidgetItem(text)
    item.setFlags(Qt.ItemFlag.NoItemFlags)
    return item

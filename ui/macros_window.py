"""The Macros window: record, play and edit a macro; its steps in words with anchor thumbnails.

Recording and playing happen in ``agent`` (``agent.api.record_macro`` and
``Session.play_macro``) on worker threads the tray app starts; this window asks for
them with signals and shows how they went. Every control is reachable by keyboard:
mnemonics (Alt+letter), Delete and Ctrl+Up/Down on the step list, Enter on a type
step to change its text, Ctrl+S to save.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSize, Qt, QThread, Signal, Slot
from PySide6.QtGui import QIcon, QKeyEvent, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agent.api import (
    ConfigError,
    Macro,
    PlaySettings,
    RecordedMacro,
    RunResult,
    Settings,
    delete_step,
    describe_macro_step,
    insert_step,
    insert_wait,
    load_macro,
    move_step,
    record_macro,
    save_macro,
    set_text,
)
from ui.style import apply_style, set_accessible, set_role
from ui.worker import deliver, end_thread

TITLE = "Deskpilot macros"
SPEEDS = {"max": None, "1x": 1.0}  # recorded pauses skipped, or kept as recorded
RECORD_HELP = "Record your mouse and keyboard into a new macro file, until the kill hotkey or Stop recording"

THUMB = QSize(64, 64)


class StepList(QListWidget):
    """The step list; Delete and Ctrl+Up/Down act on the selected step while the list has focus."""

    delete_requested = Signal()
    move_requested = Signal(int)
    edit_requested = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if event.key() == Qt.Key.Key_Delete:
            self.delete_requested.emit()
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.edit_requested.emit()
        elif ctrl and event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self.move_requested.emit(-1 if event.key() == Qt.Key.Key_Up else 1)
        else:
            super().keyPressEvent(event)


class StepDialog(QDialog):
    """Asks for a key chord ("ctrl+s") or text to type, as a new step; Enter accepts, Esc cancels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Insert a key or type step")
        apply_style(self)
        self.kind = set_accessible(QComboBox(), "Step kind", "Press a key chord, or type text")
        self.kind.addItem("Press keys", "key")
        self.kind.addItem("Type text", "type")
        self.value = set_accessible(
            QLineEdit(), "Keys or text", "Keys joined by +, e.g. ctrl+s or enter; or the text to type"
        )
        self.value.setPlaceholderText("ctrl+s, or the text to type")
        form = QFormLayout(self)
        kind_label = QLabel("&Kind:")
        kind_label.setBuddy(self.kind)
        value_label = QLabel("Te&xt or keys:")
        value_label.setBuddy(self.value)
        form.addRow(kind_label, self.kind)
        form.addRow(value_label, self.value)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        cancel = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        set_accessible(ok, "Insert the step", "Insert this step after the selected one (Enter)")
        set_accessible(cancel, "Cancel", "Insert nothing (Esc)")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.value.setFocus()

    def action(self) -> dict[str, Any]:
        """The step as the macro file writes it (flat form); checked by ``insert_step``."""
        text = self.value.text()
        if self.kind.currentData() == "key":
            return {"action": "key", "keys": [k.strip().lower() for k in text.split("+") if k.strip()]}
        return {"action": "type", "text": text}


class MacrosWindow(QWidget):
    """Open, record or play a macro; see its steps, edit them, save it back (0600).

    ``play_requested(path, PlaySettings)``, ``record_requested(path)`` and
    ``stop_requested()`` go to the tray app, which runs them through ``agent.api`` and
    reports back with ``set_busy``, ``show_progress`` and the ``*_finished`` slots.
    """

    play_requested = Signal(object, object)  # Path, PlaySettings
    record_requested = Signal(object)  # Path
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        apply_style(self)
        self.path: Path | None = None
        self.macro: Macro | None = None
        self.dirty = False
        self.busy = ""  # "", "playing" or "recording"
        self.dialog: QDialog | None = None  # the open Insert/Set text dialog (non-blocking)
        layout = QVBoxLayout(self)
        self.title = QLabel("No macro open")
        layout.addWidget(self.title)
        self.steps = set_accessible(
            StepList(),
            "Macro steps",
            "Each step in words; Delete removes it, Ctrl+Up and Ctrl+Down move it, "
            "Enter changes a type step's text",
        )
        self.steps.setIconSize(THUMB)
        layout.addWidget(self.steps)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        set_accessible(self.message, "Macro status", "What the last recording, replay or edit did")
        layout.addWidget(self.message)

        run_row = QHBoxLayout()
        self.record_button = set_accessible(QPushButton("&Record…"), "Record", RECORD_HELP)
        self.play_button = set_accessible(
            QPushButton("&Play"), "Play", "Replay the saved macro through the policy and confirmation"
        )
        self.speed = set_accessible(QComboBox(), "Speed", "max: skip recorded pauses; 1x: keep them")
        self.speed.addItems(list(SPEEDS))
        speed_label = QLabel("Sp&eed:")
        speed_label.setBuddy(self.speed)
        self.dry_run = set_accessible(
            QCheckBox("Dr&y run"), "Dry run", "Look for every target and record the replay, perform nothing"
        )
        for widget in (self.record_button, self.play_button, speed_label, self.speed, self.dry_run):
            run_row.addWidget(widget)
        run_row.addStretch(1)
        layout.addLayout(run_row)

        edit_row = QHBoxLayout()
        self.insert_wait_button = set_accessible(
            QPushButton("Insert &wait…"), "Insert wait", "Insert a wait after the selected step"
        )
        self.insert_step_button = set_accessible(
            QPushButton("Insert &key/type step…"),
            "Insert key or type step",
            "Insert a key chord or typed text after the selected step",
        )
        self.set_text_button = set_accessible(
            QPushButton("Se&t text…"), "Set text", "Change the text the selected type step types (Enter)"
        )
        for button in (self.insert_wait_button, self.insert_step_button, self.set_text_button):
            edit_row.addWidget(button)
        edit_row.addStretch(1)
        layout.addLayout(edit_row)

        row = QHBoxLayout()
        self.open_button = set_accessible(QPushButton("&Open…"), "Open a macro file")
        self.up_button = set_accessible(QPushButton("Move &up"), "Move the selected step up")
        self.down_button = set_accessible(QPushButton("Move &down"), "Move the selected step down")
        self.delete_button = set_accessible(QPushButton("De&lete step"), "Delete the selected step")
        self.save_button = set_accessible(QPushButton("&Save"), "Save the macro file")
        for button in (
            self.open_button,
            self.up_button,
            self.down_button,
            self.delete_button,
            self.save_button,
        ):
            row.addWidget(button)
        layout.addLayout(row)
        self.open_button.clicked.connect(self._choose)
        self.up_button.clicked.connect(lambda: self.move_selected(-1))
        self.down_button.clicked.connect(lambda: self.move_selected(1))
        self.delete_button.clicked.connect(self.delete_selected)
        self.save_button.clicked.connect(self.save)
        self.record_button.clicked.connect(self._record_clicked)
        self.play_button.clicked.connect(self._play_clicked)
        self.insert_wait_button.clicked.connect(self.ask_wait)
        self.insert_step_button.clicked.connect(self.ask_step)
        self.set_text_button.clicked.connect(self.ask_text)
        self.steps.delete_requested.connect(self.delete_selected)
        self.steps.move_requested.connect(self.move_selected)
        self.steps.edit_requested.connect(self.ask_text)
        self.steps.currentRowChanged.connect(lambda _row: self._enable())
        QShortcut(QKeySequence.StandardKey.Save, self, self.save)
        self._refresh()

    def _choose(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Open a macro", "", "Macros (*.json)")
        if name:
            self.open(Path(name))

    def open(self, path: Path) -> bool:
        try:
            self.macro = load_macro(path)
        except ConfigError as err:
            self._say(str(err), error=True)
            return False
        self.path, self.dirty = path, False
        self._refresh()
        self._say("")
        return True

    def _enable(self) -> None:
        """Controls follow what is open and what runs: nothing is edited under a replay or recording."""
        has = self.macro is not None and not self.busy
        editing = (
            self.up_button,
            self.down_button,
            self.delete_button,
            self.save_button,
            self.insert_wait_button,
            self.insert_step_button,
        )
        for button in editing:
            button.setEnabled(has)
        self.set_text_button.setEnabled(has and self._selected_type_step() is not None)
        self.play_button.setEnabled(has)
        self.open_button.setEnabled(not self.busy)
        self.record_button.setEnabled(self.busy != "playing")
        if self.busy == "recording":
            self.record_button.setText("Stop &recording")
            set_accessible(self.record_button, "Stop recording", "End the recording and save the macro")
        else:
            self.record_button.setText("&Record…")
            set_accessible(self.record_button, "Record", RECORD_HELP)

    def _refresh(self, select: int | None = None) -> None:
        self.steps.clear()
        self._enable()
        if self.macro is None or self.path is None:
            return
        mark = " (changed)" if self.dirty else ""
        self.title.setText(f"{self.path.name}: {len(self.macro.steps)} steps{mark}")
        for number, step in enumerate(self.macro.steps, start=1):
            item = QListWidgetItem(describe_macro_step(number, step).strip())
            if step.anchor is not None:
                pixmap = QPixmap()
                pixmap.loadFromData(base64.b64decode(step.anchor.crop))
                item.setIcon(QIcon(pixmap))
            self.steps.addItem(item)
        if self.macro.steps:
            self.steps.setCurrentRow(min(select if select is not None else 0, len(self.macro.steps) - 1))
        self._enable()

    def delete_selected(self) -> None:
        row = self.steps.currentRow()
        if self.macro is None or row < 0:
            return
        self.macro, self.dirty = delete_step(self.macro, row + 1), True
        self._refresh(row)

    def move_selected(self, by: int) -> None:
        row = self.steps.currentRow()
        if self.macro is None or row < 0 or not 0 <= row + by < len(self.macro.steps):
            return
        self.macro, self.dirty = move_step(self.macro, row + 1, row + 1 + by), True
        self._refresh(row + by)

    def save(self) -> None:
        if self.macro is None or self.path is None:
            return
        try:
            save_macro(self.macro, self.path)
        except ConfigError as err:
            self._say(str(err), error=True)
            return
        self.dirty = False
        self._refresh(self.steps.currentRow())
        self._say(f"saved {self.path.name}")

    # -- inserting and changing steps ----------------------------------------------------
    def _selected_type_step(self) -> int | None:
        row = self.steps.currentRow()
        if self.macro is None or not 0 <= row < len(self.macro.steps):
            return None
        return row if self.macro.steps[row].name == "type" else None

    def _insert_at(self) -> int:
        """Where a new step goes (1-based): after the selected step, else at the end."""
        if self.macro is None:
            return 1
        row = self.steps.currentRow()
        return row + 2 if 0 <= row < len(self.macro.steps) else len(self.macro.steps) + 1

    def _apply(self, edit: Callable[[Macro], Macro], select: int) -> bool:
        if self.macro is None:
            return False
        try:
            self.macro = edit(self.macro)
        except ConfigError as err:
            self._say(str(err), error=True)
            return False
        self.dirty = True
        self._refresh(select)
        self._say("")
        return True

    def insert_wait_after_selected(self, seconds: float) -> bool:
        number = self._insert_at()
        return self._apply(lambda macro: insert_wait(macro, number, seconds), number - 1)

    def insert_action_after_selected(self, action: dict[str, Any]) -> bool:
        number = self._insert_at()
        return self._apply(lambda macro: insert_step(macro, number, action), number - 1)

    def set_selected_text(self, text: str) -> bool:
        row = self._selected_type_step()
        if row is None:
            self._say("Select a type step to change its text", error=True)
            return False
        return self._apply(lambda macro: set_text(macro, row + 1, text), row)

    def _open_dialog(self, dialog: QDialog, done: Callable[[], object]) -> None:
        """Open ``dialog`` without blocking (window-modal); ``done`` runs when it is accepted."""
        if self.dialog is not None:
            self.dialog.close()
        self.dialog = dialog
        dialog.accepted.connect(done)
        dialog.finished.connect(lambda _result: self._dialog_closed(dialog))
        dialog.open()

    def _dialog_closed(self, dialog: QDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()
        # Back to the step list, on the step just changed: the keyboard carries on from there.
        self.activateWindow()
        self.steps.setFocus(Qt.FocusReason.OtherFocusReason)

    def ask_wait(self) -> None:
        if self.macro is None or self.busy:
            return
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Insert a wait")
        dialog.setInputMode(QInputDialog.InputMode.DoubleInput)
        dialog.setLabelText("&Seconds to wait (0 to 60):")
        dialog.setDoubleRange(0.0, 60.0)
        dialog.setDoubleDecimals(1)
        dialog.setDoubleValue(1.0)
        set_accessible(dialog, "Insert a wait", "How many seconds the replay waits after the selected step")
        self._open_dialog(dialog, lambda: self.insert_wait_after_selected(dialog.doubleValue()))

    def ask_step(self) -> None:
        if self.macro is None or self.busy:
            return
        dialog = StepDialog(self)
        self._open_dialog(dialog, lambda: self.insert_action_after_selected(dialog.action()))

    def ask_text(self) -> None:
        row = self._selected_type_step()
        if self.macro is None or self.busy or row is None:
            return
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Set the typed text")
        dialog.setInputMode(QInputDialog.InputMode.TextInput)
        dialog.setLabelText("&Text to type ({name} is filled from variables):")
        dialog.setTextValue(str(self.macro.steps[row].action.get("text", "")))
        set_accessible(dialog, "Set text", "The text the selected type step types")
        self._open_dialog(dialog, lambda: self.set_selected_text(dialog.textValue()))

    # -- recording and playing (the app runs them; see MacroRecordRunner) ---------------------
    def _record_clicked(self) -> None:
        if self.busy == "recording":
            self.stop_requested.emit()
            return
        name, _ = QFileDialog.getSaveFileName(self, "Record into a macro file", "", "Macros (*.json)")
        if name:
            self.record_to(Path(name) if name.endswith(".json") else Path(name + ".json"))

    def record_to(self, path: Path) -> None:
        """Ask the app to record into ``path`` (the file is written when recording ends)."""
        if self.busy:
            return
        if self.dirty:
            self._say("Save or discard the changes first: recording opens the new macro", error=True)
            return
        self.record_requested.emit(path)

    def play_settings(self) -> PlaySettings:
        return PlaySettings(speed=SPEEDS[self.speed.currentText()], dry_run=self.dry_run.isChecked())

    def _play_clicked(self) -> None:
        if self.busy == "playing":
            self.stop_requested.emit()
            return
        self.play()

    def play(self) -> None:
        """Ask the app to replay the saved file with the chosen speed and dry run."""
        if self.macro is None or self.path is None or self.busy:
            return
        if self.dirty:
            # The replay reads the file: playing unsaved edits would play something else.
            self._say("Save the changes first (Ctrl+S): Play replays the saved file", error=True)
            return
        self.play_requested.emit(self.path, self.play_settings())

    def set_busy(self, busy: str, message: str = "") -> None:
        """``"playing"``, ``"recording"`` or ``""`` (idle), with what to say about it."""
        self.busy = busy
        self.play_button.setText("Stop &playing" if busy == "playing" else "&Play")
        self._enable()
        if busy == "playing":
            self.play_button.setEnabled(True)
        if message:
            self._say(message)

    def show_progress(self, message: str) -> None:
        self._say(message)

    def play_finished(self, result: RunResult) -> None:
        self.set_busy("")
        what = "Dry run" if result.detail.startswith("checked") else "Replay"
        self._say(
            f"{what} {result.outcome.replace('_', ' ')}: {result.detail}",
            error=result.outcome not in ("success",),
        )

    def play_failed(self, message: str) -> None:
        self.set_busy("")
        self._say(f"Could not play: {message}", error=True)

    def recording_finished(self, saved: RecordedMacro) -> None:
        self.set_busy("")
        left_out = []
        if saved.injected:
            left_out.append(f"{saved.injected} events Deskpilot injected")
        if saved.own:
            left_out.append(f"{saved.own} aimed at Deskpilot's windows")
        note = f" (left out: {', '.join(left_out)})" if left_out else ""
        if not saved.written:
            self._say(f"Nothing was recorded{note}; {saved.path.name} was not written", error=True)
            return
        if self.open(saved.path):
            self._say(f"Recorded {saved.steps} steps into {saved.path.name}{note}")

    def recording_failed(self, message: str) -> None:
        self.set_busy("")
        self._say(f"Could not record: {message}", error=True)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        set_role(self.message, "error" if error else "")


class RecordWorker(QObject):
    """Runs ``agent.api.record_macro`` on a QThread until the kill hotkey or the stop token."""

    recording = Signal()  # the listeners really listen: the user may start
    finished = Signal(object)  # RecordedMacro
    failed = Signal(str)

    def __init__(
        self, settings: Settings, path: Path, stop: threading.Event, own_windows: Sequence[str]
    ) -> None:
        super().__init__()
        self._settings, self._path, self._stop, self._own = settings, path, stop, own_windows

    @Slot()
    def run(self) -> None:
        deliver(
            "recording",
            lambda: record_macro(
                self._settings,
                self._path,
                self._stop,
                on_recording=self.recording.emit,
                own_windows=self._own,
            ),
            self.finished,
            self.failed,
        )


class MacroRecordRunner(QObject):
    """One recording at a time on a worker thread; ``stop()`` ends it as the kill hotkey does."""

    started = Signal()
    recording = Signal()
    ended = Signal()

    def __init__(self, window: MacrosWindow, own_windows: Callable[[], Sequence[str]]) -> None:
        super().__init__()
        # Asked at each start: the app's windows (and so their titles) come and go.
        self.window, self._own = window, own_windows
        self._thread: QThread | None = None
        self._worker: RecordWorker | None = None
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, settings: Settings, path: Path) -> None:
        if self.running:
            return
        self._stop = threading.Event()
        thread = QThread()
        worker = RecordWorker(settings, path, self._stop, tuple(self._own()))
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.recording.connect(self._recording)
        worker.finished.connect(self._finished)
        worker.failed.connect(self._failed)
        self._thread, self._worker = thread, worker
        self.window.set_busy("recording", "Starting to record …")
        self.started.emit()
        thread.start()

    @Slot()
    def stop(self) -> None:
        self._stop.set()

    def _recording(self) -> None:
        self.window.show_progress(
            f"Recording into {self._path_name()}: stop with the kill hotkey or Stop recording"
        )
        self.recording.emit()

    def _path_name(self) -> str:
        return self._worker._path.name if self._worker is not None else ""

    def _finished(self, saved: RecordedMacro) -> None:
        self._cleanup()
        self.window.recording_finished(saved)

    def _failed(self, message: str) -> None:
        self._cleanup()
        self.window.recording_failed(message)

    def _cleanup(self) -> None:
        end_thread(self._thread, self._worker)
        self._thread = self._worker = None
        self.ended.emit()

    def shutdown(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait(10_000)

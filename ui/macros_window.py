"""The Macros window: a macro's steps in words with anchor thumbnails, moved and deleted by keyboard."""

from __future__ import annotations

import base64
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QKeyEvent, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agent.api import ConfigError, Macro, delete_step, describe_macro_step, load_macro, move_step, save_macro
from ui.style import apply_style, set_accessible, set_role

THUMB = QSize(64, 64)


class StepList(QListWidget):
    """The step list; Delete and Ctrl+Up/Down act on the selected step while the list has focus."""

    delete_requested = Signal()
    move_requested = Signal(int)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if event.key() == Qt.Key.Key_Delete:
            self.delete_requested.emit()
        elif ctrl and event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self.move_requested.emit(-1 if event.key() == Qt.Key.Key_Up else 1)
        else:
            super().keyPressEvent(event)


class MacrosWindow(QWidget):
    """Open a macro file, see its steps, move or delete them, save it back (0600)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Deskpilot macros")
        apply_style(self)
        self.path: Path | None = None
        self.macro: Macro | None = None
        self.dirty = False
        layout = QVBoxLayout(self)
        self.title = QLabel("No macro open")
        layout.addWidget(self.title)
        self.steps = set_accessible(
            StepList(), "Macro steps", "Each step in words; Delete removes it, Ctrl+Up and Ctrl+Down move it"
        )
        self.steps.setIconSize(THUMB)
        layout.addWidget(self.steps)
        self.message = QLabel("")
        layout.addWidget(self.message)
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
        self.steps.delete_requested.connect(self.delete_selected)
        self.steps.move_requested.connect(self.move_selected)
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

    def _refresh(self, select: int | None = None) -> None:
        self.steps.clear()
        has = self.macro is not None
        for button in (self.up_button, self.down_button, self.delete_button, self.save_button):
            button.setEnabled(has)
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

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        set_role(self.message, "error" if error else "")

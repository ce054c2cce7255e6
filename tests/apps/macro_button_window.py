"""A real Qt window with a Save button and a text field, for macro tests; reports input as JSON lines.

Prints {"event": "ready", "button": [x, y, w, h] (global, physical pixels)} once shown,
{"event": "click", "button": "save"|"cancel"} per button click, {"event": "press", ...}
per press on the window itself and {"event": "text", "text": ...} per Enter in the field.
Run with QT_SCALE_FACTOR=1.25 to render everything at 125%; --theme dark recolours it,
--theme restyled redraws the Save button in another style altogether (same label).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QGridLayout, QLabel, QLineEdit, QPushButton, QWidget

THEMES = {
    "light": "QWidget{background:#f0f0f0;color:#202020} QPushButton#save{background:#2a6fd6;color:white;"
    "border-radius:6px;padding:6px 18px;font-weight:bold} QPushButton#cancel{background:#d0d0d0;"
    "padding:6px 18px;border-radius:6px} QLineEdit{background:white;border:1px solid #888}",
    "dark": "QWidget{background:#202428;color:#e0e0e0} QPushButton#save{background:#d65a2a;color:#101010;"
    "border-radius:6px;padding:6px 18px;font-weight:bold} QPushButton#cancel{background:#505050;"
    "padding:6px 18px;border-radius:6px} QLineEdit{background:#303438;border:1px solid #aaa}",
    # Another look altogether, the same label: square, outlined, yellow, big serif text.
    "restyled": "QWidget{background:#f0f0f0;color:#202020} QPushButton#save{background:#f2d64b;color:#000000;"
    "border:3px solid #000000;border-radius:0px;padding:12px 34px;font-family:serif;font-size:24px;"
    "font-style:italic} QPushButton#cancel{background:#d0d0d0;padding:6px 18px;border-radius:6px} "
    "QLineEdit{background:white;border:1px solid #888}",
}


def emit(**payload: object) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    sys.stdout.flush()


class Window(QWidget):
    def __init__(self, theme: str, with_save: bool) -> None:
        super().__init__(None, Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint)
        self.setWindowTitle("deskpilot-buttons")
        self.setStyleSheet(THEMES[theme])
        grid = QGridLayout(self)
        grid.addWidget(QLabel("Customer name:"), 0, 0)
        self.edit = QLineEdit(self)
        self.edit.returnPressed.connect(self._submit)
        grid.addWidget(self.edit, 0, 1, 1, 2)
        grid.addWidget(QLabel("Invoice 2026-114, due Friday"), 1, 0, 1, 3)
        self.save: QPushButton | None = None
        if with_save:
            self.save = QPushButton("Save", self)
            self.save.setObjectName("save")
            self.save.clicked.connect(lambda: emit(event="click", button="save"))
            grid.addWidget(self.save, 2, 1)
        self.cancel = cancel = QPushButton("Cancel", self)
        cancel.setObjectName("cancel")
        cancel.clicked.connect(lambda: emit(event="click", button="cancel"))
        grid.addWidget(cancel, 2, 2)

    def _submit(self) -> None:
        emit(event="text", text=self.edit.text())
        self.edit.clear()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        pos = event.globalPosition().toPoint()
        emit(event="press", x=pos.x(), y=pos.y())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--at", default="300,200", help="top-left corner in physical pixels")
    parser.add_argument("--theme", choices=sorted(THEMES), default="light")
    parser.add_argument("--no-save", action="store_true", help="leave the Save button out")
    args = parser.parse_args()
    x, y = (int(v) for v in args.at.split(","))
    app = QApplication([])
    scale = float(os.environ.get("QT_SCALE_FACTOR", "1"))
    window = Window(args.theme, not args.no_save)
    window.resize(420, 150)
    window.move(round(x / scale), round(y / scale))
    window.show()

    def physical(widget: QWidget) -> list[int]:
        top_left = widget.mapToGlobal(widget.rect().topLeft())
        return [round(top_left.x() * scale), round(top_left.y() * scale),
                round(widget.width() * scale), round(widget.height() * scale)]

    def announce() -> None:
        emit(event="ready", window=physical(window), button=physical(window.save) if window.save else None,
             field=physical(window.edit), cancel=physical(window.cancel), wid=int(window.winId()))

    QTimer.singleShot(300, announce)
    app.exec()


if __name__ == "__main__":
    main()

"""A real X11 window for tests: shows a solid colour, reports input as JSON lines.

Run as a subprocess under Xvfb. It prints {"event": "ready", ...} once it is mapped,
then one line per mouse press (global position) and per Enter in its line edit, so
a test can wait on what a real application received instead of sleeping.
"""

from __future__ import annotations

import argparse
import json
import sys

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPalette
from PySide6.QtWidgets import QApplication, QLineEdit, QVBoxLayout, QWidget


def emit(**payload: object) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    sys.stdout.flush()


class ProbeWindow(QWidget):
    def __init__(self, colour: str, with_edit: bool) -> None:
        super().__init__(
            None, Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint
        )
        self.setWindowTitle("deskpilot-probe")
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor(colour))
        self.setPalette(palette)
        self.setAutoFillBackground(True)
        self.edit: QLineEdit | None = None
        if with_edit:
            layout = QVBoxLayout(self)
            self.edit = QLineEdit(self)
            self.edit.setObjectName("probe-edit")
            self.edit.returnPressed.connect(self._submit)
            layout.addWidget(self.edit)

    def _submit(self) -> None:
        assert self.edit is not None
        emit(event="text", text=self.edit.text())
        self.edit.clear()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        emit(event="key", key=event.key(), text=event.text(), modifiers=int(event.modifiers().value))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        pos = event.globalPosition().toPoint()
        emit(
            event="press",
            button=event.button().name.decode()
            if isinstance(event.button().name, bytes)
            else str(event.button().name),
            x=pos.x(),
            y=pos.y(),
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--geometry", default="200x150+100+100")
    parser.add_argument("--colour", default="#ff0000")
    parser.add_argument("--edit", action="store_true")
    args = parser.parse_args()
    size, _, rest = args.geometry.partition("+")
    width, height = (int(v) for v in size.split("x"))
    left, top = (int(v) for v in rest.split("+"))

    app = QApplication([])
    window = ProbeWindow(args.colour, args.edit)
    window.setGeometry(left, top, width, height)
    window.show()
    if window.edit is not None:
        window.edit.setFocus()

    def announce() -> None:
        geo = window.geometry()
        emit(event="ready", x=geo.x(), y=geo.y(), width=geo.width(), height=geo.height())

    # After the first event-loop turn the window is mapped and painted.
    QTimer.singleShot(200, announce)
    app.exec()


if __name__ == "__main__":
    main()

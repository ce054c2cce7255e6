"""A real X11 window with labelled push buttons for click-by-name tests; reports clicks as JSON lines.

``--button LABEL`` (repeatable) adds a button; buttons are laid out in a grid of
``--columns`` so reading order is known. It prints {"event": "ready", ...} with every
button's global centre once mapped, then {"event": "clicked", "index": i, "label": ...}
per click (and per double or right click, with "kind"), so a test waits on what the
application received. The last button is a "Sync" button a test clicks itself:
X delivers input in order, so once its click arrives every earlier click has too.
"""

from __future__ import annotations

import argparse
import json
import sys

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QMouseEvent
from PySide6.QtWidgets import QApplication, QGridLayout, QPushButton, QWidget


def emit(**payload: object) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    sys.stdout.flush()


class Button(QPushButton):
    def __init__(self, index: int, label: str, parent: QWidget) -> None:
        super().__init__(label, parent)
        self.index = index
        self.clicked.connect(lambda: emit(event="clicked", index=index, label=label, kind="left"))

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        emit(event="clicked", index=self.index, label=self.text(), kind="double")
        super().mouseDoubleClickEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if event.button() == Qt.MouseButton.RightButton:
            emit(event="clicked", index=self.index, label=self.text(), kind="right")
        super().mousePressEvent(event)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--geometry", default="800x300+100+100")
    parser.add_argument("--button", action="append", default=[])
    parser.add_argument("--columns", type=int, default=3)
    args = parser.parse_args()
    size, _, rest = args.geometry.partition("+")
    width, height = (int(v) for v in size.split("x"))
    left, top = (int(v) for v in rest.split("+"))

    app = QApplication([])
    window = QWidget(None, Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint)
    window.setWindowTitle("deskpilot-buttons")
    layout = QGridLayout(window)
    font = QFont("Noto Sans CJK SC", 16)
    buttons: list[Button] = []
    for index, label in enumerate([*args.button, "Sync"]):
        button = Button(index, label, window)
        button.setFont(font)
        button.setMinimumHeight(50)
        layout.addWidget(button, index // args.columns, index % args.columns)
        buttons.append(button)
    window.setGeometry(left, top, width, height)
    window.show()

    def announce() -> None:
        centres = []
        for button in buttons:
            point = button.mapToGlobal(button.rect().center())
            centres.append({"label": button.text(), "x": point.x(), "y": point.y()})
        emit(event="ready", buttons=centres)

    QTimer.singleShot(300, announce)
    app.exec()


if __name__ == "__main__":
    main()

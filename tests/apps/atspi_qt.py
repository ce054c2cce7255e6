"""A Qt window of named buttons (two called "Delete") that prints "CLICK <name>" for each click.

Run with the project's interpreter (PySide6) and QT_LINUX_ACCESSIBILITY_ALWAYS_ON=1.
Arguments: the window title, then X and Y.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QGridLayout, QLabel, QPushButton, QWidget


def say(line: str) -> None:
    sys.stdout.write(line + "\n")  # the test reads what was clicked from stdout
    sys.stdout.flush()


def main() -> None:
    title = sys.argv[1] if len(sys.argv) > 1 else "Deskpilot Qt"
    x, y = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (100, 80)
    app = QApplication(["deskpilot-qt-test"])
    window = QWidget()
    window.setWindowTitle(title)
    grid = QGridLayout(window)
    grid.addWidget(QLabel("Invoice settings"), 0, 0, 1, 3)
    status = QLabel("Status: ready")
    clicks = [0]

    def clicked(name: str, index: int) -> None:
        # The status line counts clicks: a handler's work the tree can show (confirms a press).
        clicks[0] += 1
        status.setText(f"Status: {clicks[0]} clicks")
        say(f"CLICK {name} {index}")

    for i, name in enumerate(["Save", "Open", "Delete", "Delete", "Export report", "Help"]):
        button = QPushButton(name)
        button.clicked.connect(lambda _checked=False, n=name, k=i: clicked(n, k))
        grid.addWidget(button, 1 + i // 3, i % 3)
    grid.addWidget(status, 3, 0, 1, 3)
    window.resize(520, 240)
    window.move(x, y)
    window.show()
    QTimer.singleShot(500, lambda: say("ready"))
    app.exec()


if __name__ == "__main__":
    main()

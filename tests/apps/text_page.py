"""A real X11 window showing known lines of text (English and Chinese), for OCR tests.

Run as a subprocess under Xvfb: ``--geometry WxH+X+Y`` places it, each ``--line`` is
one line (the default page when none is given). It prints {"event": "ready", ...}
with its geometry once it is mapped and painted.
"""

from __future__ import annotations

import argparse
import json
import sys

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

PAGE = (
    "Quarterly report for the garden club",
    "Meeting moved to Thursday at seven",
    "Bring your own gloves and seeds",
    "Contact Maria for the key",
    "Total members this year: 42",
    "打开浏览器查看天气",
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--geometry", default="900x600+100+100")
    parser.add_argument("--line", action="append", default=None)
    parser.add_argument("--point-size", type=int, default=20)
    args = parser.parse_args()
    size, _, rest = args.geometry.partition("+")
    width, height = (int(v) for v in size.split("x"))
    left, top = (int(v) for v in rest.split("+"))

    app = QApplication([])
    window = QWidget(None, Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint)
    window.setWindowTitle("deskpilot-text-page")
    palette = window.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.WindowText, QColor("#000000"))
    window.setPalette(palette)
    window.setAutoFillBackground(True)
    layout = QVBoxLayout(window)
    font = QFont("Noto Sans CJK SC", args.point_size)
    for text in args.line or PAGE:
        label = QLabel(text, window)
        label.setFont(font)
        layout.addWidget(label)
    window.setGeometry(left, top, width, height)
    window.show()

    def announce() -> None:
        geo = window.geometry()
        sys.stdout.write(
            json.dumps({"event": "ready", "x": geo.x(), "y": geo.y(), "width": geo.width(), "height": geo.height()})
            + "\n"
        )
        sys.stdout.flush()

    QTimer.singleShot(300, announce)
    app.exec()


if __name__ == "__main__":
    main()

"""A real X11 window for settle tests: changes colour every ~30 ms for a while, then holds still.

Run as a subprocess under Xvfb. It prints {"event": "ready"} once mapped (the animation
starts then), and {"event": "animation_done", "t": ...} right after its last colour
change was painted; ``t`` is ``time.monotonic()``, which is system-wide on Linux, so a
test can compare it with its own clock.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QWidget


def emit(**payload: object) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


class AnimatedWindow(QWidget):
    def __init__(self, duration_s: float, interval_ms: int) -> None:
        super().__init__(None, Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint)
        self.setWindowTitle("deskpilot-animated")
        self.setAutoFillBackground(True)
        self._duration_s = duration_s
        self._frame = 0
        self._started = 0.0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._paint_frame()

    def start(self) -> None:
        self._started = time.monotonic()
        self._timer.start()

    def _paint_frame(self) -> None:
        # Alternate dark and light so every step changes the grey level, not just the hue.
        palette = self.palette()
        value = 70 if self._frame % 2 else 230
        palette.setColor(QPalette.ColorRole.Window, QColor.fromHsv((self._frame * 47) % 360, 200, value))
        self.setPalette(palette)
        self.repaint()  # paint now, not on the next event-loop turn, so "t" follows the change

    def _tick(self) -> None:
        self._frame += 1
        self._paint_frame()
        if time.monotonic() - self._started >= self._duration_s:
            self._timer.stop()
            QApplication.sync()  # the last frame has reached the X server
            emit(event="animation_done", t=time.monotonic(), frames=self._frame)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--geometry", default="400x300+300+200")
    parser.add_argument("--duration", type=float, default=1.0)
    parser.add_argument("--interval-ms", type=int, default=30)
    args = parser.parse_args()
    size, _, rest = args.geometry.partition("+")
    width, height = (int(v) for v in size.split("x"))
    left, top = (int(v) for v in rest.split("+"))

    app = QApplication([])
    window = AnimatedWindow(args.duration, args.interval_ms)
    window.setGeometry(left, top, width, height)
    window.show()

    def announce() -> None:
        emit(event="ready")
        window.start()

    # After the first event-loop turns the window is mapped and painted.
    QTimer.singleShot(200, announce)
    app.exec()


if __name__ == "__main__":
    main()

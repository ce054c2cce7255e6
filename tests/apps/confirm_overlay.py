"""The real confirmation overlay in a process of its own, for tests on another X display.

Run as a subprocess with DISPLAY set to the display under test (a Qt application opens
one display for its lifetime, so the test process cannot show it on a second one). It
asks once to approve a click at --point over --monitor and prints JSON lines:
{"event": "ready", "window": X id, "x", "y", "width", "height", "screens": [...]} once
the overlay is up (mapped, keyboard grabbed, armed), and {"event": "decided", ...}
when it is answered or times out; then it exits.
"""

from __future__ import annotations

import argparse
import json
import sys

from PySide6.QtWidgets import QApplication

from agent.actions import LeftClick, ScreenAction
from agent.geometry import parse_region
from ui.overlay import ConfirmOverlay, ConfirmRequest


def emit(**payload: object) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--monitor", required=True, help="WxH+X+Y, virtual-desktop pixels")
    parser.add_argument("--point", required=True, help="X,Y of the click, virtual-desktop pixels")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--fullscreen", action="store_true", help="the Wayland placement: fullscreen on the monitor")
    args = parser.parse_args()
    x, y = (int(v) for v in args.point.split(","))

    app = QApplication([])
    overlay = ConfirmOverlay(fullscreen=args.fullscreen)
    click = ScreenAction(action=LeftClick(coordinate=(0.5, 0.5)), x=x, y=y)
    request = ConfirmRequest.from_action(click, "a test asks", parse_region(args.monitor), args.timeout)

    def ready() -> None:
        geo = overlay.geometry()
        screens = [[s.geometry().x(), s.geometry().y(), s.geometry().width(), s.geometry().height()]
                   for s in QApplication.screens()]
        emit(event="ready", window=int(overlay.winId()), platform=QApplication.platformName(), x=geo.x(), y=geo.y(),
             width=geo.width(), height=geo.height(), screens=screens)

    def decided(outcome: str, note: str) -> None:
        emit(event="decided", outcome=outcome, note=note)
        app.quit()

    overlay.ready.connect(ready)
    overlay.decided.connect(decided)
    overlay.ask(request)
    app.exec()


if __name__ == "__main__":
    main()

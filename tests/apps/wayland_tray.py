"""The tray app (its fallback window) in a process of its own, for tests inside a Wayland session.

Starts ``DeskpilotApp`` with the small window (no tray host in a headless session),
runs TASK from the command window and prints JSON lines: {"event": "window", ...} once
the window is shown, {"event": "overlay", ...} each time the confirmation overlay is
ready (shown, armed), {"event": "finished", "outcome": ..., "steps": [...]} when the run
ends; then it exits. With --stop it presses the command window's Stop button once the
run is waiting, in code; with --stop-by-pointer it prints {"event": "waiting", "stop":
[x, y]} instead (the button's centre in the command window's own coordinates) and
leaves the press to the desktop's pointer.
"""

from __future__ import annotations

import argparse
import json
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from ui.app import DeskpilotApp


def emit(**payload: object) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("task")
    parser.add_argument("--stop", action="store_true")
    parser.add_argument("--stop-by-pointer", action="store_true")
    args = parser.parse_args()
    app = QApplication(["deskpilot"])
    app.setQuitOnLastWindowClosed(False)
    desk = DeskpilotApp(app, force_window=True)
    window = desk.window
    assert window is not None  # noqa: S101 - force_window makes one
    emit(event="window", visible=window.isVisible(), platform=QApplication.platformName())

    def overlay_ready() -> None:
        geo = desk.overlay.geometry()
        emit(event="overlay", fullscreen=desk.overlay.isFullScreen(), visible=desk.overlay.isVisible(),
             geometry=[geo.x(), geo.y(), geo.width(), geo.height()])

    desk.overlay.ready.connect(overlay_ready)
    stopped: list[bool] = []

    def poll() -> None:
        status = desk.command.status.text()
        if (args.stop or args.stop_by_pointer) and not stopped and "Wait" in status:
            stopped.append(True)
            if args.stop:
                desk.command.stop_button.click()
            else:
                button = desk.command.stop_button
                centre = button.mapTo(desk.command, button.rect().center())
                emit(event="waiting", stop=[centre.x(), centre.y()], enabled=button.isEnabled())
        if not desk.controller.running and desk.controller.last_result is not None:
            steps = [desk.command.steps.item(i).text() for i in range(desk.command.steps.count())]
            emit(event="finished", outcome=desk.controller.last_result.outcome, steps=steps, status=status)
            desk.close()
            app.quit()

    timer = QTimer(interval=50)
    timer.timeout.connect(poll)
    timer.start()
    desk.open_command()
    desk.command.task.setEditText(args.task)
    desk.command.run_button.click()
    app.exec()


if __name__ == "__main__":
    main()

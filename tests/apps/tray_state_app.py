"""The tray's fallback window alone, its state set from stdin ("thinking starting"), for the AT-SPI test.

Prints "ready" once shown, and "state <name>" after each change it made.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QSocketNotifier, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def main() -> None:
    from ui.tray import FallbackWindow, Menu

    app = QApplication(["deskpilot-tray-a11y"])
    window = FallbackWindow(Menu(), "No system tray was found, so Deskpilot shows this window.")
    window.show()

    def line() -> None:
        text = sys.stdin.readline()
        if not text:
            app.quit()
            return
        state, _, detail = text.strip().partition(" ")
        window.set_state(state.replace("_", " "), detail)
        sys.stdout.write(f"state {state}\n")
        sys.stdout.flush()

    notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(line)
    QTimer.singleShot(500, lambda: (sys.stdout.write("ready\n"), sys.stdout.flush()))
    app.exec()


if __name__ == "__main__":
    main()

"""The tray app's command window alone, for the AT-SPI test; prints {"event": "ready"} once shown."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def main() -> None:
    from ui.command_window import CommandWindow
    from ui.style import apply_style

    app = QApplication(["deskpilot-a11y"])
    window = CommandWindow()
    apply_style(window)
    window.show()
    QTimer.singleShot(500, lambda: (sys.stdout.write(json.dumps({"event": "ready"}) + "\n"), sys.stdout.flush()))
    app.exec()


if __name__ == "__main__":
    main()

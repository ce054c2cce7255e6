"""Drives the tray app through Settings (Save or Cancel), then Run to the end, N times (issue 19)."""

from __future__ import annotations

import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.support import DONE, call


def write_config(folder: Path) -> None:
    """A fresh two-step script every run: the scripted backend consumes its replies."""
    script = folder / "script.jsonl"
    replies = [call('{"action": "wait", "time": 0.05}'), DONE]
    script.write_text("".join(json.dumps({"reply": r}) + "\n" for r in replies), encoding="utf-8")
    (folder / "config.toml").write_text(
        f'backend = "script"\nscript = "{script}"\nhistory_dir = "{folder / "history"}"\nconfirm = "never"\n',
        encoding="utf-8",
    )


def wait_until(condition: object, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        QTest.qWait(20)


def main() -> int:
    cycles = int(sys.argv[1])
    folder = Path(tempfile.mkdtemp(prefix="deskpilot-tray-cycles-"))
    os.environ["DESKPILOT_CONFIG"] = str(folder / "config.toml")
    # The crash needed the cyclic collector to free a closed dialog during a run, on the
    # run's thread; collecting often makes that happen in the first cycles, not by chance.
    gc.set_threshold(50)
    app = QApplication(["deskpilot"])
    from ui.app import DeskpilotApp

    desk = DeskpilotApp(app, force_window=True)
    for cycle in range(cycles):
        write_config(folder)
        desk.open_settings()
        dialog = desk.settings_dialog
        wait_until(dialog.isVisible)
        (dialog.save_button if cycle % 2 else dialog.cancel_button).click()
        write_config(folder)
        desk.controller.last_result = None
        desk.open_command()
        desk.command.task.setEditText("wait a moment")
        desk.command.run_button.click()
        wait_until(lambda: not desk.controller.running and desk.controller.last_result is not None)
        outcome = desk.controller.last_result.outcome
        print(f"cycle {cycle}: {outcome}", flush=True)  # noqa: T201
    desk.close()
    print(f"survived {cycles} cycles", flush=True)  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())

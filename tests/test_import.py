"""``import agent`` works headless and pulls in none of the display or model libraries."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.process  # each test imports agent in a fresh interpreter

HEAVY = ["pyautogui", "mss", "pynput", "torch", "transformers", "PySide6", "Xlib"]


def test_import_agent_without_display_loads_no_heavy_module() -> None:
    code = (
        "import json, sys\n"
        "import agent, agent.actions, agent.computer_use.parsing, agent.scaling, agent.computers, agent.cli\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_desktop_computer_without_display_is_a_clear_error() -> None:
    code = (
        "from agent.computers.x11.desktop import DesktopComputer\n"
        "from agent.errors import DisplayError\n"
        "try:\n    DesktopComputer()\nexcept DisplayError as e:\n    print(e)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "no display" in result.stdout

"""The accessibility modules load no OCR, speech or display library until a command needs one."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.process  # each test imports agent in a fresh interpreter

HEAVY = ["rapidocr", "onnxruntime", "cv2", "pyttsx3", "pyautogui", "mss", "pynput", "torch", "PySide6", "Xlib"]


def test_importing_the_access_package_loads_no_heavy_module() -> None:
    code = (
        "import json, sys\n"
        "import agent, agent.cli, agent.ports, agent.cli.access, agent.access.ocr, agent.access.speech\n"
        "import agent.access.reading, agent.access.matching, agent.access.layout, agent.access.targets\n"
        "agent.cli.build_parser()\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []

"""A model's click 25 px off a real GTK3 button: snapped onto it when described as it, left alone otherwise.

The model is a script of replies run through the real loop (``deskpilot run
--script``); the GTK app's own callback says what was really clicked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.records.history import load_run
from tests.a11y_session import AccessibilitySession, App, focus
from tests.support import DONE, call, model_point, write_script

pytestmark = pytest.mark.process

TITLE = "Deskpilot snapping"
OFF_PX = 25  # above the button's centre: the heading's row, where a click does nothing

_BOX = """
import json, sys
from agent.api import open_accessible_tree
tree = open_accessible_tree()
[save] = tree.find(("push button",), sys.argv[1])
print(json.dumps([save.box.left, save.box.top, save.box.width, save.box.height]))
"""


@pytest.fixture(scope="module")
def gtk(session: AccessibilitySession) -> App:
    return session.gtk3(TITLE)


def _centre(session: AccessibilitySession, name: str) -> tuple[int, int]:
    found = subprocess.run(
        [sys.executable, "-c", _BOX, name], env=session.env, capture_output=True, text=True, timeout=60
    )
    assert found.returncode == 0, found.stderr
    left, top, width, height = json.loads(found.stdout)
    return (left + width // 2, top + height // 2)


def _run(session: AccessibilitySession, tmp_path: Path, description: str, point: tuple[int, int]) -> dict:
    reply = call(
        f'{{"action": "left_click", "coordinate": {model_point(*point)}, "element_description": "{description}"}}'
    )
    script = write_script(tmp_path / "replies.jsonl", [reply, DONE])
    history = tmp_path / "history"
    result = subprocess.run(
        [sys.executable, "-m", "agent", "run", "click it", "--script", str(script), "--confirm", "never",
         "--history-dir", str(history)],
        env=session.env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    _info, steps = load_run(history, "latest")
    snap = steps[0].actions[0].snap
    assert snap is not None
    return snap


def test_a_click_25_px_off_described_as_the_button_is_snapped_onto_it(
    session: AccessibilitySession, gtk: App, tmp_path: Path
) -> None:
    focus(TITLE)
    x, y = _centre(session, "Save")
    gtk.said(0.1)
    snap = _run(session, tmp_path, "Save button", (x, y - OFF_PX))
    assert gtk.expect("CLICK", timeout=10) == "CLICK Save 0"
    assert snap["snapped"] is True and snap["element"] == {"role": "push button", "name": "Save"}
    assert snap["to"] == [x, y]


def test_the_same_click_described_as_another_button_is_not_snapped(
    session: AccessibilitySession, gtk: App, tmp_path: Path
) -> None:
    focus(TITLE)
    x, y = _centre(session, "Save")
    gtk.said(0.1)
    snap = _run(session, tmp_path, "Open button", (x, y - OFF_PX))
    assert snap["snapped"] is False and "named like 'Open button'" in snap["reason"]
    assert gtk.said(0.5) == []  # the click landed where the model put it: on no button

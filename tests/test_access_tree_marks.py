"""--marks end to end: a real GTK3 window's buttons numbered from AT-SPI, the model answers 'click element N'.

The model is a loopback OpenAI-compatible server that reads the numbered list in the
prompt it is sent, as a model would, and answers with the number listed for the
button; ``deskpilot run --marks`` runs the real loop against it, and the GTK app's
own callback says what was really clicked.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from agent.records.history import load_run
from agent.testing.chat_server import CannedChatServer, request_images, request_text, serving
from tests.a11y_session import AccessibilitySession, App, focus
from tests.support import DONE, call

pytestmark = pytest.mark.process

TITLE = "Deskpilot marks"
BUTTON = "Export report"

_BOX = """
import json, sys
from agent.api import open_accessible_tree
[button] = open_accessible_tree().find(("push button",), sys.argv[1])
print(json.dumps([button.box.left, button.box.top, button.box.width, button.box.height]))
"""


@pytest.fixture(scope="module")
def gtk(session: AccessibilitySession) -> App:
    return session.gtk3(TITLE)


def _box(session: AccessibilitySession, name: str) -> tuple[int, int, int, int]:
    found = subprocess.run(
        [sys.executable, "-c", _BOX, name], env=session.env, capture_output=True, text=True, timeout=60
    )
    assert found.returncode == 0, found.stderr
    left, top, width, height = json.loads(found.stdout)
    return (left, top, width, height)


def _reddish(pixel: tuple[int, int, int]) -> bool:
    """The marks' red after the request's JPEG: red well above green and blue."""
    r, g, b = pixel[:3]
    return r > 120 and r - max(g, b) > 60


def _run(session: AccessibilitySession, tmp_path: Path, answer: Any) -> tuple[CannedChatServer, Any]:
    history = tmp_path / "history"
    with serving(CannedChatServer(answer)) as server:
        result = subprocess.run(
            [sys.executable, "-m", "agent", "run", f"click {BUTTON}", "--marks", "--backend", "openai",
             "--base-url", server.url, "--model", "canned", "--confirm", "never", "--max-steps", "2",
             "--history-dir", str(history)],
            env=session.env, capture_output=True, text=True, timeout=120,
        )
    assert result.returncode == 0, result.stderr
    info, steps = load_run(history, "latest")
    return server, (history / info.id, steps)


def _listed(body: dict[str, Any], role: str, name: str) -> int:
    """The number the prompt's list gives the element, read the way a model reads it."""
    match = re.search(rf"^(\d+): {role} '{re.escape(name)}'$", request_text(body), re.M)
    assert match is not None, request_text(body)
    return int(match.group(1))


def test_the_model_clicks_a_button_by_its_number_and_the_button_is_clicked(
    session: AccessibilitySession, gtk: App, tmp_path: Path
) -> None:
    focus(TITLE)
    gtk.said(0.1)
    numbers: list[int] = []

    def answer(body: dict[str, Any]) -> str:
        if numbers:
            return DONE
        numbers.append(_listed(body, "push button", BUTTON))
        return call(f'{{"action": "left_click", "element": {numbers[0]}}}')

    server, (run_dir, steps) = _run(session, tmp_path, answer)
    assert gtk.expect("CLICK", timeout=10) == "CLICK Export report 4"
    action = steps[0].actions[0]
    assert action.performed and action.screen["element_words"] == f"element {numbers[0]} (push button '{BUTTON}')"
    left, top, width, height = _box(session, BUTTON)
    assert (action.screen["x"], action.screen["y"]) == (left + width // 2, top + height // 2)
    # The screenshot the model saw has the button boxed in the marks' colour; the saved one is clean.
    [image] = request_images(server.requests[0])
    edge = [(left, top + dy) for dy in range(2, height - 2)]
    assert all(_reddish(image.getpixel(p)) for p in edge)
    with Image.open(run_dir / steps[0].screenshot) as saved:
        assert not any(_reddish(saved.convert("RGB").getpixel(p)) for p in edge)
    listed = {m["name"] for m in steps[0].marks or []}
    assert {"Save", "Open", "Delete", "Export report", "Help"} <= listed


def test_an_unknown_number_clicks_nothing_and_the_model_is_told(
    session: AccessibilitySession, gtk: App, tmp_path: Path
) -> None:
    focus(TITLE)
    gtk.said(0.1)
    replies = [call('{"action": "left_click", "element": 99}'), DONE]

    server, (_run_dir, steps) = _run(session, tmp_path, lambda _body: replies.pop(0))
    assert gtk.said(0.5) == []
    action = steps[0].actions[0]
    assert (action.decision, action.performed) == ("deny", False)
    assert "element 99 is not on the list" in action.reason
    assert "element 99 is not on the list" in request_text(server.requests[1])


def test_without_a_tree_marks_are_said_to_need_one_once_and_the_run_goes_on_with_pixels(
    x_display: str, tmp_path: Path
) -> None:
    import os

    from agent.computer_use.marks import NO_TREE
    from tests.support import model_point, write_script

    env = {k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "AT_SPI_BUS_ADDRESS")}
    env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={tmp_path / 'no-bus'}"  # nothing listens: no tree
    wait = call('{"action": "wait", "time": 0.01}')
    script = write_script(tmp_path / "replies.jsonl", [wait, call(
        f'{{"action": "mouse_move", "coordinate": {model_point(5, 5)}}}'), DONE])
    history = tmp_path / "history"
    result = subprocess.run(
        [sys.executable, "-m", "agent", "run", "look", "--marks", "--script", str(script), "--confirm", "never",
         "--history-dir", str(history)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count(NO_TREE) == 1
    _info, steps = load_run(history, "latest")
    assert [s.marks for s in steps] == [None, None, None]
    assert steps[1].actions[0].performed

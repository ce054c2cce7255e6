"""The tray's state changes reach a screen reader through the accessibility tree, not only through speech.

The fallback window runs in a private AT-SPI session; a listener (as Orca listens) sees
each state change as an announcement and as a new description on the "State" label.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from tests.a11y_session import APPS, AccessibilitySession, App

pytestmark = pytest.mark.process

EVENTS = ("object:announcement", "object:property-change:accessible-description")


def _events(listener: App, within: float) -> list[dict[str, Any]]:
    return [json.loads(line) for line in listener.said(within) if line.startswith("{")]


def test_each_state_change_is_announced_on_the_state_label(session: AccessibilitySession) -> None:
    tray = App([sys.executable, str(APPS / "tray_state_app.py")], session.env, stdin=True)
    session.apps.append(tray)
    tray.expect("ready", timeout=30)
    listener = App(["/usr/bin/python3", str(APPS / "atspi_listen.py"), *EVENTS], session.env, stdin=True)
    session.apps.append(listener)
    listener.expect("listening", timeout=30)
    for state, detail, sentence in [
        ("thinking", "starting", "Deskpilot is thinking: starting"),
        ("acting", "", "Deskpilot is acting"),
        ("waiting_for_you", "confirm the click", "Deskpilot is waiting for you: confirm the click"),
        ("paused", "", "Deskpilot is paused"),
        ("error", "the model failed", "Deskpilot stopped on an error: the model failed"),
        ("idle", "", "Deskpilot is idle"),
    ]:
        tray.send(f"{state} {detail}".strip())
        tray.expect("state", timeout=10)
        events = _events(listener, 0.5)
        announced = [e for e in events if e["type"] == "object:announcement"]
        assert [e["detail"] for e in announced] == [sentence], events
        assert announced[0]["name"] == "State" and announced[0]["role"] == "label"
        described = [e for e in events if e["type"] == "object:property-change:accessible-description"]
        assert described and described[-1]["description"] == sentence, events

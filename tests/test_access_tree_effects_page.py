"""`deskpilot click NAME --no-pointer` on a Chromium page: a press is confirmed by what the page did.

tests/apps/effects_page.html: "Count" counts its clicks in a status line (and the title),
"Inert" has no handler, "Locked" is disabled. The title tells what the page really saw.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agent.records.history import load_run
from tests.a11y_session import APPS, AccessibilitySession, App, pointer, wait_for, window_id
from tests.conftest import xdotool

pytestmark = pytest.mark.process

PARK = (1900, 1060)  # a corner the page does not cover


@pytest.fixture(scope="module")
def page(session: AccessibilitySession, tmp_path_factory: pytest.TempPathFactory) -> App:
    return session.chromium(tmp_path_factory.mktemp("chromium"), APPS / "effects_page.html")


def _title() -> str:
    wid = window_id(".* - Chromium")
    assert wid is not None
    return xdotool("getwindowname", wid).strip()


def press(session: AccessibilitySession, history: Path, name: str) -> subprocess.CompletedProcess[str]:
    wid = window_id(".* - Chromium")
    assert wid is not None
    xdotool("windowraise", wid)
    xdotool("windowfocus", "--sync", wid)
    xdotool("mousemove", *map(str, PARK))
    return session.deskpilot("click", name, "--no-pointer", "--confirm", "never", history=history)


def test_a_press_whose_handler_changes_the_page_is_confirmed(
    session: AccessibilitySession, page: App, tmp_path: Path
) -> None:
    before = _title()
    result = press(session, tmp_path, "Count")
    assert result.returncode == 0, result.stderr
    assert "(found by the accessibility tree; confirmed: " in result.stderr
    wait_for(lambda: _title() != before, 10, "the page saw no press on Count")
    assert _title().startswith("count:") and pointer() == PARK
    _info, steps = load_run(tmp_path, "latest")
    assert steps[0].actions[0].effect.startswith("event ")


def test_a_press_on_a_button_without_a_handler_is_confirmed_only_by_focus_then_fails(
    session: AccessibilitySession, page: App, tmp_path: Path
) -> None:
    before = _title()
    # Chromium's press focuses the button: the press reached it, and that is all it did.
    first = press(session, tmp_path / "first", "Inert")
    assert first.returncode == 0, first.stderr
    assert "confirmed: focus moved" in first.stderr
    # Pressed again, with the focus already there, nothing at all changes.
    again = press(session, tmp_path / "again", "Inert")
    assert again.returncode == 1, again.stderr
    assert "pressed the push button Inert" in again.stderr
    assert "but saw no effect within 1 s (found by the accessibility tree; not retried: it may have acted)" in (
        again.stderr
    )
    _info, steps = load_run(tmp_path / "again", "latest")
    assert steps[0].actions[0].effect == "none"
    assert _title() == before


def test_a_press_on_a_disabled_button_fails_and_the_page_sees_nothing(
    session: AccessibilitySession, page: App, tmp_path: Path
) -> None:
    before = _title()
    result = press(session, tmp_path, "Locked")
    # Chromium's action answers True on a disabled button and does nothing: only no effect tells.
    assert result.returncode == 1, result.stderr
    assert "but saw no effect within 1 s (found by the accessibility tree; not retried: the tree says it is disabled)" in (
        result.stderr
    )
    assert _title() == before

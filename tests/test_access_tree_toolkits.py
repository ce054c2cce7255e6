"""`click NAME` and `read` through the accessibility tree on a real GTK4 window and a real Qt window.

The same window in both toolkits: a heading, six named buttons (two called "Delete")
and a status line. Each app prints "CLICK <name> <index>" from its own click callback,
so a click that lands elsewhere, or the wrong element pressed, fails. GTK4 reports
window-relative boxes and Qt reads its labels by name only: both must still land and
read in position order.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.a11y_session import AccessibilitySession, App, focus, pointer
from tests.conftest import xdotool

pytestmark = pytest.mark.process

PARK = (1900, 1060)  # a corner no test window covers
TITLES = {"gtk4": "Deskpilot GTK4", "qt": "Deskpilot Qt"}
PLACES = {"gtk4": (100, 80), "qt": (800, 420)}  # apart: neither window covers the other


@pytest.fixture(scope="module", params=["gtk4", "qt"])
def toolkit(request: pytest.FixtureRequest, session: AccessibilitySession) -> Iterator[tuple[str, App]]:
    kind: str = request.param
    start: Callable[[str, int, int], App] = getattr(session, kind)
    app = start(TITLES[kind], *PLACES[kind])
    try:
        yield kind, app
    finally:
        app.stop()
        session.apps.remove(app)


def click(session: AccessibilitySession, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return session.deskpilot("click", *args, "--confirm", "never", history=tmp_path / "history")


def test_a_unique_name_is_clicked_at_its_element(
    session: AccessibilitySession, toolkit: tuple[str, App], tmp_path: Path
) -> None:
    kind, app = toolkit
    focus(TITLES[kind])
    app.said(0.1)
    xdotool("mousemove", *map(str, PARK))
    result = click(session, tmp_path, "Export report")
    assert result.returncode == 0, result.stderr
    assert "found by the accessibility tree" in result.stderr
    assert app.expect("CLICK", timeout=5) == "CLICK Export report 4"
    assert pointer() != PARK  # a real pointer click, at the element's box on the screen


def test_an_ambiguous_name_clicks_nothing(
    session: AccessibilitySession, toolkit: tuple[str, App], tmp_path: Path
) -> None:
    kind, app = toolkit
    focus(TITLES[kind])
    app.said(0.1)
    result = click(session, tmp_path, "Delete")
    assert result.returncode == 1
    assert "2 matches for Delete (found by the accessibility tree)" in result.stdout
    assert app.said(0.5) == []


def test_no_pointer_presses_the_element_and_leaves_the_pointer(
    session: AccessibilitySession, toolkit: tuple[str, App], tmp_path: Path
) -> None:
    kind, app = toolkit
    focus(TITLES[kind])
    app.said(0.1)
    xdotool("mousemove", *map(str, PARK))
    result = click(session, tmp_path, "Help", "--no-pointer")
    assert result.returncode == 0, result.stderr
    assert "Pressing the push button Help" in result.stderr
    assert "(found by the accessibility tree; confirmed: " in result.stderr  # the status line's event
    assert app.expect("CLICK", timeout=5) == "CLICK Help 5"  # GTK4 acts ~255 ms after the press
    assert pointer() == PARK


def test_read_returns_the_text_in_position_order(
    session: AccessibilitySession, toolkit: tuple[str, App], tmp_path: Path
) -> None:
    kind, _app = toolkit
    focus(TITLES[kind])
    result = session.deskpilot("read", "--window", "--verbose", history=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "from the accessibility tree" in result.stderr
    tag = "[tree] "
    lines = [line[len(tag):] for line in result.stdout.splitlines() if line.startswith(tag)]
    assert lines[:-1] == [
        "Invoice settings",
        "[push button: Save]", "[push button: Open]", "[push button: Delete]",
        "[push button: Delete]", "[push button: Export report]", "[push button: Help]",
    ]
    assert lines[-1].startswith("Status: ")  # "ready", or the clicks counted by the tests before

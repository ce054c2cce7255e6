"""`deskpilot click NAME` through the accessibility tree, against a real GTK3 window and a real Chromium page.

Each app reports what was really clicked (GTK's own callback on stdout; the page's
document.title), so a click that lands elsewhere, or a wrong element pressed, fails.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.a11y_session import APPS, AccessibilitySession, App, focus, pointer, wait_for, window_id
from tests.conftest import xdotool

GTK_TITLE = "Deskpilot GTK3"
PARK = (1900, 1060)  # a corner no test window covers


@pytest.fixture(scope="module")
def gtk(session: AccessibilitySession) -> App:
    return session.gtk3(GTK_TITLE)


def click(session: AccessibilitySession, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return session.deskpilot("click", *args, "--confirm", "never", history=tmp_path / "history")


def test_a_unique_name_is_clicked_at_its_element(
    session: AccessibilitySession, gtk: App, tmp_path: Path
) -> None:
    focus(GTK_TITLE)
    gtk.said(0.1)
    xdotool("mousemove", *map(str, PARK))
    result = click(session, tmp_path, "save")
    assert result.returncode == 0, result.stderr
    assert "found by the accessibility tree" in result.stderr
    assert gtk.expect("CLICK", timeout=5) == "CLICK Save 0"
    assert pointer() != PARK  # a real pointer click


def test_an_ambiguous_name_lists_the_matches_and_clicks_nothing(
    session: AccessibilitySession, gtk: App, tmp_path: Path
) -> None:
    focus(GTK_TITLE)
    gtk.said(0.1)
    result = click(session, tmp_path, "Delete")
    assert result.returncode == 1
    assert "2 matches for Delete (found by the accessibility tree)" in result.stdout
    assert "1. push button Delete" in result.stdout and "2. push button Delete" in result.stdout
    assert gtk.said(0.5) == []


def test_no_pointer_presses_the_element_and_leaves_the_pointer(
    session: AccessibilitySession, gtk: App, tmp_path: Path
) -> None:
    focus(GTK_TITLE)
    gtk.said(0.1)
    xdotool("mousemove", *map(str, PARK))
    result = click(session, tmp_path, "Export report", "--no-pointer")
    assert result.returncode == 0, result.stderr
    assert "Pressing the push button Export report" in result.stderr
    assert "(found by the accessibility tree; confirmed: " in result.stderr  # the status line's event
    assert gtk.expect("CLICK", timeout=5) == "CLICK Export report 4"
    assert pointer() == PARK


def test_a_covered_window_is_refused_and_nothing_is_clicked(
    session: AccessibilitySession, gtk: App, tmp_path: Path
) -> None:
    cover = session.gtk3("Deskpilot cover", 100, 80)  # the same place, mapped later: on top
    try:
        focus("Deskpilot cover")
        focus_only = window_id(GTK_TITLE)
        assert focus_only is not None
        xdotool("windowfocus", "--sync", focus_only)  # the keyboard goes to the covered window
        gtk.said(0.1)
        result = click(session, tmp_path, "Save")
        assert result.returncode == 1, result.stderr
        assert "covered by another window" in result.stderr
        assert gtk.said(0.5) == [] and cover.said(0.1) == []
    finally:
        cover.stop()
        session.apps.remove(cover)


@pytest.fixture(scope="module")
def page(session: AccessibilitySession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    app = session.chromium(tmp_path_factory.mktemp("chromium"), APPS / "atspi_page.html")
    yield app


def _title() -> str:
    wid = window_id(".* - Chromium")
    assert wid is not None
    return xdotool("getwindowname", wid).strip()


def test_the_page_close_button_is_clicked_not_the_tab_close(
    session: AccessibilitySession, page: App, tmp_path: Path
) -> None:
    focus("ready - Chromium")
    result = click(session, tmp_path, "Close")
    assert result.returncode == 0, result.stderr
    assert "found by the accessibility tree" in result.stderr
    wait_for(lambda: _title().startswith("clicked:"), 10, "the page saw no click")
    assert _title().startswith("clicked:b10:")  # the page's Close; the tab's would end Chromium


def test_a_link_is_pressed_without_the_pointer_on_a_page(
    session: AccessibilitySession, page: App, tmp_path: Path
) -> None:
    wid = window_id(".* - Chromium")
    assert wid is not None
    xdotool("windowraise", wid)
    xdotool("windowfocus", "--sync", wid)
    xdotool("mousemove", *map(str, PARK))
    result = click(session, tmp_path, "Pricing", "--no-pointer")
    assert result.returncode == 0, result.stderr
    wait_for(lambda: ":l2:" in _title(), 10, "the page saw no press on Pricing")
    assert pointer() == PARK


def test_an_ambiguous_page_name_clicks_nothing(
    session: AccessibilitySession, page: App, tmp_path: Path
) -> None:
    wid = window_id(".* - Chromium")
    assert wid is not None
    xdotool("windowfocus", "--sync", wid)
    before = _title()
    result = click(session, tmp_path, "Delete")
    assert result.returncode == 1
    assert "2 matches for Delete (found by the accessibility tree)" in result.stdout
    assert _title() == before

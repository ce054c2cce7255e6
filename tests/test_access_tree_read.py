"""`deskpilot read` takes the active window's text from its accessibility tree, and OCR for the rest.

A GTK3 window (Grid children come reversed in the tree: position order must fix it), a
Chromium page (page order), and an xterm, which has no tree: its text comes from OCR
in the same read.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.a11y_session import APPS, AccessibilitySession, focus, window_id, xterm

GTK_TITLE = "Deskpilot GTK3 read"


def _lines(stdout: str, source: str) -> list[str]:
    tag = f"[{source}] "
    return [line[len(tag):] for line in stdout.splitlines() if line.startswith(tag)]


def test_a_toolkit_window_reads_from_the_tree_in_position_order_and_an_xterm_by_ocr(
    session: AccessibilitySession, tmp_path: Path
) -> None:
    session.gtk3(GTK_TITLE, 100, 80)
    xterm(session, "PLAIN TERMINAL WORDS", "40x4+900+700")
    focus(GTK_TITLE)
    result = session.deskpilot("read", "--verbose", history=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "from the accessibility tree" in result.stderr
    assert _lines(result.stdout, "tree") == [
        "Invoice settings",
        "[push button: Save]", "[push button: Open]", "[push button: Delete]",
        "[push button: Delete]", "[push button: Export report]", "[push button: Help]",
        "Status: ready",
    ]
    ocr = " ".join(_lines(result.stdout, "OCR"))
    assert "PLAIN TERMINAL WORDS" in ocr.upper()
    assert "Invoice" not in ocr  # the tree's window is not read twice


def test_a_window_without_a_tree_is_read_by_ocr(session: AccessibilitySession, tmp_path: Path) -> None:
    wid = window_id("Deskpilot xterm")
    if wid is None:
        xterm(session, "PLAIN TERMINAL WORDS", "40x4+900+700")
    focus("Deskpilot xterm")
    result = session.deskpilot("read", "--window", "--verbose", history=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _lines(result.stdout, "tree") == []
    assert "PLAIN TERMINAL WORDS" in " ".join(_lines(result.stdout, "OCR")).upper()


def test_a_web_page_reads_in_page_order(
    session: AccessibilitySession, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    session.chromium(tmp_path_factory.mktemp("chromium"), APPS / "atspi_page.html", "600,0")
    wid = window_id("ready - Chromium")
    assert wid is not None
    focus("ready - Chromium")
    result = session.deskpilot("read", "--window", "--verbose", history=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = _lines(result.stdout, "tree")
    expected = [
        "Deskpilot test page",
        "Quarterly report for the northern region.",
        "Save",
        "Revenue grew by twelve percent over the last quarter.",
        "Home Products Pricing Support Careers Blog Contact Legal",
        "Shipping delays affected three of the seven warehouses.",
        "[check box: Subscribe to newsletter]",
        "The board meets again on the first Monday of next month.",
        "Last action: none",
    ]
    positions = [lines.index(line) for line in expected]
    assert positions == sorted(positions), lines
    assert _lines(result.stdout, "OCR") == []

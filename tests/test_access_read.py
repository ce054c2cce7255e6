"""deskpilot read on a real window under Xvfb: a known page (English and Chinese) read in order, and a region."""

from __future__ import annotations

import os
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.access.matching import closeness
from tests.conftest import APPS, xdotool
from tests.support import LinePump, deskpilot

PAGE = [
    "Quarterly report for the garden club",
    "Meeting moved to Thursday at seven",
    "Bring your own gloves and seeds",
    "Contact Maria for the key",
    "Total members this year: 42",
    "打开浏览器查看天气",
]
GEOMETRY = (900, 600, 100, 100)


@pytest.fixture(scope="module")
def text_page(x_display: str) -> Iterator[dict[str, Any]]:
    width, height, left, top = GEOMETRY
    proc = subprocess.Popen(
        [sys.executable, str(APPS / "text_page.py"), "--geometry", f"{width}x{height}+{left}+{top}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    ready = LinePump(proc.stdout, json_lines=True).wait_for(lambda e: e["event"] == "ready", 20, "ready")
    yield ready
    proc.terminate()
    proc.wait(timeout=10)


def matched(expected: list[str], lines: list[str]) -> list[str]:
    """The expected lines some output line reads as (small OCR errors allowed)."""
    return [want for want in expected if any(closeness(want, got) is not None for got in lines)]


def test_read_a_window_in_reading_order(text_page: dict[str, Any]) -> None:
    xdotool("mousemove", str(text_page["x"] + 400), str(text_page["y"] + 550))  # the window under the pointer
    result = deskpilot("read", "--window")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    found = matched(PAGE, lines)
    assert len(found) / len(PAGE) >= 5 / 6, lines  # the platform facts measured 17 of 18 lines
    assert "打开浏览器查看天气" in found, lines  # the Chinese line, through fonts-noto-cjk
    # Reading order: the matched lines come out in the page's order.
    order = [next(i for i, got in enumerate(lines) if closeness(want, got) is not None) for want in found]
    assert order == sorted(order)


def test_region_read_reads_only_that_region(text_page: dict[str, Any], tmp_path: Path) -> None:
    # The top 200 pixels of the window hold the first two lines (each label is 100 px tall).
    region = f"700x200+{text_page['x']}+{text_page['y']}"
    wav = tmp_path / "read.wav"
    result = deskpilot("read", "--region", region, "--speak-to", str(wav))
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert matched(PAGE[:2], lines) == PAGE[:2], lines
    assert matched(PAGE[2:], lines) == [], lines
    with wave.open(str(wav), "rb") as spoken:  # "Reading" and two lines: a few seconds
        assert 2.0 < spoken.getnframes() / spoken.getframerate() < 15.0


def test_bad_region_is_bad_input(x_display: str) -> None:
    result = deskpilot("read", "--region", "0x10+0+0")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "region" in result.stderr
    off = deskpilot("read", "--region", "100x100+5000+5000")
    assert off.returncode == 2 and "not inside the desktop" in off.stderr


def test_the_kill_hotkey_ends_a_read_between_lines(text_page: dict[str, Any]) -> None:
    lines = [f"Line number {n} of a long page" for n in range(1, 17)]
    args = [a for line in lines for a in ("--line", line)]
    page = subprocess.Popen(
        [sys.executable, str(APPS / "text_page.py"), "--geometry", "800x900+1050+100", "--point-size", "14", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert page.stdout is not None
        LinePump(page.stdout, json_lines=True).wait_for(lambda e: e["event"] == "ready", 20, "ready")
        env = {**os.environ, "DESKPILOT_CONFIG": "/nonexistent/deskpilot.toml", "PYTHONUNBUFFERED": "1"}
        read = subprocess.Popen(
            [sys.executable, "-m", "agent", "read", "--region", "800x900+1050+100"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        assert read.stdout is not None
        out = LinePump(read.stdout)
        out.wait_for(lambda line: line.strip() != "", 60, "a first line")
        xdotool("key", "ctrl+alt+k")
        assert read.wait(timeout=60) == 3
        read_lines = [line for line in out.drain() if line.strip()]
        assert 1 <= len(read_lines) < len(lines)  # it stopped between lines, well before the end
    finally:
        page.terminate()
        page.wait(timeout=10)

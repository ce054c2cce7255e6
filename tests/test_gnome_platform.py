"""GnomePlatform on a real headless mutter: what a native Wayland GTK window saw, and the pixels captured.

One mutter session (tests/wayland.py ``headless_mutter``) runs tests/gnome_driver.py,
which drives tests/apps/gnome_probe.py through the platform and reports the
window's own log; each test asserts on one part of it. The traps of
``shared/wayland-facts.md`` §1a each have one: the lost first key, keysyms outside
the layout (é, €, CJK typed through the clipboard), a stale first frame after input,
and input sent while a stream is open.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from agent.computers.gnome.stream import SETTLE_S, pick_frame
from tests.wayland import WaylandUnavailable, headless_mutter

RED, BLUE = [255, 0, 0], [0, 0, 255]


@pytest.fixture(scope="module")
def driven() -> Iterator[dict[str, Any]]:
    try:
        with headless_mutter() as session:
            result = session.run([sys.executable, "-m", "tests.gnome_driver"], session.environ(), timeout=120)
    except WaylandUnavailable as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no headless mutter: {err}")
        pytest.skip(f"no headless mutter: {err}")
    assert result.returncode == 0, result.stderr[-3000:]
    yield json.loads(result.stdout.strip().splitlines()[-1])


def texts(driven: dict[str, Any]) -> list[str]:
    return [e["text"] for e in driven["events"] if e["event"] == "text"]


@pytest.mark.process
def test_a_capture_shows_the_window_pixels(driven: dict[str, Any]) -> None:
    assert driven["monitors"] == [[0, 0, 1920, 1080]]
    assert driven["strip_before"] == RED


@pytest.mark.process
def test_clicks_land_where_sent_and_the_frame_after_shows_them(driven: dict[str, Any]) -> None:
    presses = [(e["x"], e["y"]) for e in driven["events"] if e["event"] == "press"]
    button = driven["ready"]["button"]
    middle_y = button[1] + button[3] // 2
    assert presses[:2] == [(960, middle_y), (640, middle_y)]
    assert [e["event"] for e in driven["events"]].count("clicked") == 2
    # A stale first frame (from before the click) would still show red.
    assert driven["strip_after_click"] == BLUE
    assert driven["strip_after_second_click"] == RED


@pytest.mark.process
def test_the_first_key_of_the_session_is_not_lost(driven: dict[str, Any]) -> None:
    # F5 is the driver's first key: without the platform's Shift tap it is lost.
    keys = [e["name"] for e in driven["events"] if e["event"] == "key"]
    assert keys[0] == "F5"
    assert "a" in texts(driven) and "ab " in texts(driven)


@pytest.mark.process
def test_text_outside_the_layout_is_typed_through_the_clipboard(driven: dict[str, Any]) -> None:
    assert "ab 打开 deskpilot é€" in texts(driven)
    assert driven["twenty"] in texts(driven)


@pytest.mark.process
def test_a_paste_nobody_takes_is_a_failure(driven: dict[str, Any]) -> None:
    assert driven["untaken"].startswith("the paste was not taken")


@pytest.mark.process
def test_a_capture_from_the_open_stream_is_fast_and_input_stays_fast(driven: dict[str, Any]) -> None:
    # Goals: 100 ms and a few tens of ms; twice that here, on 2 loaded cores without a GPU.
    assert max(driven["ms"]["capture_open"]) <= 200
    # Input closes the stream first: a click is not held up by frames being read.
    assert max(driven["ms"]["click"]) <= 500, driven["ms"]


@pytest.mark.parametrize(
    ("count", "age", "fresh", "take"),
    [
        (0, 0.0, True, False),  # nothing yet
        (1, 0.0, True, False),  # a new connection's first frame may predate the last input
        (1, SETTLE_S, True, True),  # ...unless nothing newer followed
        (2, 0.0, True, True),  # a second frame is current
        (1, 0.0, False, True),  # an open stream's frames are current
    ],
)
def test_pick_frame(count: int, age: float, fresh: bool, take: bool) -> None:
    assert pick_frame(count, age, fresh) is take

"""GnomePlatform on a real headless mutter: what a native Wayland GTK window saw, and the pixels captured.

One mutter session (tests/wayland.py ``headless_mutter``) runs tests/gnome_driver.py,
which drives tests/apps/gnome_probe.py through the platform and reports the
window's own log; each test asserts on one part of it. The traps of
``shared/wayland-facts.md`` §1a each have one: the lost first key, keysyms outside
the layout (é, €, CJK typed through the clipboard), a stale first frame after input,
and input sent while a stream is open (the stream is closed for input, and every
capture right after a click must show that click).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from agent.computers.gnome import mutter
from agent.computers.gnome.mutter import MutterSession
from agent.computers.gnome.stream import SETTLE_S, Newest, pick_frame
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
    assert [e["event"] for e in driven["events"]].count("clicked") == 2 + len(driven["flips"])
    # A stale first frame (from before the click) would still show red.
    assert driven["strip_after_click"] == BLUE
    assert driven["strip_after_second_click"] == RED


@pytest.mark.process
def test_each_capture_right_after_a_click_shows_that_click(driven: dict[str, Any]) -> None:
    flips = driven["flips"]
    assert all(f["closed_for_input"] for f in flips)  # no frames recorded while input is sent
    # The strip was red after the second click; each of these clicks flips it once more.
    assert [f["strip"] for f in flips] == [BLUE, RED] * 3, flips


@pytest.mark.process
def test_frames_carry_when_mutter_recorded_them_on_our_clock(driven: dict[str, Any]) -> None:
    # Without it every capture after input would wait SETTLE_S instead of for the next frame.
    assert all(f["recorded_before_arrival"] for f in driven["flips"])


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


# How fast captures and clicks are is measured by scripts/bench_platforms.py, not asserted
# here; that input never meets an open stream is (test_each_capture_right_after_a_click_shows_that_click).


AFTER = 100.0  # the later of the last input and the connection (monotonic s)


@pytest.mark.parametrize(
    ("newest", "now", "take"),
    [
        (None, AFTER + 5, False),  # nothing yet
        (Newest(AFTER + 0.01, AFTER + 0.09), AFTER + 0.09, True),  # recorded after: current
        # Recorded before (a fresh connection's first frame can re-send an old picture): wait...
        (Newest(AFTER - 0.01, AFTER + 0.05), AFTER + 0.05, False),
        (Newest(AFTER - 0.01, AFTER + 0.05), AFTER + 0.04 + SETTLE_S, False),
        # ...until nothing newer came for SETTLE_S after both (the input damaged nothing)
        (Newest(AFTER - 0.01, AFTER + 0.05), AFTER + 0.05 + SETTLE_S, True),
        (Newest(AFTER - 0.5, AFTER - 0.4), AFTER + SETTLE_S, True),
        (Newest(None, AFTER + 0.05), AFTER + 0.06, False),  # no timestamp: only the quiet rule
        (Newest(None, AFTER + 0.05), AFTER + 0.05 + SETTLE_S, True),
    ],
)
def test_pick_frame(newest: Newest | None, now: float, take: bool) -> None:
    assert pick_frame(newest, AFTER, now) is take


def _session(monkeypatch: pytest.MonkeyPatch) -> tuple[MutterSession, list[tuple[str, tuple[Any, ...]]]]:
    """A MutterSession whose D-Bus calls are only recorded (method, arguments)."""
    calls: list[tuple[str, tuple[Any, ...]]] = []

    def fake_call(_router: Any, _path: str, _interface: str, method: str, _signature: str | None = None,
                  body: tuple[Any, ...] = (), **_kw: Any) -> tuple[Any, ...]:
        calls.append((method, body))
        return ()

    monkeypatch.setattr(mutter, "_call", fake_call)
    return MutterSession(object(), "/rd", "/stream"), calls  # type: ignore[arg-type]


def test_a_nudge_moves_the_pointer_a_pixel_and_back_and_says_when_the_first_move_was_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    session, calls = _session(monkeypatch)
    session.motion(500, 300)
    calls.clear()
    after = session.nudge()
    assert [body[1:] for _, body in calls] == [(499.0, 300.0), (500.0, 300.0)]
    assert after < session.last_input_at  # the first move's reply, not the second's
    session.motion(0, 7)
    calls.clear()
    session.nudge()
    assert [body[1:] for _, body in calls] == [(1.0, 7.0), (0.0, 7.0)]  # stays on the monitor


def test_with_a_button_held_a_nudge_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    session, calls = _session(monkeypatch)
    session.motion(500, 300)
    session.button(272, True)
    calls.clear()
    session.nudge()  # a move now would drag
    assert calls == []
    session.button(272, False)
    session.nudge()
    assert [method for method, _ in calls] == ["NotifyPointerButton", *["NotifyPointerMotionAbsolute"] * 2]


def test_a_refused_stream_connection_is_tried_again_then_said() -> None:
    from agent.computers.gnome import stream
    from agent.errors import DisplayError

    tries: list[int] = []

    class Flaky(stream.StreamReader):
        def __init__(self, fail: int) -> None:  # no GStreamer: only the retry is under test
            self.fail = fail

        def _try_open(self) -> None:
            tries.append(1)
            if len(tries) <= self.fail:
                raise DisplayError("the GNOME screen cast pipeline would not start (refused)")

    Flaky(fail=2)._open()
    assert len(tries) == 3  # two refusals, then connected
    tries.clear()
    with pytest.raises(DisplayError, match=r"would not start \(refused\)"):
        Flaky(fail=3)._open()
    assert len(tries) == stream._START_TRIES

"""Which screen a press's anchor is cut from: the newest grab before the press, on one clock."""

from __future__ import annotations

import queue

import pytest
from PIL import Image

from agent.computers.base import Frame
from agent.computers.x11.listeners import ServerClock
from agent.geometry import CaptureGeometry, Region
from agent.macros.frame_ring import FrameRing, Shot, frame_before


def shot(t: float) -> Shot:
    return Shot(t, lambda: None)  # type: ignore[arg-type, return-value]


BEFORE_CASES = [
    ("the newest before it", [0.1, 0.2, 0.3], 0.25, 0.2),
    ("never one at the press's own time", [0.1, 0.2], 0.2, 0.1),
    ("never one after it, even the newest", [0.1, 0.4], 0.3, 0.1),
    ("out of order", [0.3, 0.1, 0.2], 0.35, 0.3),
    ("none before it", [0.5], 0.4, None),
    ("none at all", [], 1.0, None),
]


@pytest.mark.parametrize(("name", "times", "press", "expected"), BEFORE_CASES, ids=[c[0] for c in BEFORE_CASES])
def test_the_frame_before_a_press(name: str, times: list[float], press: float, expected: float | None) -> None:
    found = frame_before([shot(t) for t in times], press)
    assert (found.t if found else None) == expected


def test_server_times_map_onto_the_monotonic_clock_by_the_least_delay_seen() -> None:
    clock = ServerClock()
    # Server ms 1000 arrives at 50.010 (10 ms late), ms 1100 at 50.101 (1 ms late).
    assert clock.monotonic(1000, 50.010) == pytest.approx(50.010)
    assert clock.monotonic(1100, 50.101) == pytest.approx(50.101)
    # Now the offset is the 1 ms one: a press stamped 1200 that arrives 40 ms late
    # happened at 50.201, before a grab completed at 50.230.
    assert clock.monotonic(1200, 50.241) == pytest.approx(50.201)
    assert clock.monotonic(1300, 50.250) == pytest.approx(50.250)  # never later than it arrived
    # The server's clock wrapped (or another server): start again from this event.
    assert clock.monotonic(5, 120.0) == pytest.approx(120.0)
    assert clock.monotonic(105, 120.2) == pytest.approx(120.1)


class CountingScreen:
    """A screen whose every capture is counted (no snapshot: the ring falls back to capture)."""

    def __init__(self) -> None:
        self.captures = 0
        self.grabbed: queue.Queue[int] = queue.Queue()

    def monitors(self) -> list[Region]:
        return [Region(0, 0, 8, 8)]

    def capture_region(self) -> Region:
        return Region(0, 0, 8, 8)

    def capture(self) -> Frame:
        self.captures += 1
        self.grabbed.put(self.captures)
        return Frame(Image.new("RGB", (8, 8)), CaptureGeometry(Region(0, 0, 8, 8), 8, 8))


def test_the_ring_grabs_at_start_and_where_the_pointer_rests_and_keeps_the_last_few() -> None:
    screen = CountingScreen()
    ring = FrameRing(screen, rest_s=0.0, idle_interval_s=60, keep=2)
    ring.start()
    try:
        assert screen.grabbed.get_nowait() == 1  # at once: a press right away has a screen from before it
        for grab in (2, 3):
            ring.moved()
            assert screen.grabbed.get(timeout=5) == grab  # no idle grab within a minute: motion caused it
    finally:
        ring.stop()
    assert len(ring._shots) == 2
    latest = ring.before(float("inf"))
    assert latest is not None and latest.frame().image.size == (8, 8)

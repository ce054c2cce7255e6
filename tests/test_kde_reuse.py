"""KdeComputer's reuse of the settle poll's frame as the next capture: only with no input since, and only just taken.

Fakes stand in for KWin (a screen that counts its captures, a seat that counts its
inputs) and the clock; tests/test_kde_platform.py checks the same on a real KWin.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PIL import Image

from agent.computers.base import Frame
from agent.computers.kde.desktop import REUSE_S, KdeComputer, PolledFrame, reusable
from agent.geometry import CaptureGeometry, Region

SCREEN = Region(0, 0, 64, 48)


class FakeSeat:
    """Counts inputs the way KWinSeat does: before each is sent."""

    def __init__(self) -> None:
        self.sent = 0

    def move(self, x: int, y: int) -> None:
        self.sent += 1

    def click(self, x: int, y: int, button: str, clicks: int) -> None:
        self.sent += 1

    def keys(self, events: list[tuple[int, bool]]) -> None:
        self.sent += 1


class FakeScreen:
    """A new frame per capture, each a shade lighter; ``during`` runs inside a capture."""

    def __init__(self) -> None:
        self.captures = 0
        self.during: Callable[[], None] | None = None

    def capture_region(self) -> Region:
        return SCREEN

    def capture(self) -> Frame:
        self.captures += 1
        if self.during is not None:
            self.during()
        image = Image.new("RGB", (SCREEN.width, SCREEN.height), (self.captures * 10,) * 3)
        return Frame(image, CaptureGeometry(SCREEN, SCREEN.width, SCREEN.height))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def parts() -> tuple[KdeComputer, FakeScreen, FakeSeat, Clock]:
    screen, seat, clock = FakeScreen(), FakeSeat(), Clock()
    computer = KdeComputer(screen, seat, clipboard=None, clock=clock)  # type: ignore[arg-type]
    return computer, screen, seat, clock


def test_the_capture_right_after_a_settle_poll_is_that_polls_frame(parts: tuple[KdeComputer, FakeScreen, FakeSeat, Clock]) -> None:
    computer, screen, _seat, clock = parts
    computer.poll_image()
    clock.now += REUSE_S
    frame = computer.capture()
    assert screen.captures == 1
    assert frame.image.getpixel((0, 0)) == (10, 10, 10)


@pytest.mark.parametrize("act", ["move", "click", "keys"])
def test_after_an_input_the_capture_is_fresh(parts: tuple[KdeComputer, FakeScreen, FakeSeat, Clock], act: str) -> None:
    computer, screen, _seat, _clock = parts
    computer.poll_image()
    if act == "move":
        computer.move((5, 5))
    elif act == "click":
        computer.click((5, 5), "left", 1)
    else:
        computer.chord(("ctrl", "v"))
    frame = computer.capture()
    assert screen.captures == 2
    assert frame.image.getpixel((0, 0)) == (20, 20, 20)


def test_an_input_sent_while_the_poll_captured_makes_its_frame_unusable(
    parts: tuple[KdeComputer, FakeScreen, FakeSeat, Clock],
) -> None:
    computer, screen, seat, _clock = parts
    screen.during = lambda: seat.move(1, 1)  # another thread's input, mid-capture
    computer.poll_image()
    screen.during = None
    computer.capture()
    assert screen.captures == 2


def test_a_poll_older_than_the_limit_is_not_reused(parts: tuple[KdeComputer, FakeScreen, FakeSeat, Clock]) -> None:
    computer, screen, _seat, clock = parts
    computer.poll_image()
    clock.now += REUSE_S + 0.001
    computer.capture()
    assert screen.captures == 2


def test_a_polled_frame_serves_once_and_every_poll_captures(parts: tuple[KdeComputer, FakeScreen, FakeSeat, Clock]) -> None:
    computer, screen, _seat, _clock = parts
    first, second = computer.poll_image(), computer.poll_image()
    assert screen.captures == 2 and first.getpixel((0, 0)) != second.getpixel((0, 0))  # a settle compares fresh polls
    computer.capture()
    computer.capture()
    assert screen.captures == 3  # the second capture had no poll left to take


def test_reusable_is_false_without_a_poll_and_for_a_clock_gone_backwards() -> None:
    frame = Frame(Image.new("RGB", (1, 1)), CaptureGeometry(Region(0, 0, 1, 1), 1, 1))
    assert not reusable(None, 0, 0.0)
    assert reusable(PolledFrame(frame, 10.0, 3), 3, 10.0)
    assert not reusable(PolledFrame(frame, 10.0, 3), 4, 10.0)
    assert not reusable(PolledFrame(frame, 10.0, 3), 3, 9.0)

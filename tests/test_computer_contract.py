"""The ``Computer`` contract, held by the fake and by the real desktop alike.

The run core is tested on the fake; these checks are what makes that worth something:
the same observable behaviour on both.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from agent.actions import MouseMove, ScreenAction, Wait
from agent.errors import DeskpilotError, StoppedError
from agent.testing.fake import FakeComputer


def pointer_of(computer: Any) -> tuple[int, int]:
    return computer.cursor_position() if hasattr(computer, "cursor_position") else computer.cursor


@pytest.fixture(params=["fake", pytest.param("desktop", marks=pytest.mark.x11)])
def computer(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "fake":
        yield FakeComputer()
        return
    request.getfixturevalue("x_display")
    from agent.computers.x11.desktop import DesktopComputer

    desktop = DesktopComputer(1, cancel=threading.Event())
    yield desktop
    desktop.release_all()


def move(x: int, y: int) -> ScreenAction:
    return ScreenAction(action=MouseMove(coordinate=(0, 0)), x=x, y=y)


def test_a_frame_says_what_it_covers(computer: Any) -> None:
    frame = computer.capture()
    region = frame.region
    assert frame.image.size == (frame.geometry.image_width, frame.geometry.image_height)
    assert (round(region.width * frame.geometry.scale_x), round(region.height * frame.geometry.scale_y)) == frame.image.size


def test_the_poll_image_is_a_cheap_picture_of_the_same_area(computer: Any) -> None:
    image = computer.poll_image()
    assert isinstance(image, Image.Image)
    assert 0 < image.width <= computer.capture().image.width


def test_a_move_puts_the_pointer_on_the_point(computer: Any) -> None:
    region = computer.capture().region
    target = (region.left + 321, region.top + 123)
    computer.perform(move(*target))
    assert pointer_of(computer) == target


def test_a_point_off_the_screen_is_an_error_and_the_pointer_stays(computer: Any) -> None:
    region = computer.capture().region
    computer.perform(move(region.left + 10, region.top + 10))
    with pytest.raises(DeskpilotError):
        computer.perform(move(region.right + 50, region.top + 10))
    assert region.contains(*pointer_of(computer))


def test_nothing_is_performed_once_cancelled(computer: Any) -> None:
    region = computer.capture().region
    computer.perform(move(region.left + 5, region.top + 5))
    computer.cancel.set()
    with pytest.raises(StoppedError):
        computer.perform(move(region.left + 200, region.top + 200))
    assert pointer_of(computer) == (region.left + 5, region.top + 5)


def test_release_all_can_always_be_called(computer: Any) -> None:
    computer.release_all()
    computer.release_all()


def test_actions_that_touch_nothing_change_nothing(computer: Any) -> None:
    region = computer.capture().region
    computer.perform(move(region.left + 40, region.top + 40))
    computer.perform(ScreenAction(action=Wait(time=0)))
    assert pointer_of(computer) == (region.left + 40, region.top + 40)

"""Clicks without a coordinate: parsed, scaled, and clicked where the pointer is, on the captured monitor only.

The real-desktop checks read what a real Qt window received, with xdotool moving the
pointer as the user's hand would.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from agent.actions import DoubleClick, LeftClick, RightClick, ScreenAction
from agent.backends.scripted import ScriptedBackend
from agent.computer_use.planner import Planner
from agent.errors import OffScreenError
from agent.geometry import CaptureGeometry, Region
from agent.scaling import ModelFrame, to_screen_action
from agent.testing.fake import FakeComputer
from tests.conftest import xdotool


def test_a_pointer_click_keeps_no_point_through_scaling() -> None:
    capture = CaptureGeometry(Region(-1920, 0, 1920, 1080), 2400, 1350)
    screen = to_screen_action(LeftClick(), ModelFrame.for_image("rel1000", 2400, 1350), capture)
    assert screen.screen_xy is None
    assert screen.to_json_dict() == {"action": "left_click"}


def test_a_scripted_pointer_click_lands_at_the_fake_cursor() -> None:
    computer = FakeComputer(cursor=(300, 200))
    reply = '<tool_call>\n{"name": "computer_use", "arguments": {"action": "double_click"}}\n</tool_call>'
    plan = Planner(ScriptedBackend([reply])).plan("open it", [], [computer.capture()], threading.Event())
    assert plan.usable and [a.to_json_dict() for a in plan.actions] == [{"action": "double_click"}]
    computer.perform(plan.actions[0])
    assert computer.clicked == [(300, 200)] and computer.cursor == (300, 200)


def test_the_fake_refuses_a_pointer_click_off_its_screen() -> None:
    computer = FakeComputer(region=Region(0, 0, 1920, 1080), cursor=(2500, 10))
    with pytest.raises(OffScreenError, match=r"\(2500, 10\)"):
        computer.perform(ScreenAction(action=LeftClick()))
    assert computer.clicked == [] and computer.performed == []


@pytest.fixture
def pointer_home(x_display: str) -> Iterator[None]:
    yield
    xdotool("mousemove", "960", "540")  # out of the fail-safe corners for what runs next


@pytest.mark.parametrize(("click", "button"), [(LeftClick(), "LeftButton"), (RightClick(), "RightButton")])
def test_the_desktop_clicks_where_the_pointer_is(probe, pointer_home, click: object, button: str) -> None:
    from agent.computers.x11.desktop import DesktopComputer

    app = probe("--geometry", "400x300+700+300", "--colour", "#3050f0")
    desktop = DesktopComputer(1)
    desktop.capture()
    xdotool("mousemove", "811", "437")
    desktop.perform(ScreenAction(action=click))
    press = app.wait_for("press")
    assert (press["x"], press["y"], press["button"]) == (811, 437, button)


def test_the_desktop_refuses_a_pointer_click_outside_the_captured_area(probe, pointer_home) -> None:
    from agent.computers.x11.desktop import DesktopComputer

    app = probe("--geometry", "400x300+700+300", "--colour", "#3050f0")
    desktop = DesktopComputer(Region(0, 0, 640, 480))  # the model saw only this corner
    desktop.capture()
    xdotool("mousemove", "811", "437")  # over the window, but outside what was captured
    with pytest.raises(OffScreenError, match=r"the pointer is at \(811, 437\), outside the captured monitor"):
        desktop.perform(ScreenAction(action=DoubleClick()))
    # Proof that nothing was clicked: a click with a point still reaches the window, and
    # it is the first press the window reports.
    desktop_all = DesktopComputer(1)
    desktop_all.perform(ScreenAction(action=LeftClick(coordinate=(0, 0)), x=800, y=400))
    press = app.wait_for("press")
    assert (press["x"], press["y"]) == (800, 400)

"""The one ``match`` from a ``ScreenAction`` to a backend's input primitives, and its pure helpers."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Literal, Protocol

from agent.actions import (
    DoubleClick,
    HScroll,
    Key,
    LeftClick,
    LeftClickDrag,
    MiddleClick,
    MouseMove,
    RightClick,
    ScreenAction,
    Scroll,
    TripleClick,
    Type,
    Wait,
)
from agent.errors import OffScreenError, StoppedError

Point = tuple[int, int]
Button = Literal["left", "right", "middle"]
Axis = Literal["vertical", "horizontal"]

# Intermediate pointer positions during a drag: many toolkits only start a drag after
# seeing motion with the button held, and a single jump is not motion.
DRAG_STEPS = 12


class Primitives(Protocol):
    """The input a desktop backend sends; ``perform`` carries out every action through these."""

    @property
    def cancel(self) -> threading.Event:
        """Set to stop: a ``Wait`` ends early on it."""
        ...

    def move(self, point: Point) -> None:
        """Put the pointer at ``point``."""
        ...

    def click(self, point: Point | None, button: Button, clicks: int) -> None:
        """Click ``clicks`` times at ``point``, or where the pointer is (on the captured monitor)."""
        ...

    def drag(self, end: Point) -> None:
        """Hold the left button from where the pointer is to ``end``."""
        ...

    def scroll(self, point: Point | None, axis: Axis, steps: int) -> None:
        """Wheel ``steps`` (positive is up, or right), at ``point`` or where the pointer is."""
        ...

    def chord(self, keys: tuple[str, ...]) -> None:
        """Press ``keys`` in order, release them in reverse."""
        ...

    def type_text(self, text: str) -> None:
        """Type ``text`` at the keyboard focus; newlines press Enter."""
        ...


def check_stop(cancel: threading.Event) -> None:
    """Raise ``StoppedError`` once ``cancel`` is set: no input goes out after a stop."""
    if cancel.is_set():
        raise StoppedError("stopped; no further action is performed")


def perform(screen_action: ScreenAction, primitives: Primitives) -> None:
    """Carry out one action; the caller has checked for a stop (GNOME closes its stream after that)."""
    action, point = screen_action.action, screen_action.screen_xy
    match action:
        case MouseMove():
            primitives.move(_need(point))
        case LeftClick():
            primitives.click(point, "left", 1)
        case DoubleClick():
            primitives.click(point, "left", 2)
        case TripleClick():
            primitives.click(point, "left", 3)
        case RightClick():
            primitives.click(point, "right", 1)
        case MiddleClick():
            primitives.click(point, "middle", 1)
        case LeftClickDrag():
            primitives.drag(_need(point))
        case Scroll(pixels=steps):
            primitives.scroll(point, "vertical", steps)
        case HScroll(pixels=steps):
            primitives.scroll(point, "horizontal", steps)
        case Key(keys=keys):
            primitives.chord(keys)
        case Type(text=text):
            primitives.type_text(text)
        case Wait(time=seconds):
            if primitives.cancel.wait(seconds):
                raise StoppedError("stopped during a wait")
        case _:
            pass  # terminate and answer change nothing on the desktop


def _need(point: Point | None) -> Point:
    if point is None:
        raise OffScreenError("this action needs a screen point")
    return point


def drag_path(start: Point, end: Point) -> list[Point]:
    """The ``DRAG_STEPS`` points from just after ``start`` to ``end``, evenly spaced."""
    return [
        (round(start[0] + (end[0] - start[0]) * i / DRAG_STEPS),
         round(start[1] + (end[1] - start[1]) * i / DRAG_STEPS))
        for i in range(1, DRAG_STEPS + 1)
    ]


def segment_text(text: str, typeable: Callable[[str], bool]) -> list[tuple[str, str]]:
    """Split text into ("keys", run), ("key", "enter"|"tab") and ("paste", run) pieces.

    Newlines and tabs become key presses (so "ls\n" runs the command in a terminal).
    A run between them that the keymap can type is typed; one that holds any other
    character is pasted whole, ASCII included: each paste swaps the user's clipboard
    out and back (about 0.15 s), so one per run beats one per non-ASCII stretch.
    """
    pieces: list[tuple[str, str]] = []
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for part in re.split(r"([\n\t])", text):
        if part == "\n":
            pieces.append(("key", "enter"))
        elif part == "\t":
            pieces.append(("key", "tab"))
        elif part:
            pieces.append(("keys" if all(typeable(ch) for ch in part) else "paste", part))
    return pieces

"""The KDE desktop: ScreenShot2 captures, fake-input pointer and keys, clipboard paste for other text."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

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
from agent.computers.base import CaptureTarget, Frame

# The split of text into typed runs, Enter/Tab presses and pasted runs is the same on
# every desktop.
from agent.computers.dispatch import segment_text
from agent.computers.kde.keys import CHARACTERS, SHIFT, chord_codes, typeable
from agent.computers.kde.seat import HORIZONTAL, VERTICAL, KWinSeat
from agent.computers.platform import Clipboard
from agent.errors import DisplayError, OffScreenError, StoppedError
from agent.geometry import CaptureGeometry, Region
from agent.imaging import DEFAULT_THUMB_SIZE, box_reduce

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.computers.kde.screenshot import KWinScreenShot

_DRAG_STEPS = 12
PASTE_CHORD = ("ctrl", "v")


class KdeScreen:
    """Captures of one target through ScreenShot2; monitors from the compositor's outputs."""

    def __init__(self, target: CaptureTarget, seat: KWinSeat, shot: KWinScreenShot,
                 pointer: tuple[int, int] | None = None) -> None:
        self._target = target
        self._seat = seat
        self._shot = shot
        self.pointer = pointer  # where the pointer was last put (KWin does not say where it is)

    def monitors(self) -> list[Region]:
        return [output.region for output in self._seat.outputs()]

    def capture_region(self) -> Region:
        target = self._target
        if isinstance(target, Region):
            return target
        monitors = self.monitors()
        if not monitors:
            raise DisplayError("KWin reports no output")
        if target == "cursor":
            x, y = self.pointer or (monitors[0].left, monitors[0].top)
            return next((m for m in monitors if m.contains(x, y)), monitors[0])
        if target == 0:
            left, top = min(m.left for m in monitors), min(m.top for m in monitors)
            right, bottom = max(m.right for m in monitors), max(m.bottom for m in monitors)
            return Region(left, top, right - left, bottom - top)
        if not 1 <= target <= len(monitors):
            raise DisplayError(f"no monitor {target}: this desktop has monitors 1..{len(monitors)} "
                               "(0 is all of them together)")
        return monitors[target - 1]

    def capture(self) -> Frame:
        region = self.capture_region()
        outputs = self._seat.outputs()
        if self._target == 0 or isinstance(self._target, Region):
            image = self._shot.workspace() if self._target == 0 else self._shot.area(region)
        else:
            name = next((o.name for o in outputs if o.region == region), "")
            image = self._shot.screen(name) if name else self._shot.area(region)
        return Frame(image=image, geometry=CaptureGeometry(region, image.width, image.height))


class KdeComputer:
    """Acts through KWin's fake-input; the pointer position is the one it last set."""

    def __init__(self, screen: KdeScreen, seat: KWinSeat, clipboard: Clipboard,
                 cancel: threading.Event | None = None) -> None:
        self.screen = screen
        self._seat = seat
        self._clipboard = clipboard
        self.cancel = cancel or threading.Event()
        self._captured: Region | None = None
        first = screen.capture_region()
        # Unknown until the first move: the middle of the target, where nothing is clicked.
        self._pointer = (first.left + first.width // 2, first.top + first.height // 2)
        self._held: set[int] = set()

    def monitors(self) -> list[Region]:
        return self.screen.monitors()

    def capture(self) -> Frame:
        frame = self.screen.capture()
        self._captured = frame.region
        return frame

    def poll_image(self) -> Image:
        image = self.screen.capture().image
        return box_reduce(image, DEFAULT_THUMB_SIZE).convert("L")

    def cursor_position(self) -> tuple[int, int]:
        return self._pointer

    def perform(self, action: ScreenAction) -> None:
        self._check_stop()
        self._dispatch(action)

    def _dispatch(self, screen_action: ScreenAction) -> None:
        action, point = screen_action.action, screen_action.screen_xy
        match action:
            case MouseMove():
                self._move(self._need(point))
            case LeftClick():
                self._click(point, "left", 1)
            case DoubleClick():
                self._click(point, "left", 2)
            case TripleClick():
                self._click(point, "left", 3)
            case RightClick():
                self._click(point, "right", 1)
            case MiddleClick():
                self._click(point, "middle", 1)
            case LeftClickDrag():
                self._drag(self._need(point))
            case Scroll(pixels=pixels):
                if point is not None:
                    self._move(point)
                # pyautogui's sense (positive is up) on X11; wl_pointer's axis is positive down.
                self._seat.scroll(VERTICAL, -float(pixels))
            case HScroll(pixels=pixels):
                if point is not None:
                    self._move(point)
                self._seat.scroll(HORIZONTAL, float(pixels))
            case Key(keys=keys):
                self.chord(keys)
            case Type(text=text):
                self._type(text)
            case Wait(time=seconds):
                if self.cancel.wait(seconds):
                    raise StoppedError("stopped during a wait")
            case _:
                pass

    def release_all(self) -> None:
        for button in ("left", "middle", "right"):
            self._seat.button(button, False)
        held, self._held = self._held, set()
        self._seat.keys([(code, False) for code in sorted(held)])

    def _check_stop(self) -> None:
        if self.cancel.is_set():
            raise StoppedError("stopped; no further action is performed")

    @staticmethod
    def _need(point: tuple[int, int] | None) -> tuple[int, int]:
        if point is None:
            raise OffScreenError("this action needs a screen point")
        return point

    def _move(self, point: tuple[int, int]) -> None:
        self._seat.move(*point)
        self._pointer = point

    def _click(self, point: tuple[int, int] | None, button: str, clicks: int) -> None:
        if point is None:
            # Where the pointer was last put: KWin moves it only for us or the user, and
            # the user's moves cannot be seen here (Capability.READ_POINTER is missing).
            point = self._pointer
            region = self._captured or self.screen.capture_region()
            if not region.contains(*point):
                raise OffScreenError(f"the pointer is at {point}, outside the captured monitor {region}")
        self._check_stop()
        self._seat.click(point[0], point[1], button, clicks)
        self._pointer = point

    def _drag(self, end: tuple[int, int]) -> None:
        start = self._pointer
        self._check_stop()
        self._seat.button("left", True)
        try:
            for i in range(1, _DRAG_STEPS + 1):
                self._move((round(start[0] + (end[0] - start[0]) * i / _DRAG_STEPS),
                            round(start[1] + (end[1] - start[1]) * i / _DRAG_STEPS)))
        finally:
            self._seat.button("left", False)

    def chord(self, keys: tuple[str, ...] | list[str]) -> None:
        """Press ``keys`` in order and release them in reverse."""
        codes = chord_codes(keys)
        self._check_stop()
        self._held.update(codes)
        try:
            self._seat.keys([(c, True) for c in codes] + [(c, False) for c in reversed(codes)])
        finally:
            self._held.difference_update(codes)

    def _type_chars(self, run: str) -> None:
        events: list[tuple[int, bool]] = []
        for char in run:
            code, shifted = CHARACTERS[char]
            events += ([(SHIFT, True)] if shifted else []) + [(code, True), (code, False)]
            events += [(SHIFT, False)] if shifted else []
        self._seat.keys(events)

    def _type(self, text: str) -> None:
        for kind, run in segment_text(text, typeable):
            self._check_stop()
            if kind == "keys":
                self._type_chars(run)
            elif kind == "key":
                self.chord((run,))
            else:
                self._clipboard.paste(run, lambda: self.chord(PASTE_CHORD))

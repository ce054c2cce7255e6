"""The real desktop: mss for capture, pyautogui for the pointer, pynput for keys.

Imported only when a real desktop is wanted: pyautogui and pynput open the X display
at import time and fail without one.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
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
from agent.computers.x11.clipboard import Clipboard, XSelectionClipboard
from agent.computers.x11.keyboard import platform_keyboard
from agent.computers.x11.screen import MssScreen, require_display
from agent.errors import CursorMismatchError, DisplayError, OffScreenError, StoppedError
from agent.geometry import Region

if TYPE_CHECKING:
    from PIL.Image import Image

log = logging.getLogger(__name__)

# Intermediate pointer positions during a drag: many toolkits only start a drag after
# seeing motion with the button held, and a single jump is not motion.
_DRAG_STEPS = 12
PASTE_CHORD = ("shift", "insert")


class DesktopComputer:
    """Captures with mss and acts with pyautogui/pynput on the current X display."""

    def __init__(
        self,
        target: CaptureTarget = 1,
        *,
        cancel: threading.Event | None = None,
        clipboard: Clipboard | None = None,
        paste_chord: tuple[str, ...] = PASTE_CHORD,
    ) -> None:
        require_display()
        try:
            import pyautogui
        except Exception as err:
            raise DisplayError(f"cannot drive the display: {err}") from None
        # Explicit, not inherited defaults: no 100 ms pause after every call (waits are
        # ours and interruptible), and the move-to-a-corner fail-safe stays on.
        pyautogui.PAUSE = 0
        pyautogui.FAILSAFE = True
        pyautogui.MINIMUM_DURATION = 0
        self._gui = pyautogui
        self._keyboard = platform_keyboard(pyautogui)
        self.cancel = cancel or threading.Event()
        self._clipboard = clipboard or XSelectionClipboard(cancel=self.cancel)
        self._paste_chord = paste_chord
        self.screen = MssScreen(target, pointer=self.cursor_position)
        self._poll: Callable[[], Image] | None = None
        # The region of the latest capture: what the model saw, and where clicks must land.
        self._captured: Region | None = None

    # -- capture ---------------------------------------------------------------
    def monitors(self) -> list[Region]:
        return self.screen.monitors()

    def capture(self) -> Frame:
        frame = self.screen.capture()
        self._captured = frame.region
        return frame

    def poll_image(self) -> Image:
        if self._poll is None:
            from agent.computers.x11.screen import thumbnail_grabber

            self._poll = thumbnail_grabber(self.screen)
        return self._poll()

    # -- input -----------------------------------------------------------------
    def cursor_position(self) -> tuple[int, int]:
        x, y = self._gui.position()
        return (int(x), int(y))

    def perform(self, action: ScreenAction) -> None:
        self._check_stop()
        try:
            self._dispatch(action)
        except self._gui.FailSafeException:
            raise StoppedError("stopped by the fail-safe: the pointer reached a screen corner") from None

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
                self._gui.scroll(pixels)
            case HScroll(pixels=pixels):
                if point is not None:
                    self._move(point)
                self._gui.hscroll(pixels)
            case Key(keys=keys):
                self._keyboard.chord(keys, before_each=self._check_stop)
            case Type(text=text):
                self._type(text)
            case Wait(time=seconds):
                if self.cancel.wait(seconds):
                    raise StoppedError("stopped during a wait")
            case _:
                # terminate and answer change nothing on the desktop.
                pass

    def release_all(self) -> None:
        # Releasing what is not held sends a harmless release event; holding on to a
        # button after a stop would leave the user's desktop in a drag.
        # The fail-safe must not fire here (a stop by the fail-safe leaves the pointer in a
        # corner), and pyautogui's public mouseUp checks it first. Switching the global
        # FAILSAFE off for the release would leave any other thread driving the pointer
        # meanwhile without it, so the release goes to pyautogui's platform layer, which
        # sends the button-up where the pointer already is and checks nothing.
        x, y = self.cursor_position()
        platform = getattr(self._gui, "platformModule", None)
        for button in ("left", "middle", "right"):
            if platform is not None and hasattr(platform, "_mouseUp"):
                platform._mouseUp(x, y, button)
            else:  # a pyautogui without the platform layer: the public call, fail-safe and all
                self._gui.mouseUp(button=button, _pause=False)
        self._keyboard.release_modifiers()

    def _check_stop(self) -> None:
        if self.cancel.is_set():
            raise StoppedError("stopped; no further action is performed")

    @staticmethod
    def _need(point: tuple[int, int] | None) -> tuple[int, int]:
        if point is None:
            raise OffScreenError("this action needs a screen point")
        return point

    def _move(self, point: tuple[int, int]) -> None:
        self._gui.moveTo(*point)
        actual = self.cursor_position()
        if actual != point:
            raise CursorMismatchError(
                f"the pointer is at {actual}, not at {point} where it was sent; not clicking"
            )

    def _click(self, point: tuple[int, int] | None, button: str, clicks: int) -> None:
        if point is None:
            # A click without a coordinate lands where the pointer is; that must still be
            # on the monitor the model was shown (the policy could not know the position).
            point = self.cursor_position()
            region = self._captured or self.screen.capture_region()
            if not region.contains(*point):
                raise OffScreenError(
                    f"the pointer is at {point}, outside the captured monitor {region}; not clicking there"
                )
        else:
            self._move(point)
        self._check_stop()
        # Always at an explicit position: the one just checked, even if the pointer moves now.
        self._gui.click(*point, button=button, clicks=clicks, interval=0.0)

    def _drag(self, end: tuple[int, int]) -> None:
        start = self.cursor_position()
        self._check_stop()
        self._gui.mouseDown(button="left")
        try:
            for i in range(1, _DRAG_STEPS + 1):
                x = round(start[0] + (end[0] - start[0]) * i / _DRAG_STEPS)
                y = round(start[1] + (end[1] - start[1]) * i / _DRAG_STEPS)
                self._gui.moveTo(x, y)
        finally:
            self._gui.mouseUp(button="left")
        if self.cursor_position() != end:
            raise CursorMismatchError(f"the drag ended at {self.cursor_position()}, not {end}")

    def _type(self, text: str) -> None:
        for kind, run in segment_text(text, self._keyboard.typeable):
            self._check_stop()
            if kind == "keys":
                self._keyboard.type_chars(run)
            elif kind == "key":
                self._keyboard.chord((run,))
            else:
                self._clipboard.paste(run, lambda: self._keyboard.chord(self._paste_chord))


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

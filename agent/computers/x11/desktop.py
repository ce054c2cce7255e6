"""The real desktop: mss for capture, pyautogui for the pointer, pynput for keys.

Imported only when a real desktop is wanted: pyautogui and pynput open the X display
at import time and fail without one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent.actions import ScreenAction
from agent.computers.base import CaptureTarget, Frame
from agent.computers.dispatch import Axis, Button, Point, check_stop, drag_path, perform, segment_text
from agent.computers.x11.clipboard import Clipboard, XSelectionClipboard
from agent.computers.x11.keyboard import platform_keyboard
from agent.computers.x11.screen import MssScreen, require_display
from agent.errors import CursorMismatchError, DisplayError, OffScreenError, StoppedError
from agent.geometry import Region

if TYPE_CHECKING:
    from PIL.Image import Image

log = logging.getLogger(__name__)

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
        check_stop(self.cancel)
        try:
            perform(action, self)
        except self._gui.FailSafeException:
            raise StoppedError("stopped by the fail-safe: the pointer reached a screen corner") from None

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

    # -- the primitives ``perform`` drives ------------------------------------------
    def move(self, point: Point) -> None:
        self._gui.moveTo(*point)
        actual = self.cursor_position()
        if actual != point:
            raise CursorMismatchError(
                f"the pointer is at {actual}, not at {point} where it was sent; not clicking"
            )

    def click(self, point: Point | None, button: Button, clicks: int) -> None:
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
            self.move(point)
        check_stop(self.cancel)
        # Always at an explicit position: the one just checked, even if the pointer moves now.
        self._gui.click(*point, button=button, clicks=clicks, interval=0.0)

    def drag(self, end: Point) -> None:
        start = self.cursor_position()
        check_stop(self.cancel)
        self._gui.mouseDown(button="left")
        try:
            for x, y in drag_path(start, end):
                self._gui.moveTo(x, y)
        finally:
            self._gui.mouseUp(button="left")
        if self.cursor_position() != end:
            raise CursorMismatchError(f"the drag ended at {self.cursor_position()}, not {end}")

    def scroll(self, point: Point | None, axis: Axis, steps: int) -> None:
        if point is not None:
            self.move(point)
        # pyautogui's sense is the action's: positive is up, or right.
        if axis == "vertical":
            self._gui.scroll(steps)
        else:
            self._gui.hscroll(steps)

    def chord(self, keys: tuple[str, ...]) -> None:
        self._keyboard.chord(keys, before_each=lambda: check_stop(self.cancel))

    def type_text(self, text: str) -> None:
        for kind, run in segment_text(text, self._keyboard.typeable):
            check_stop(self.cancel)
            if kind == "keys":
                self._keyboard.type_chars(run)
            elif kind == "key":
                self._keyboard.chord((run,))
            else:
                self._clipboard.paste(run, lambda: self._keyboard.chord(self._paste_chord))


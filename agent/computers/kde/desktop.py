"""The KDE desktop: ScreenShot2 captures, fake-input pointer and keys, clipboard paste for other text."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.actions import ScreenAction
from agent.computers.base import CaptureTarget, Frame
from agent.computers.dispatch import Axis, Button, Point, check_stop, drag_path, perform, segment_text
from agent.computers.kde.keys import CHARACTERS, SHIFT, chord_codes, typeable
from agent.computers.kde.seat import HORIZONTAL, VERTICAL, KWinSeat
from agent.computers.platform import Clipboard
from agent.errors import DisplayError, OffScreenError
from agent.geometry import CaptureGeometry, Region
from agent.imaging import DEFAULT_THUMB_SIZE, box_reduce

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.computers.kde.screenshot import KWinScreenShot

PASTE_CHORD = ("ctrl", "v")
# How long after the settle poll's capture returned its frame may still serve as the next
# capture: the time between a settle and the next step's capture (bookkeeping, no input).
# A fresh ScreenShot2 capture takes 50-65 ms here (KWin repaints the output on llvmpipe,
# then reads it back), so its frame shows the screen of about that long ago as well.
REUSE_S = 0.05


@dataclass(frozen=True)
class PolledFrame:
    """The full frame a settle poll captured, when it came back, and the inputs sent before it began."""

    frame: Frame
    taken_at: float
    inputs_sent: int


def reusable(polled: PolledFrame | None, inputs_sent: int, now: float, limit_s: float = REUSE_S) -> bool:
    """Whether ``polled`` may stand for a fresh capture: no input sent since its capture began, and recent.

    The count is read before the capture begins, so an input sent while it ran counts
    too: a reused frame never predates the last input.
    """
    return polled is not None and polled.inputs_sent == inputs_sent and 0 <= now - polled.taken_at <= limit_s


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
                 cancel: threading.Event | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.screen = screen
        self._seat = seat
        self._clipboard = clipboard
        self.cancel = cancel or threading.Event()
        self._captured: Region | None = None
        first = screen.capture_region()
        # Unknown until the first move: the middle of the target, where nothing is clicked.
        self._pointer = (first.left + first.width // 2, first.top + first.height // 2)
        self._held: set[int] = set()
        self._clock = clock
        self._polled: PolledFrame | None = None

    def monitors(self) -> list[Region]:
        return self.screen.monitors()

    def capture(self) -> Frame:
        # A step's capture follows the settle poll after its action: when no input came
        # since and the poll just returned, its frame is the screen now (saves a capture,
        # the largest part of a step here). Used once; every poll itself is fresh.
        polled, self._polled = self._polled, None
        if polled is not None and reusable(polled, self._seat.sent, self._clock()):
            frame = polled.frame
        else:
            frame = self.screen.capture()
        self._captured = frame.region
        return frame

    def poll_image(self) -> Image:
        inputs_sent = self._seat.sent
        frame = self.screen.capture()
        self._polled = PolledFrame(frame, self._clock(), inputs_sent)
        return box_reduce(frame.image, DEFAULT_THUMB_SIZE).convert("L")

    def cursor_position(self) -> tuple[int, int]:
        return self._pointer

    def perform(self, action: ScreenAction) -> None:
        check_stop(self.cancel)
        perform(action, self)

    def release_all(self) -> None:
        for button in ("left", "middle", "right"):
            self._seat.button(button, False)
        held, self._held = self._held, set()
        self._seat.keys([(code, False) for code in sorted(held)])

    # -- the primitives ``perform`` drives ------------------------------------------
    def move(self, point: Point) -> None:
        self._seat.move(*point)
        self._pointer = point

    def click(self, point: Point | None, button: Button, clicks: int) -> None:
        if point is None:
            # Where the pointer was last put: KWin moves it only for us or the user, and
            # the user's moves cannot be seen here (Capability.READ_POINTER is missing).
            point = self._pointer
            region = self._captured or self.screen.capture_region()
            if not region.contains(*point):
                raise OffScreenError(f"the pointer is at {point}, outside the captured monitor {region}")
        check_stop(self.cancel)
        self._seat.click(point[0], point[1], button, clicks)
        self._pointer = point

    def drag(self, end: Point) -> None:
        start = self._pointer
        check_stop(self.cancel)
        self._seat.button("left", True)
        try:
            for step in drag_path(start, end):
                self.move(step)
        finally:
            self._seat.button("left", False)

    def scroll(self, point: Point | None, axis: Axis, steps: int) -> None:
        if point is not None:
            self.move(point)
        # pyautogui's sense (positive is up) on X11; wl_pointer's axis is positive down.
        if axis == "vertical":
            self._seat.scroll(VERTICAL, -float(steps))
        else:
            self._seat.scroll(HORIZONTAL, float(steps))

    def chord(self, keys: tuple[str, ...] | list[str]) -> None:
        """Press ``keys`` in order and release them in reverse."""
        codes = chord_codes(keys)
        check_stop(self.cancel)
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

    def type_text(self, text: str) -> None:
        for kind, run in segment_text(text, typeable):
            check_stop(self.cancel)
            if kind == "keys":
                self._type_chars(run)
            elif kind == "key":
                self.chord((run,))
            else:
                self._clipboard.paste(run, lambda: self.chord(PASTE_CHORD))

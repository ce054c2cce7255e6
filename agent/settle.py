"""Waiting, after an action, until the screen stops changing (or a cap runs out)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.errors import StoppedError

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.computers.screen import MssScreen

DEFAULT_THUMB_SIZE: tuple[int, int] = (192, 108)

# Grey levels (of 255) a thumbnail pixel must move to count as changed. Each thumbnail
# pixel averages a block (10x10 at 1080p), and one full-contrast screen pixel moves its
# block by 2.55, so any visible change counts; it only absorbs the rounding of averages.
PIXEL_THRESHOLD = 2

# The fraction of thumbnail pixels that may change between polls and still count as
# "no change": about 10 of 192x108, i.e. a 30x30-pixel patch at 1080p. That ignores a
# blinking caret, a small spinner or a tray clock, each of which would otherwise keep
# the screen "unsettled" until the timeout on every step; a menu, dialog, page or
# window change is orders of magnitude larger. Pass tolerance=0 to react to any change:
# a real caret blinks every 500 ms or so, longer than quiet_s, so it then costs at most
# one more quiet period rather than the whole timeout.
DEFAULT_TOLERANCE = 0.0005


@dataclass(frozen=True)
class SettleResult:
    """How a wait for a still screen ended."""

    settled: bool  # False: still changing when the timeout ran out
    waited_s: float
    polls: int  # captures taken, the first included
    since_last_change_s: float  # quiet time seen at the end


def thumbnail(image: Image, size: tuple[int, int] = DEFAULT_THUMB_SIZE) -> Image:
    """A small greyscale copy for change detection; an image already that small is kept.

    ``reduce`` by a whole factor box-averages, so a change anywhere in a block still
    moves its thumbnail pixel; the result is within one block of ``size``.
    """
    image = _box_reduce(image, size)
    return image if image.mode == "L" else image.convert("L")


def _box_reduce(image: Image, size: tuple[int, int]) -> Image:
    """``image`` box-reduced by the whole factor that brings it nearest ``size``, any mode."""
    factor = max(1, min(image.width // size[0], image.height // size[1]))
    return image.reduce(factor) if factor > 1 else image


def changed_fraction(before: Image, after: Image, pixel_threshold: int = PIXEL_THRESHOLD) -> float:
    """The fraction of pixels whose grey level moved by more than ``pixel_threshold``.

    Thumbnails of different sizes (the monitor changed resolution) differ entirely.
    """
    from PIL import ImageChops

    if before.size != after.size:
        return 1.0
    counts = ImageChops.difference(thumbnail(before, before.size), thumbnail(after, after.size)).histogram()
    return sum(counts[pixel_threshold + 1 :]) / (after.width * after.height)


def wait_until_settled(
    grab: Callable[[], Image],
    cancel: threading.Event,
    *,
    quiet_s: float = 0.1,
    poll_s: float = 0.02,
    timeout_s: float = 3.0,
    thumb_size: tuple[int, int] = DEFAULT_THUMB_SIZE,
    tolerance: float = DEFAULT_TOLERANCE,
    clock: Callable[[], float] = time.monotonic,
    wait: Callable[[float], bool] | None = None,
) -> SettleResult:
    """Poll ``grab`` until nothing changed for ``quiet_s`` (settled) or ``timeout_s`` passed.

    Raises StoppedError as soon as ``cancel`` is set: every pause is ``cancel.wait``.
    ``clock`` and ``wait`` (returns True when cancelled) let tests run on a fake clock.
    """
    pause = cancel.wait if wait is None else wait
    if cancel.is_set():
        raise StoppedError("stopped while waiting for the screen to settle")
    start = clock()
    deadline = start + timeout_s
    previous = thumbnail(grab(), thumb_size)
    polls = 1
    last_change = start
    while True:
        now = clock()
        quiet_at = last_change + quiet_s
        if now >= quiet_at:
            return SettleResult(True, now - start, polls, now - last_change)
        if now >= deadline:
            return SettleResult(False, now - start, polls, now - last_change)
        # Never sleep past the quiet point or the deadline: both end the wait.
        if pause(min(poll_s, quiet_at - now, deadline - now)) or cancel.is_set():
            raise StoppedError("stopped while waiting for the screen to settle")
        current = thumbnail(grab(), thumb_size)
        polls += 1
        if changed_fraction(previous, current) > tolerance:
            # The change happened at some point since the last poll; dating it at this
            # capture errs on the side of waiting a little longer.
            last_change = clock()
        previous = current


class ThumbnailGrabber:
    """A cheap capture for polling: grabs the screen's region and returns a thumbnail.

    It skips what a full ``Frame`` needs (an RGB copy at full size, the geometry), which
    makes a 1080p poll about 3 ms instead of about 13 ms through ``MssScreen.capture()``.
    """

    def __init__(self, screen: MssScreen, thumb_size: tuple[int, int] = DEFAULT_THUMB_SIZE) -> None:
        self._screen = screen
        self._thumb_size = thumb_size

    def __call__(self) -> Image:
        from PIL import Image

        shot = self._screen.grab(self._screen.capture_region())
        # Box-average the grab's own buffer in place (mapped, not copied), then put the
        # few remaining pixels in RGB order: a full-size RGB copy would cost ~4x the poll.
        bgrx = Image.frombuffer("RGBX", shot.size, shot.raw, "raw", "RGBX", 0, 1)
        blue, green, red, _ = _box_reduce(bgrx, self._thumb_size).split()
        return Image.merge("RGB", (red, green, blue)).convert("L")


def thumbnail_grabber(
    screen: MssScreen, thumb_size: tuple[int, int] = DEFAULT_THUMB_SIZE
) -> ThumbnailGrabber:
    """The cheap poll capture for ``wait_until_settled`` on a real screen."""
    return ThumbnailGrabber(screen, thumb_size)

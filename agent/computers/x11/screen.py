"""Screen capture with mss: monitors, the region a target covers, and frames."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL.Image import Image

from agent.computers.base import CaptureTarget, Frame
from agent.errors import DisplayError
from agent.geometry import CaptureGeometry, Region
from agent.imaging import DEFAULT_THUMB_SIZE, box_reduce


def require_display() -> None:
    """Fail with a clear message, before importing X libraries, when there is no display.

    Whether this session is X11 at all is ``agent.computers.selection``'s decision; this
    only keeps an X library from failing over several lines without a DISPLAY.
    """
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        raise DisplayError("no display: DISPLAY is not set (start an X session or Xvfb)")


def _region(monitor: dict[str, int]) -> Region:
    return Region(monitor["left"], monitor["top"], monitor["width"], monitor["height"])


class MssScreen:
    """Captures a monitor, the monitor under the pointer, or a fixed region."""

    def __init__(
        self,
        target: CaptureTarget = 1,
        pointer: Callable[[], tuple[int, int]] | None = None,
    ) -> None:
        require_display()
        try:
            import mss
        except Exception as err:
            raise DisplayError(f"cannot load the capture library: {err}") from None
        # mss 10.2 renamed the class; keep working on either side of that.
        self._mss_class = getattr(mss, "MSS", None) or mss.mss
        self._target = target
        self._pointer = pointer
        self._local = threading.local()
        self.monitors()  # open the display now, so a bad one fails here with a clear error

    def _sct(self) -> Any:
        # mss keeps per-thread X resources; one instance per calling thread.
        sct = getattr(self._local, "sct", None)
        if sct is None:
            try:
                sct = self._local.sct = self._mss_class()
            except Exception as err:
                raise DisplayError(f"cannot open the display for capture: {err}") from None
        return sct

    def monitors(self) -> list[Region]:
        """Physical monitors; element 0 is mss monitor 1 (the primary)."""
        return [_region(m) for m in self._sct().monitors[1:]]

    def capture_region(self) -> Region:
        """The desktop rectangle the configured target covers right now."""
        target = self._target
        if isinstance(target, Region):
            return target
        monitors = self._sct().monitors
        if target == "cursor":
            if self._pointer is None:
                raise DisplayError("capturing the monitor under the pointer needs pointer access")
            x, y = self._pointer()
            for mon in monitors[1:]:
                if _region(mon).contains(x, y):
                    return _region(mon)
            return _region(monitors[1])
        if not 0 <= target < len(monitors):
            raise DisplayError(
                f"no monitor {target}: this display has monitors 1..{len(monitors) - 1} "
                "(0 is all of them together)"
            )
        return _region(monitors[target])

    def grab(self, region: Region) -> Any:
        """The raw mss shot of ``region`` (BGRX bytes in ``.raw``), on this thread's mss."""
        box = {"left": region.left, "top": region.top, "width": region.width, "height": region.height}
        try:
            return self._sct().grab(box)
        except Exception as err:
            raise DisplayError(f"screen capture failed: {err}") from None

    def capture(self) -> Frame:
        from PIL import Image

        region = self.capture_region()
        shot = self.grab(region)
        # shot.raw is the grab buffer itself; shot.bgra would copy all of it once more.
        image = Image.frombuffer("RGB", shot.size, shot.raw, "raw", "BGRX", 0, 1)
        return Frame(image=image, geometry=CaptureGeometry(region, image.width, image.height))


    def snapshot(self) -> Callable[[], Frame]:
        """Grab now (about 0.4 ms of CPU at 1080p); the RGB conversion (about 10 ms) waits for the call."""
        import time

        region = self.capture_region()
        shot = self.grab(region)
        grabbed = time.monotonic()  # the reply is in: the picture is at least this old

        def frame() -> Frame:
            from PIL import Image

            image = Image.frombuffer("RGB", shot.size, shot.raw, "raw", "BGRX", 0, 1)
            geometry = CaptureGeometry(region, image.width, image.height)
            return Frame(image=image, geometry=geometry, captured_at=grabbed)

        return frame


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
        blue, green, red, _ = box_reduce(bgrx, self._thumb_size).split()
        return Image.merge("RGB", (red, green, blue)).convert("L")


def thumbnail_grabber(
    screen: MssScreen, thumb_size: tuple[int, int] = DEFAULT_THUMB_SIZE
) -> ThumbnailGrabber:
    """The cheap poll capture for ``wait_until_settled`` on a real screen."""
    return ThumbnailGrabber(screen, thumb_size)

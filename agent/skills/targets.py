"""What a skill looks at on the screen: a region, the active window or a monitor, captured by the run core."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from PIL.Image import Image

    from agent.computers.base import CaptureTarget, Computer
    from agent.computers.platform import Platform


def capture_image(
    target: CaptureTarget,
    stop: threading.Event,
    wrap_computer: Callable[[Computer], Computer] | None = None,
    platform: Platform | None = None,
) -> Image:
    """One frame of ``target`` through the run core's Capture service; a front end with windows
    of its own passes ``wrap_computer`` (the tray's hides the overlay around the grab).
    ``platform`` defaults to this session's (``agent.computers.selection``)."""
    from agent.computers.selection import select_platform
    from agent.run.capture import Capture

    desktop = platform if platform is not None else select_platform()
    computer: Computer = desktop.computer(target, cancel=stop)
    if wrap_computer is not None:
        computer = wrap_computer(computer)
    capture = Capture(computer, stop)
    # A front end may just have hidden its own window, and a terminal just printed:
    # grab a still screen, not one half repainted.
    capture.settle()
    return capture.frame().image

"""What a skill looks at on the screen: a region, the active window or a monitor, captured by the run core."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from agent.errors import DisplayError
from agent.geometry import Region

if TYPE_CHECKING:
    from collections.abc import Callable

    from PIL.Image import Image

    from agent.computers.base import CaptureTarget, Computer


def active_window_region() -> Region:
    """The active top-level window's rectangle (EWMH, else the input focus, else under the pointer)."""
    try:
        from Xlib import X, display
        from Xlib.error import XError
    except ImportError as err:
        raise DisplayError(f"--window needs python-xlib: {err}") from None
    try:
        conn = display.Display()
    except Exception as err:
        raise DisplayError(f"cannot open the display: {err}") from None
    try:
        root = conn.screen().root
        window = None
        prop = root.get_full_property(conn.intern_atom("_NET_ACTIVE_WINDOW"), X.AnyPropertyType)
        if prop is not None and prop.value and int(prop.value[0]):
            window = conn.create_resource_object("window", int(prop.value[0]))
        else:
            focus = conn.get_input_focus().focus
            if not isinstance(focus, int) and focus != root:
                window = focus
        if window is None:
            # No window manager: focus follows the pointer, so the active window is the one under it.
            child = root.query_pointer().child
            if child and not isinstance(child, int):
                window = child
        if window is None:
            raise DisplayError("no active window (focus the window to capture, or use --region)")
        # Walk up to the child of the root: the frame a window manager drew around the client.
        while True:
            parent = window.query_tree().parent
            if parent is None or parent == root or parent == 0:
                break
            window = parent
        geometry = window.get_geometry()
        origin = window.translate_coords(root, 0, 0)
        return Region(-origin.x, -origin.y, geometry.width, geometry.height)
    except XError as err:
        raise DisplayError(f"cannot read the active window: {err}") from None
    finally:
        conn.close()


def capture_image(
    target: CaptureTarget,
    stop: threading.Event,
    wrap_computer: Callable[[Computer], Computer] | None = None,
) -> Image:
    """One frame of ``target`` through the run core's Capture service; a front end with windows
    of its own passes ``wrap_computer`` (the tray's hides the overlay around the grab)."""
    from agent.computers.desktop import DesktopComputer
    from agent.run.capture import Capture

    computer: Computer = DesktopComputer(target, cancel=stop)
    if wrap_computer is not None:
        computer = wrap_computer(computer)
    capture = Capture(computer, stop)
    # A front end may just have hidden its own window, and a terminal just printed:
    # grab a still screen, not one half repainted.
    capture.settle()
    return capture.frame().image

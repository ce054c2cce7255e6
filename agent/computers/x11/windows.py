"""Top-level windows on X11: the title under a point (for policy rules) and the active window's rectangle."""

from __future__ import annotations

import logging
from typing import Any

from agent.errors import DisplayError
from agent.geometry import Region

log = logging.getLogger(__name__)


class X11Windows:
    """Looks windows up through python-xlib; one display connection per instance."""

    def __init__(self) -> None:
        from Xlib import display

        self._display = display.Display()
        self._root = self._display.screen().root
        self._net_wm_name = self._display.intern_atom("_NET_WM_NAME")
        self._utf8 = self._display.intern_atom("UTF8_STRING")

    def _name(self, window: Any) -> str | None:
        prop = window.get_full_property(self._net_wm_name, self._utf8)
        if prop is not None and prop.value:
            value = prop.value
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        name = window.get_wm_name()
        return str(name) if name else None

    def title_at(self, x: int, y: int) -> str | None:
        """Walk from the root down the stack of windows containing the point to the first named one."""
        try:
            window = self._root
            for _ in range(8):  # window managers nest a frame or two around the client
                reply = window.translate_coords(self._root, x, y)
                child = reply.child
                if not child:
                    return self._name(window) if window != self._root else None
                name = self._name(child)
                if name:
                    return name
                window = child
        except Exception as err:  # a window can vanish between the two requests
            log.debug("window lookup at (%d, %d) failed: %s", x, y, err)
        return None

    def focused_title(self) -> str | None:
        """The title of the window that gets the keyboard: the input focus, walked up to a named
        window; with focus following the pointer (no window manager), the one under the pointer."""
        try:
            focus = self._display.get_input_focus().focus
            if isinstance(focus, int) or focus == self._root:  # PointerRoot or None
                pointer = self._root.query_pointer()
                return self.title_at(pointer.root_x, pointer.root_y)
            window = focus
            for _ in range(8):
                name = self._name(window)
                if name:
                    return name
                parent = window.query_tree().parent
                if not parent or parent == self._root:
                    return None
                window = parent
        except Exception as err:  # the focused window can vanish while we look
            log.debug("focus lookup failed: %s", err)
        return None


def active_window_region() -> Region:
    """The active top-level window's rectangle (EWMH, else the input focus, else under the pointer)."""
    try:
        from Xlib import X, display
        from Xlib.error import XError
    except ImportError as err:
        raise DisplayError(f"looking windows up needs python-xlib: {err}") from None
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

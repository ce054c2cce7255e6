"""The X11 window stack the accessibility tree asks: the active window, the one on top at a point."""

from __future__ import annotations

import logging
from typing import Any

from agent.errors import DisplayError
from agent.geometry import Region
from agent.ports import ScreenWindow

log = logging.getLogger(__name__)

# A window manager nests the client a frame or two below the root's child.
_DEPTH = 4


class X11Stack:
    """A ``WindowStack`` through python-xlib; one display connection per instance (opened lazily)."""

    def __init__(self) -> None:
        self._conn: Any = None

    def _display(self) -> Any:
        if self._conn is None:
            try:
                from Xlib import display

                self._conn = display.Display()
            except Exception as err:  # no DISPLAY, or python-xlib missing
                raise DisplayError(f"cannot open the display: {err}") from None
            self._pid_atom = self._conn.intern_atom("_NET_WM_PID")
            self._name_atom = self._conn.intern_atom("_NET_WM_NAME")
            self._utf8 = self._conn.intern_atom("UTF8_STRING")
            self._state_atom = self._conn.intern_atom("WM_STATE")
            self._active_atom = self._conn.intern_atom("_NET_ACTIVE_WINDOW")
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- window facts ----------------------------------------------------------------
    def _pid(self, window: Any) -> int:
        from Xlib import X

        prop = window.get_full_property(self._pid_atom, X.AnyPropertyType)
        return int(prop.value[0]) if prop is not None and len(prop.value) else 0

    def _title(self, window: Any) -> str:
        prop = window.get_full_property(self._name_atom, self._utf8)
        if prop is not None and prop.value:
            value = prop.value
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        name = window.get_wm_name()
        return str(name) if name else ""

    def _is_client(self, window: Any) -> bool:
        from Xlib import X

        return window.get_full_property(self._state_atom, X.AnyPropertyType) is not None or bool(
            self._pid(window)
        )

    def _client(self, window: Any, depth: int = _DEPTH) -> Any:
        """The application's own window at or below ``window`` (below a WM frame), else None."""
        if self._is_client(window):
            return window
        if depth == 0:
            return None
        for child in reversed(window.query_tree().children):
            found = self._client(child, depth - 1)
            if found is not None:
                return found
        return None

    def _describe(self, window: Any) -> ScreenWindow | None:
        conn = self._display()
        root = conn.screen().root
        geometry = window.get_geometry()
        origin = window.translate_coords(root, 0, 0)
        if geometry.width <= 0 or geometry.height <= 0:
            return None
        region = Region(-origin.x, -origin.y, geometry.width, geometry.height)
        return ScreenWindow(int(window.id), self._pid(window), self._title(window), region)

    def _top_levels(self) -> list[Any]:
        """The root's mapped children, top-most first (query_tree lists them bottom to top)."""
        from Xlib import X

        root = self._display().screen().root
        shown = []
        for child in reversed(root.query_tree().children):
            try:
                if child.get_attributes().map_state == X.IsViewable:
                    shown.append(child)
            except Exception:  # a window can vanish while we look
                continue
        return shown

    # -- the WindowStack seam -----------------------------------------------------------
    def active(self) -> ScreenWindow | None:
        from Xlib import X

        try:
            conn = self._display()
            root = conn.screen().root
            window = None
            prop = root.get_full_property(self._active_atom, X.AnyPropertyType)
            if prop is not None and len(prop.value) and int(prop.value[0]):
                window = conn.create_resource_object("window", int(prop.value[0]))
            else:
                focus = conn.get_input_focus().focus
                if not isinstance(focus, int) and focus != root:
                    window = focus
            if window is None:
                # No window manager and no focus: the active window is the one under the pointer.
                pointer = root.query_pointer()
                return self.top_at(pointer.root_x, pointer.root_y)
            top = window
            while True:  # up to the root's child, then down to the client (focus may sit on a child)
                parent = top.query_tree().parent
                if not parent or parent == root:
                    break
                top = parent
            client = self._client(top) or window
            return self._describe(client)
        except DisplayError:
            raise
        except Exception as err:  # windows come and go between requests
            log.debug("active window lookup failed: %s", err)
            return None

    def top_at(self, x: int, y: int) -> ScreenWindow | None:
        try:
            for top in self._top_levels():
                found = self._describe(top)
                if found is None or not found.region.contains(x, y):
                    continue
                client = self._client(top)
                return self._describe(client) if client is not None else found
        except DisplayError:
            raise
        except Exception as err:
            log.debug("window lookup at (%d, %d) failed: %s", x, y, err)
        return None

    def find(self, pid: int, title: str) -> ScreenWindow | None:
        fallback: ScreenWindow | None = None
        try:
            for top in self._top_levels():
                client = self._client(top)
                if client is None or self._pid(client) != pid:
                    continue
                found = self._describe(client)
                if found is not None and found.title == title:
                    return found
                fallback = fallback or found
        except DisplayError:
            raise
        except Exception as err:
            log.debug("window lookup for pid %d failed: %s", pid, err)
        return fallback

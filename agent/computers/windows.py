"""The title of the top-level window under a screen point, on X11 (for window-based policy rules)."""

from __future__ import annotations

import logging
from typing import Any

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

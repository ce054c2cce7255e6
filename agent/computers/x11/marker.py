"""The X11 acting mark: a root-window property while Deskpilot acts, so a recorder can drop its input.

X does not mark XTEST input as injected (see platform facts), and the recorder runs in
another process than the player or the agent. So the acting process sets the root
window property ``_DESKPILOT_ACTING`` to the wall-clock time its input may still be
arriving until ("far ahead" while it acts, a short grace after), and the recorder
drops every event that arrives while the mark holds. Real input during that grace
is dropped too: the price of never recording Deskpilot's own.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)

PROPERTY = "_DESKPILOT_ACTING"
# How long after an action its input may still be reaching other clients' listeners.
GRACE_S = 0.2
_ACTING_S = 3600.0


class _Root:
    """One X connection to the root window's mark; thread-safe."""

    def __init__(self) -> None:
        from Xlib import X, Xatom, display

        self._display = display.Display()
        self._root = self._display.screen().root
        self._atom = self._display.intern_atom(PROPERTY)
        self._string = Xatom.STRING
        self._replace = X.PropModeReplace
        self._lock = threading.Lock()

    def set_until(self, until: float) -> None:
        with self._lock:
            self._root.change_property(self._atom, self._string, 8, f"{until:.3f}".encode(), self._replace)
            self._display.sync()

    def until(self) -> float:
        with self._lock:
            prop: Any = self._root.get_full_property(self._atom, self._string)
        if prop is None or not prop.value:
            return 0.0
        value = prop.value
        try:
            return float(value.decode() if isinstance(value, bytes) else value)
        except ValueError:
            return 0.0

    def close(self) -> None:
        with self._lock:
            self._display.close()


class RootWindowMark:
    """The X11 ``ActingMark``: set around every action by the run's desktop session, read by the recorder."""

    def __init__(self) -> None:
        self._root = _Root()

    @contextlib.contextmanager
    def acting(self) -> Iterator[None]:
        self._root.set_until(time.time() + _ACTING_S)
        try:
            yield
        finally:
            self._root.set_until(time.time() + GRACE_S)

    def active(self) -> bool:
        return self._root.until() > time.time()

    def close(self) -> None:
        self._root.close()

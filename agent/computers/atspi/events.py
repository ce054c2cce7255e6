"""The accessibility tree's events: when did the desktop last change, and has it been quiet since?

libatspi delivers events through GLib's default main context, and it also dispatches
them from inside its own blocking calls on whichever thread makes them. A second
thread running a loop of its own fights those calls over the same connection (a
lookup then misses its replies: measured here, find() came back empty), so nothing
here starts a thread: ``wait_quiet`` dispatches what is pending on the caller's
thread between short, stop-interruptible waits. Where another thread owns the
default context (the tray's Qt loop), that thread dispatches the events instead and
the callback, which only notes the time, is safe on either.
"""

from __future__ import annotations

import threading
import time
from typing import Any

# Loads, windows, focus and text: what an action changes and a settle waits out (issue 21).
# Chromium replaces a paragraph's text by children-changed, not text-changed.
EVENT_TYPES = (
    "document:load-complete",
    "document:reload",
    "window:activate",
    "window:create",
    "window:destroy",
    "object:state-changed:focused",
    "object:state-changed:showing",
    "object:text-changed",
    "object:children-changed",
    "object:property-change:accessible-name",
)
_POLL_S = 0.01  # between dispatches of pending events: events come 6-25 ms after a click


class EventWatch:
    """Notes when the last accessibility event arrived; ``wait_quiet`` waits for a gap without one."""

    def __init__(self, atspi: Any) -> None:
        from gi.repository import GLib

        self._lock = threading.Lock()
        self._last: float | None = None
        self.count = 0
        self._context = GLib.MainContext.default()
        self._listener = atspi.EventListener.new(self._on_event)
        for kind in EVENT_TYPES:
            self._listener.register(kind)

    def _on_event(self, _event: Any) -> None:
        with self._lock:
            self._last = time.monotonic()
            self.count += 1

    def _dispatch(self) -> None:
        """Deliver the events waiting on the connection (returns at once; a no-op where another
        thread owns the context, which then delivers them itself)."""
        while self._context.iteration(False):
            pass

    def wait_quiet(self, gap_s: float, timeout_s: float, stop: threading.Event) -> bool:
        """True once no event came for ``gap_s`` after the call began; False when ``timeout_s``
        passed first, or at once when ``stop`` is set (the caller checks it)."""
        started = time.monotonic()
        deadline = started + timeout_s
        while True:
            self._dispatch()
            now = time.monotonic()
            with self._lock:
                last = self._last
            # Events from before the call belong to what came before the action.
            since = now - max(started, last or started)
            if since >= gap_s:
                return True
            if now >= deadline:
                return False
            if stop.wait(min(_POLL_S, gap_s - since, deadline - now)):
                return False

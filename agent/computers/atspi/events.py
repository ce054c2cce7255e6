"""The accessibility tree's events: when did the desktop last change, has it been quiet since,
and what came from an application after an action (its effect, agent.effects)?

libatspi delivers events through GLib's default main context, and it also dispatches
them from inside its own blocking calls on whichever thread makes them. A second
thread running a loop of its own fights those calls over the same connection (a
lookup then misses its replies: measured here, find() came back empty), so nothing
here starts a thread: ``wait_quiet`` dispatches what is pending on the caller's
thread between short, stop-interruptible waits. Where another thread owns the
default context (the tray's Qt loop), that thread dispatches the events instead and
the callback, which only notes the event, is safe on either.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
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
# What an action's effect may show as (agent.effects): the settle's kinds, widened to
# every state and property (checked, pressed, expanded, value). One listener serves both;
# a settle still counts only EVENT_TYPES, so its gaps are what they were.
CONFIRM_TYPES = (
    "document:load-complete",
    "document:reload",
    "window:activate",
    "window:create",
    "window:destroy",
    "object:state-changed",
    "object:text-changed",
    "object:children-changed",
    "object:property-change",
    "object:value-changed",
)
_POLL_S = 0.01  # between dispatches of pending events: events come 6-25 ms after a click
_KEPT = 512  # recent events kept for confirming an effect (a page load sends a few hundred)


@dataclass(frozen=True)
class Heard:
    """One event as it was dispatched: its order, time, type, and the object it came from."""

    seq: int
    at: float
    kind: str
    source: Any


class EventWatch:
    """Notes when the last accessibility event arrived; ``wait_quiet`` waits for a gap without one."""

    def __init__(self, atspi: Any) -> None:
        from gi.repository import GLib

        self._lock = threading.Lock()
        self._last: float | None = None
        self.count = 0  # events a settle counts
        self._seq = 0  # every event heard
        self._heard: deque[Heard] = deque(maxlen=_KEPT)
        self._context = GLib.MainContext.default()
        self._listener = atspi.EventListener.new(self._on_event)
        for kind in CONFIRM_TYPES:
            self._listener.register(kind)

    def _on_event(self, event: Any) -> None:
        kind = str(event.type or "")
        now = time.monotonic()
        with self._lock:
            self._seq += 1
            self._heard.append(Heard(self._seq, now, kind, event.source))
            if kind.startswith(EVENT_TYPES):
                self._last = now
                self.count += 1

    def mark(self) -> tuple[int, float]:
        """The place and time "from now on" begins: what was pending is delivered first, so an
        event caused before the mark never counts as coming after it."""
        self._dispatch()
        with self._lock:
            return self._seq, time.monotonic()

    def _dispatch(self) -> None:
        """Deliver the events waiting on the connection (returns at once; a no-op where another
        thread owns the context, which then delivers them itself)."""
        while self._context.iteration(False):
            pass

    def _since(self, seq: int) -> list[Heard]:
        """The events heard after ``seq`` (that are still kept), after delivering what is pending."""
        self._dispatch()
        with self._lock:
            return [h for h in self._heard if h.seq > seq]

    def wait_for(
        self, seq: int, counts: Callable[[Heard], bool], timeout_s: float, stop: threading.Event
    ) -> Heard | None:
        """The first event after ``seq`` that ``counts`` (an effect from the watched application);
        None when ``timeout_s`` passed or ``stop`` was set first (the caller checks the stop)."""
        deadline = time.monotonic() + timeout_s
        while True:
            for heard in self._since(seq):
                if counts(heard):
                    return heard
                seq = heard.seq  # each event is judged once
            now = time.monotonic()
            if now >= deadline or stop.wait(min(_POLL_S, deadline - now)):
                return None

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

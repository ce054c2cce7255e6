"""The one pynput listener lifecycle, behind X11InputWatching (the kill switch, takeover and recorder use it).

pynput marks a listener ready before X records for it, and its ``stop()`` leaves the
thread blocked until one more input event arrives; both are handled here once.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from types import ModuleType
from typing import Any

from agent.errors import DisplayError

_log = logging.getLogger(__name__)

# The RECORD reply category X sends once a context is really enabled.
_START_OF_DATA = 4
_START_TIMEOUT_S = 5.0
_STOP_TIMEOUT_S = 2.0


def import_pynput(what: str) -> tuple[ModuleType, ModuleType]:
    """pynput's keyboard and mouse modules, or a one-line DisplayError naming ``what``."""
    from agent.computers.x11.screen import require_display

    require_display()
    try:
        from pynput import keyboard, mouse
    except ImportError as err:
        # pynput explains a missing X server over several lines; the first one says it.
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DisplayError(f"cannot listen for the {what}: {reason}") from None
    return keyboard, mouse


def recording_listener(base: type) -> type:
    """Subclass a pynput X listener so it says when X has really started recording for it.

    pynput marks a listener ready *before* it enables its RECORD context, so input sent
    right after ``wait()`` can be lost, and a stop sent in that gap is lost too. X's
    StartOfData reply is the real start; the subclass sets ``recording`` on it.
    """

    class Recording(base):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.recording = threading.Event()
            self.failure: Exception | None = None

        def run(self) -> None:
            try:
                super().run()
            except Exception as err:  # start_listener reports it; no stray thread traceback
                self.failure = err
                _log.warning("the %s ended: %s", type(self).__name__, err)

        def _handler(self, events: Any) -> Any:
            if getattr(events, "category", None) == _START_OF_DATA:
                self.recording.set()
            return super()._handler(events)

    Recording.__name__ = Recording.__qualname__ = f"Recording{base.__name__}"
    return Recording


class ServerClock:
    """X server event times mapped onto ``time.monotonic()``.

    X stamps each event with the server's clock in milliseconds (wrapping at 2**32); the
    event reaches this process a delivery delay d >= 0 later, so ``arrival - server``
    is the clocks' offset plus d. The smallest value seen is the closest to the offset
    (its error is the least delay seen, about a millisecond with motion events flowing),
    and never puts an event earlier than it happened, so a screen grabbed before the
    mapped time was grabbed before the event. A jump of more than a minute is not a
    delay but a wrap or another server: the offset starts again from that event.
    """

    _REBASE_S = 60.0

    def __init__(self) -> None:
        self._offset: float | None = None

    def monotonic(self, server_ms: int, arrival: float) -> float:
        """When the event stamped ``server_ms`` happened, on the monotonic clock; at most ``arrival``."""
        offset = arrival - server_ms / 1000
        if self._offset is None or offset < self._offset or offset - self._offset > self._REBASE_S:
            self._offset = offset
        return min(arrival, server_ms / 1000 + self._offset)


def timed_listener(base: type) -> type:
    """Subclass a pynput X listener so ``event_time`` holds the event being handled's time (monotonic).

    pynput's callbacks drop the server's timestamp; they run inside ``_handle_message``
    on the same thread, so the callback reads the time of its own event.
    """

    class Timed(base):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.clock = ServerClock()
            self.event_time = 0.0

        def _handle_message(self, display: Any, event: Any, injected: Any) -> Any:
            arrival = time.monotonic()
            server_ms = getattr(event, "time", None)
            self.event_time = arrival if server_ms is None else self.clock.monotonic(int(server_ms), arrival)
            return super()._handle_message(display, event, injected)

    Timed.__name__ = Timed.__qualname__ = f"Timed{base.__name__}"
    return Timed


def start_listener(listener: Any, what: str, timeout_s: float = _START_TIMEOUT_S) -> None:
    """Start a ``recording_listener`` and return once X records for it, else DisplayError."""
    listener.start()
    deadline = time.monotonic() + timeout_s
    while not listener.recording.wait(0.02):
        if not listener.is_alive():
            failure = getattr(listener, "failure", None)
            reason = str(failure).strip().splitlines()[0] if failure and str(failure).strip() else ""
            raise DisplayError(
                f"cannot listen for the {what}: the X input listener failed to start"
                + (f" ({reason})" if reason else "")
            )
        if time.monotonic() >= deadline:
            stop_listener(listener)
            raise DisplayError(
                f"cannot listen for the {what}: X did not start recording input in {timeout_s:g} s "
                "(is the RECORD extension enabled?)"
            )


def stop_listener(listener: Any, timeout_s: float = _STOP_TIMEOUT_S) -> bool:
    """Stop a started pynput listener and wait for its thread to end; True when it did.

    pynput's own stop only queues a disable request on the connection its thread is
    blocked reading, so the thread lives on until the next input event. Disabling the
    record context from a fresh connection ends it at once, and sends no input that
    other listeners (the takeover detector) would mistake for the user.
    """
    if not listener.is_alive():
        return True
    if not getattr(listener, "_ready", True):
        # pynput's stop() would block until the listener is ready, which may be never.
        _log.warning("the %s never became ready; leaving its daemon thread", type(listener).__name__)
        return False
    listener.stop()
    context = getattr(listener, "_context", None)
    if context is not None and sys.platform.startswith("linux"):
        _disable_record_context(context)
    listener.join(timeout_s)
    alive = bool(listener.is_alive())
    if alive:
        _log.warning("the %s thread did not end within %.1f s", type(listener).__name__, timeout_s)
    return not alive


def _quiet_x_error(error: Any, request: Any = None) -> None:
    _log.debug("X error while stopping a listener: %s", error)


def _disable_record_context(context: int) -> None:
    try:
        import Xlib.display

        display = Xlib.display.Display()
    except Exception as err:  # the X server may already be gone; then the thread ends anyway
        _log.debug("cannot open a display to stop recording: %s", err)
        return
    # Already disabled (pynput's own stop got there first) is a harmless X error: keep it
    # out of stderr.
    display.set_error_handler(_quiet_x_error)
    try:
        display.record_disable_context(context)
        display.sync()
    except Exception as err:
        _log.debug("disabling the record context failed: %s", err)
    finally:
        display.close()

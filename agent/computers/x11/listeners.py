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

"""Paste text through the RemoteDesktop session's clipboard, restoring the user's text afterwards.

Keysyms outside the layout are dropped by Mutter, so every Unicode text is pasted:
the session becomes the clipboard owner with the text, Ctrl+V is pressed, and the
paste counts as taken when an application asked for the text (``SelectionTransfer``)
and no further request came for ``quiet_s``. Nobody asking within
``paste_timeout_s`` is a ``ClipboardError``, as on X11; the cancel event ends the
wait with ``StoppedError``. The user's text (the owner's ``text/plain;charset=utf-8``)
is read before and offered again after, served by the session until someone else
copies or the run ends: Mutter drops a closed session's selection, so a text the user
copied before the run is gone after it unless they copy again (no helper outlives the
run, unlike X11's ``xclip``). Only text is restored; another kind of content is not.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from agent.computers.gnome.mutter import MutterSession, Transfer
from agent.errors import ClipboardError, DisplayError, StoppedError

log = logging.getLogger(__name__)

TEXT_MIME = "text/plain;charset=utf-8"
OFFERED = [TEXT_MIME, "text/plain", "UTF8_STRING", "STRING", "TEXT"]
DEFAULT_PASTE_TIMEOUT_S = 3.0
DEFAULT_QUIET_S = 0.1
_READ_TIMEOUT_S = 1.0
# How long an eager fetch (GTK 3 reads a new clipboard at once) is waited for, and the
# most the settle before a paste may take.
_EAGER_FETCH_S = 0.3
_SETTLE_LIMIT_S = 1.0


class MutterClipboard:
    """The session's clipboard: serves what we own, remembers what others own."""

    def __init__(
        self,
        session: MutterSession,
        *,
        cancel: threading.Event | None = None,
        paste_timeout_s: float = DEFAULT_PASTE_TIMEOUT_S,
        quiet_s: float = DEFAULT_QUIET_S,
    ) -> None:
        self._session = session
        self.cancel = cancel or threading.Event()
        self._paste_timeout_s = paste_timeout_s
        self._quiet_s = quiet_s
        self._lock = threading.Condition()
        self._content: bytes | None = None  # what we serve while we own the clipboard
        self._served = 0  # transfers served since the last reset
        self._last_served = 0.0
        self._foreign: list[str] = []  # the other owner's MIME types (none: we own it, or nobody)
        self._ours = False  # whether this session owns the clipboard now
        session.on_transfer = self._serve
        session.on_owner_changed = self._owner_changed
        session.enable_clipboard()

    def _owner_changed(self, options: dict[str, Any]) -> None:
        with self._lock:
            self._ours = bool(options.get("session-is-owner", False))
            self._foreign = [] if self._ours else [str(m) for m in options.get("mime-types", [])]

    def _serve(self, transfer: Transfer) -> None:
        with self._lock:
            content = self._content
        self._session.write_selection(transfer.serial, content if content is not None else b"")
        with self._lock:
            self._served += 1
            self._last_served = time.monotonic()
            self._lock.notify_all()

    def _read_user_text(self) -> bytes | None:
        with self._lock:
            ours, foreign = self._ours, list(self._foreign)
        # Mutter reports owner changes only after EnableClipboard: a text copied before
        # the run is known only by asking for it.
        if ours or (foreign and TEXT_MIME not in foreign and "text/plain" not in foreign):
            return None
        try:
            return self._session.read_selection(TEXT_MIME, _READ_TIMEOUT_S)
        except DisplayError as err:
            log.warning("could not save the clipboard before pasting: %s", err)
            return None

    def paste(self, text: str, press_paste: Callable[[], None]) -> None:
        saved = self._read_user_text()
        with self._lock:
            self._content = text.encode("utf-8")
        try:
            self._session.set_selection(OFFERED)
            self._settle()
            press_paste()
            self._wait_taken()
        finally:
            self._restore(saved)

    def _settle(self) -> None:
        """Let applications that fetch a new clipboard at once (GTK 3) finish, then count from zero.

        Those fetches are not a paste: counting them would report a paste nobody took as
        done, and restoring the user's text right after one would hand the real paste
        the old text. So the wait is for that fetch to come and go quiet (up to
        ``_EAGER_FETCH_S`` for it to come at all: on a loaded machine GTK's fetch has
        come later than the quiet window alone allowed), not a fixed pause.
        """
        started = time.monotonic()
        with self._lock:
            self._served, self._last_served = 0, started
            while True:
                now = time.monotonic()
                if self._served and now - self._last_served >= self._quiet_s:
                    break  # the eager fetch came and went quiet
                if not self._served and now - started >= _EAGER_FETCH_S:
                    break  # nobody fetches eagerly
                if now - started >= _SETTLE_LIMIT_S:
                    break
                self._lock.wait(self._quiet_s / 4)
            self._served = 0

    def _wait_taken(self) -> None:
        deadline = time.monotonic() + self._paste_timeout_s
        with self._lock:
            while True:
                if self.cancel.is_set():
                    raise StoppedError("stopped while waiting for the paste")
                now = time.monotonic()
                if self._served and now - self._last_served >= self._quiet_s:
                    return
                if not self._served and now >= deadline:
                    raise ClipboardError(
                        f"the paste was not taken: no application asked for the text within "
                        f"{self._paste_timeout_s:g} s (is a text field focused?)"
                    )
                wait = self._quiet_s - (now - self._last_served) if self._served else deadline - now
                # Bounded, so a cancel is noticed within 50 ms.
                self._lock.wait(min(max(wait, 0.001), 0.05))

    def _restore(self, saved: bytes | None) -> None:
        with self._lock:
            self._content = saved
        if saved is None:
            # Nobody had text before: we stay the owner but serve nothing, so the typed
            # text (perhaps a password) is not left on the clipboard. (Mutter 43 refuses
            # to re-enable a clipboard right after disabling it: "Already enabled".)
            return
        try:
            self._session.set_selection(OFFERED)
        except DisplayError as err:
            raise ClipboardError(f"could not restore the clipboard: {err}") from None

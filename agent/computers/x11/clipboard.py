"""Paste text through the X selections, restoring what the user had there afterwards.

pyautogui drops non-ASCII text and keysym remapping (xdotool, pynput) races on runs
of CJK characters, so text outside ASCII is pasted. A window of our own (python-xlib,
its own X connection) owns both CLIPBOARD and PRIMARY while pasting: Qt, GTK and
Chromium read the first on shift+Insert, xterm the second.

When is a paste complete? Chromium asks for TARGETS, several times, before the text
(and also whenever the owner changes), so "the owner answered one request" proves
nothing: an ``xclip -loops 1`` owner exits after TARGETS and Chromium gets nothing.
We call a paste complete when a *text* target (UTF8_STRING, text/plain;charset=utf-8,
TEXT or STRING) has been served to the X client that gets the paste key (the owner of
the focus window, or of the window under the pointer when focus follows it) and then
no further request came for a short quiet period (``quiet_s``: an application may
ask for a second text format). Requests from other clients are answered but do not
count: a clipboard manager fetching the text as soon as we own CLIPBOARD has not
pasted anything. (The cost: an application that reads the clipboard through a second
X connection would be reported as not taking the paste; none of the four tested
does.) When no window would get the key, it is not pressed and
``ClipboardError`` says so at once; when the paste client takes no text within
``paste_timeout_s``, ``ClipboardError`` says that. The cancel event ends the wait at
once with ``StoppedError``. In every case the user's content is put back before
``paste`` returns or raises. Measured (docs/benchmarks.md): the text is taken 1-7 ms
after the key, so a step costs about 140 ms, most of it the quiet period.

Restoring: our window dies with the process, so the old content is handed to a
detached ``xclip -i``, which serves it until someone else copies (what a copy from a
closed program would have done anyway). xclip also reads the old content, including
INCR transfers of large ones. Only one format is restored: text when it had text,
else its first MIME-typed format (an image, say); exotic multi-format clipboards lose
the rest. A selection someone else took during the paste (the user copied) is left
alone, and one that had no owner gets none again.
"""

from __future__ import annotations

import logging
import select
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

# The protocol lives with the other platform protocols; kept importable from here.
from agent.computers.platform import Clipboard as Clipboard
from agent.errors import ClipboardError, StoppedError

log = logging.getLogger(__name__)

SELECTIONS = ("clipboard", "primary")
_SELECTION_ATOMS = {"clipboard": "CLIPBOARD", "primary": "PRIMARY"}
# Saving the old content prefers these, in this order.
_SAVE_PREFERENCE = ("UTF8_STRING", "text/plain;charset=utf-8", "STRING", "TEXT")
# Clipboard managers (KDE's Klipper, CopyQ) keep no history of content that carries
# this target with the value "secret", the convention password managers use. What the
# agent types can be a password, and it was never the user's copy anyway.
PASSWORD_HINT = "x-kde-passwordManagerHint"
# What we offer; "TARGETS" lists them all. MULTIPLE, which the ICCCM asks owners to
# support, is left out: none of Chromium, GTK, Qt and xterm asked for it (measured),
# and a client that sees it missing from TARGETS asks one target at a time.
OFFERED_TARGETS = (
    "TARGETS",
    "TIMESTAMP",
    "UTF8_STRING",
    "text/plain;charset=utf-8",
    "TEXT",
    "STRING",
    PASSWORD_HINT,
)
TEXT_TARGETS = frozenset({"UTF8_STRING", "text/plain;charset=utf-8", "TEXT", "STRING"})
_READ_TIMEOUT_S = 2.0
DEFAULT_PASTE_TIMEOUT_S = 3.0
# Long enough for an application's next request to follow its last one (the four
# tested take the text 1-7 ms after the key, measured), short next to a step.
DEFAULT_QUIET_S = 0.1
# A reply must fit in one X request (with this much room for the request header):
# more would need the INCR protocol, which no text a model types comes close to.
_REQUEST_HEADROOM_BYTES = 64
_POLL_S = 0.02  # how often the cancel event is looked at while waiting on the server

# complete: text served, then quiet; timeout: no text in time; cancelled: the cancel
# event; lost: others took every selection we held; unfocused: no window would get the
# paste key, so it was not pressed; error: an exception ended it.
PasteOutcome = Literal["complete", "timeout", "cancelled", "lost", "unfocused", "error"]


@dataclass(frozen=True)
class SavedSelection:
    target: str
    data: bytes


@dataclass(frozen=True)
class Reply:
    """What to write into the requestor's property: type name, format and data."""

    type: str
    format: int
    data: bytes | tuple[int, ...] | tuple[str, ...]


def reply_for(target: str, text: str, timestamp: int) -> Reply | None:
    """The answer to a request for ``target`` while we offer ``text``; None refuses it.

    ATOM replies carry atom *names*; the caller interns them.
    """
    if target == "TARGETS":
        return Reply("ATOM", 32, OFFERED_TARGETS)
    if target == "TIMESTAMP":
        return Reply("INTEGER", 32, (timestamp,))
    if target in ("UTF8_STRING", "TEXT"):
        # TEXT lets the owner pick the encoding; the reply's type says which.
        return Reply("UTF8_STRING", 8, text.encode("utf-8"))
    if target == "text/plain;charset=utf-8":
        return Reply(target, 8, text.encode("utf-8"))
    if target == PASSWORD_HINT:
        return Reply(PASSWORD_HINT, 8, b"secret")
    if target == "STRING":
        # STRING is Latin-1 by definition; text outside it is refused rather than
        # garbled, so the requestor falls back to another target (or the paste fails
        # loudly instead of typing something else).
        try:
            return Reply("STRING", 8, text.encode("latin-1"))
        except UnicodeEncodeError:
            return None
    return None


def summarise_requests(requests: list[str]) -> str:
    """``a, a, b`` → ``a x2, b``: Chromium alone asks for TARGETS nine times a paste."""
    counts: dict[str, int] = {}
    for request in requests:
        counts[request] = counts.get(request, 0) + 1
    return ", ".join(r if n == 1 else f"{r} x{n}" for r, n in counts.items())


@dataclass
class PasteProgress:
    """The requests seen during one paste, and whether that paste counts as complete."""

    quiet_s: float
    requests: list[str] = field(default_factory=list)
    text_served_at: float | None = None
    last_request_at: float | None = None

    @property
    def text_served(self) -> bool:
        return self.text_served_at is not None

    def saw(
        self, selection: str, target: str, served: bool, now: float, *, by_paste_client: bool = True
    ) -> None:
        """Note a request; only text served to the client that got the paste key counts."""
        note = "" if served else " (refused)"
        if not by_paste_client:
            note += " (another client)"
        self.requests.append(f"{selection}:{target}{note}")
        self.last_request_at = now
        if served and by_paste_client and target in TEXT_TARGETS and self.text_served_at is None:
            self.text_served_at = now

    def complete(self, now: float) -> bool:
        return (
            self.text_served
            and self.last_request_at is not None
            and now - self.last_request_at >= self.quiet_s
        )

    def quiet_left(self, now: float) -> float:
        """Seconds until ``complete`` can turn true without another request."""
        if self.last_request_at is None:
            return self.quiet_s
        return max(0.0, self.quiet_s - (now - self.last_request_at))


@dataclass(frozen=True)
class PasteReport:
    """How one paste went, for the log and the benchmark (scripts/bench_paste.py)."""

    outcome: PasteOutcome
    requests: tuple[str, ...]
    save_s: float  # reading the user's selections
    to_text_s: float | None  # paste key pressed → first text target served
    serve_s: float  # paste key pressed → complete (or given up)
    restore_s: float  # handing the user's content back


class XSelectionClipboard:
    """The real clipboard on X11: our own selection owner, xclip to save and restore."""

    def __init__(
        self,
        paste_timeout_s: float = DEFAULT_PASTE_TIMEOUT_S,
        quiet_s: float = DEFAULT_QUIET_S,
        cancel: threading.Event | None = None,
    ) -> None:
        self._xclip = shutil.which("xclip")
        self._paste_timeout_s = paste_timeout_s
        self._quiet_s = quiet_s
        self._cancel = cancel or threading.Event()
        self.last_paste: PasteReport | None = None

    def paste(self, text: str, press_paste: Callable[[], None]) -> None:
        if self._xclip is None:
            raise ClipboardError("typing non-ASCII text needs the xclip program: sudo apt-get install xclip")
        if self._cancel.is_set():
            raise StoppedError("stopped before pasting")
        started = time.monotonic()
        saved = {sel: self.read(sel) for sel in SELECTIONS}
        saved_at = time.monotonic()
        owner = SelectionOwner(text)
        progress = PasteProgress(self._quiet_s)
        outcome: PasteOutcome = "error"
        pressed_at = saved_at
        try:
            owner.take(SELECTIONS)
            # A stop that came while the old content was read must not press a key.
            if self._cancel.is_set():
                outcome = "cancelled"
            elif not owner.find_paste_client():
                outcome = "unfocused"
            else:
                pressed_at = time.monotonic()
                press_paste()
                outcome = owner.serve(
                    progress, deadline=time.monotonic() + self._paste_timeout_s, cancel=self._cancel
                )
        finally:
            served_at = time.monotonic()
            try:
                self._restore(owner, saved)
            finally:
                owner.close()
                report = PasteReport(
                    outcome=outcome,
                    requests=tuple(progress.requests),
                    save_s=saved_at - started,
                    to_text_s=None
                    if progress.text_served_at is None
                    else progress.text_served_at - pressed_at,
                    serve_s=served_at - pressed_at,
                    restore_s=time.monotonic() - served_at,
                )
                self.last_paste = report
                log.debug("paste of %d characters: %s", len(text), report)
        if outcome == "cancelled":
            raise StoppedError("stopped while pasting; the clipboard was restored")
        if outcome == "unfocused":
            raise ClipboardError(
                "no window has the keyboard focus, so nothing would take the pasted text; "
                "click into a text field first"
            )
        if outcome == "lost":
            raise ClipboardError(
                "another program took the clipboard before the text was pasted; not restoring it"
            )
        if outcome != "complete":
            seen = summarise_requests(progress.requests) or "none"
            raise ClipboardError(
                f"no application took the pasted text within {self._paste_timeout_s:g} s "
                f"(selection requests seen: {seen}); is a text field focused?"
            )

    def _restore(self, owner: SelectionOwner, saved: dict[str, SavedSelection | None]) -> None:
        handed_over: list[str] = []
        for sel, old in saved.items():
            if sel not in owner.owned or sel in owner.lost:
                continue  # never ours, or someone copied during the paste: theirs is newer
            if old is None:
                owner.disown(sel)
            elif self.write(sel, old):
                handed_over.append(sel)
            else:
                owner.disown(sel)
        # xclip's parent exits before its child owns the selection: wait until the
        # child has taken it from us, so a read right after paste() sees the old content.
        missing = owner.wait_lost(handed_over, timeout_s=_READ_TIMEOUT_S)
        for sel in missing:
            log.warning("the %s selection was not handed back in time; it may be empty", sel)
            owner.disown(sel)

    def read(self, selection: str) -> SavedSelection | None:
        """The selection's best single format, or None when nothing owns it."""
        targets_raw = self._run_out(selection, "TARGETS")
        if targets_raw is None:
            return None
        targets = targets_raw.decode("utf-8", "replace").split()
        target = next((t for t in _SAVE_PREFERENCE if t in targets), None)
        if target is None:
            target = next((t for t in targets if "/" in t), None)
        if target is None:
            return None
        data = self._run_out(selection, target)
        return None if data is None else SavedSelection(target, data)

    def write(self, selection: str, saved: SavedSelection) -> bool:
        """Hand ``saved`` to a background xclip that serves it until someone else copies."""
        if self._xclip is None:
            return False
        # xclip forks a server and the parent exits; DEVNULL so we do not wait on the
        # child's inherited pipes.
        try:
            result = subprocess.run(
                [self._xclip, "-selection", selection, "-t", saved.target, "-i"],
                input=saved.data,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=_READ_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            result = None
        if result is None or result.returncode != 0:
            # The text was delivered; failing the step now would make the model type
            # it again. The user loses the old content, which the log says.
            log.warning("could not restore the %s selection", selection)
            return False
        return True

    def _run_out(self, selection: str, target: str) -> bytes | None:
        assert self._xclip is not None
        try:
            result = subprocess.run(
                [self._xclip, "-selection", selection, "-o", "-t", target],
                capture_output=True,
                timeout=_READ_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            log.warning("the %s selection owner did not answer; not saving it", selection)
            return None
        return result.stdout if result.returncode == 0 else None


def _window_id(window: Any) -> int:
    """python-xlib answers a window object, or a bare integer for None and PointerRoot."""
    return int(getattr(window, "id", window))


class SelectionOwner:
    """An unmapped window on its own X connection that owns selections and serves ``text``.

    Closing the connection (``close``) releases whatever it still owns; the X server
    does that even when the process dies.
    """

    def __init__(self, text: str) -> None:
        try:
            from Xlib import X, Xatom, display
            from Xlib.protocol import event, request
        except ImportError as err:
            raise ClipboardError(f"pasting needs python-xlib: {err}") from None
        self._X, self._Xatom, self._event, self._request = X, Xatom, event, request
        try:
            self._display: Any = display.Display()
        except Exception as err:
            raise ClipboardError(f"cannot open the display for the clipboard: {err}") from None
        # Errors from requests without a reply (a requestor window that vanished) must
        # not print to stderr or reach a later request: log them and go on.
        self._display.set_error_handler(self._on_x_error)
        self._text = text
        limit = self._display.display.info.max_request_length * 4 - _REQUEST_HEADROOM_BYTES
        if len(text.encode("utf-8")) > limit:
            self._display.close()
            raise ClipboardError(f"the text is too long to paste at once (over {limit} bytes)")
        root = self._display.screen().root
        self._window = root.create_window(
            -10,
            -10,
            1,
            1,
            0,
            X.CopyFromParent,
            X.InputOnly,
            X.CopyFromParent,
            event_mask=X.PropertyChangeMask,
        )
        self._atoms: dict[str, int] = {}
        self._names: dict[int, str] = {}
        self.timestamp = 0
        self.owned: set[str] = set()
        self.lost: set[str] = set()
        self._progress: PasteProgress | None = None
        self._id_mask = int(self._display.display.info.resource_id_mask)
        self._paste_client: int | None = None

    # -- atoms -------------------------------------------------------------------
    def _atom(self, name: str) -> int:
        if name not in self._atoms:
            self._atoms[name] = int(self._display.intern_atom(name))
            self._names[self._atoms[name]] = name
        return self._atoms[name]

    def _name(self, atom: int) -> str:
        if atom not in self._names:
            self._names[atom] = str(self._display.get_atom_name(atom))
            self._atoms[self._names[atom]] = atom
        return self._names[atom]

    def _on_x_error(self, err: Any, request: Any) -> None:
        log.debug("X error while serving the clipboard: %s", err)

    # -- owning ------------------------------------------------------------------
    def take(self, selections: tuple[str, ...]) -> None:
        """Own ``selections`` (``"clipboard"``, ``"primary"``) from a real server time."""
        self.timestamp = self._server_time()
        for sel in selections:
            atom = self._atom(_SELECTION_ATOMS[sel])
            self._window.set_selection_owner(atom, self.timestamp)
            # The ICCCM's check: ownership can silently fail (an owner with a later time).
            if self._display.get_selection_owner(atom) != self._window:
                raise ClipboardError(f"could not take the {sel} selection")
            self.owned.add(sel)

    def _server_time(self) -> int:
        # CurrentTime is forbidden for SetSelectionOwner by the ICCCM; a zero-length
        # append to a property of ours yields a PropertyNotify with the server's time.
        prop = self._atom("_DESKPILOT_TIMESTAMP")
        self._window.change_property(prop, self._Xatom.STRING, 8, b"", mode=self._X.PropModeAppend)
        self._display.flush()
        deadline = time.monotonic() + _READ_TIMEOUT_S
        while time.monotonic() < deadline:
            for ev in self._events(deadline - time.monotonic()):
                if ev.type == self._X.PropertyNotify and ev.atom == prop:
                    return int(ev.time)
        raise ClipboardError("the X server did not answer while taking the clipboard")

    def disown(self, selection: str) -> None:
        """Leave ``selection`` without owner, if it is still ours."""
        if selection not in self.owned or selection in self.lost:
            return
        atom = self._atom(_SELECTION_ATOMS[selection])
        if self._display.get_selection_owner(atom) == self._window:
            # python-xlib only offers this request on a window; None is window 0.
            self._request.SetSelectionOwner(
                display=self._display.display, window=self._X.NONE, selection=atom, time=self.timestamp
            )
            self._display.flush()
        self.owned.discard(selection)

    def close(self) -> None:
        try:
            self._window.destroy()
            # A round trip, not just a flush: the server must have dropped our ownership
            # before paste() returns and another client asks who owns the selections.
            self._display.sync()
            self._display.close()
        except Exception as err:  # the connection may already be gone; nothing is owned then
            log.debug("closing the clipboard connection: %s", err)

    # -- serving -----------------------------------------------------------------
    def paste_client(self) -> int | None:
        """The X client the paste key goes to (its resource-id base), or None if none.

        That is the owner of the focus window, or, when the focus follows the pointer
        (PointerRoot, or the root window), of the top-level window under the pointer.
        A window id's high bits name the client that created it (the server gives
        each client one id range; ``resource_id_mask`` covers the rest).
        """
        X = self._X
        root = self._display.screen().root
        focus = _window_id(self._display.get_input_focus().focus)
        if focus == X.NONE:
            return None  # the server discards key events
        if focus in (X.PointerRoot, root.id):
            focus = _window_id(root.query_pointer().child)
            if focus == X.NONE:
                return None  # the pointer is over the bare root window
        return focus & ~self._id_mask

    def find_paste_client(self) -> bool:
        """Note who will receive the paste key; False when no window would."""
        self._paste_client = self.paste_client()
        return self._paste_client is not None

    def serve(self, progress: PasteProgress, deadline: float, cancel: threading.Event) -> PasteOutcome:
        """Answer requests until the paste is complete.

        Returns "complete", "timeout", "cancelled", or "lost" (others took every
        selection we held before any text was served).
        """
        self._progress = progress
        try:
            while True:
                now = time.monotonic()
                if progress.complete(now):
                    return "complete"
                if cancel.is_set():
                    return "cancelled"
                if self.lost >= self.owned:
                    return "lost"
                if now >= deadline:
                    return "timeout"
                wait = min(_POLL_S, deadline - now)
                if progress.text_served:
                    wait = min(wait, progress.quiet_left(now))
                for ev in self._events(wait):
                    self._handle(ev, serving=True)
        finally:
            self._progress = None

    def wait_lost(self, selections: list[str], timeout_s: float) -> list[str]:
        """Wait until another client took each of ``selections``; returns those it did not."""
        deadline = time.monotonic() + timeout_s
        while any(s not in self.lost for s in selections) and time.monotonic() < deadline:
            for ev in self._events(min(_POLL_S, deadline - time.monotonic())):
                self._handle(ev, serving=False)
        return [s for s in selections if s not in self.lost]

    def _events(self, timeout_s: float) -> list[Any]:
        """Events already received, or those arriving within ``timeout_s``."""
        if not self._display.pending_events():
            readable, _, _ = select.select([self._display.fileno()], [], [], max(0.0, timeout_s))
            if not readable:
                return []
        return [self._display.next_event() for _ in range(self._display.pending_events())]

    def _handle(self, ev: Any, serving: bool) -> None:
        X = self._X
        if ev.type == X.SelectionClear:
            sel = self._selection_of(ev.atom)
            if sel is not None:
                self.lost.add(sel)
        elif ev.type == X.SelectionRequest:
            self._answer(ev, serving)

    def _selection_of(self, atom: int) -> str | None:
        for sel, name in _SELECTION_ATOMS.items():
            if self._atoms.get(name) == atom:
                return sel
        return None

    def _answer(self, ev: Any, serving: bool) -> None:
        X = self._X
        sel = self._selection_of(ev.selection) or self._name(ev.selection)
        target = self._name(ev.target)
        # Obsolete requestors pass no property; the ICCCM says to use the target atom.
        prop = ev.property if ev.property != X.NONE else ev.target
        stale = ev.time != X.CurrentTime and ev.time < self.timestamp
        served = False
        if serving and not stale and sel in self.owned and sel not in self.lost:
            served = self._write(ev.requestor, prop, reply_for(target, self._text, self.timestamp))
        log.debug(
            "request for %s:%s from window %#x at time %d (ours %d): %s",
            sel,
            target,
            ev.requestor.id,
            ev.time,
            self.timestamp,
            "served" if served else "refused",
        )
        if self._progress is not None:
            by_paste_client = ev.requestor.id & ~self._id_mask == self._paste_client
            self._progress.saw(sel, target, served, time.monotonic(), by_paste_client=by_paste_client)
        notify = self._event.SelectionNotify(
            time=ev.time,
            requestor=ev.requestor,
            selection=ev.selection,
            target=ev.target,
            property=prop if served else X.NONE,
        )
        ev.requestor.send_event(notify)
        self._display.flush()

    def _write(self, requestor: Any, prop: int, reply: Reply | None) -> bool:
        if reply is None:
            return False
        data: Any = reply.data
        if reply.type == "ATOM":
            data = [self._atom(name) for name in reply.data if isinstance(name, str)]
        requestor.change_property(prop, self._atom(reply.type), reply.format, data)
        return True

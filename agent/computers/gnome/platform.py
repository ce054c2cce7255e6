"""``GnomePlatform``: GNOME on Wayland through Mutter's RemoteDesktop and ScreenCast API, or the portal's."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from agent.computers.platform import (
    ActingMark,
    Capabilities,
    Capability,
    Clipboard,
    InputHandlers,
    InputWatch,
    InputWatching,
    Screen,
    Windows,
)
from agent.computers.unavailable import NoMark, NoStack, NoWindows, Unwatched
from agent.errors import DeskpilotError, DisplayError
from agent.geometry import Region
from agent.ports import WindowStack

if TYPE_CHECKING:
    from agent.computers.base import CaptureTarget, Frame
    from agent.computers.gnome.backend import GnomeBackend
    from agent.computers.gnome.clipboard import MutterClipboard
    from agent.computers.gnome.desktop import GnomeComputer
    from agent.computers.gnome.keybinding import GnomeBinding
    from agent.computers.gnome.mutter import MutterSession
    from agent.computers.gnome.portal import NoPaste, PortalSession
    from agent.computers.gnome.stream import StreamReader
    from agent.computers.platform import Platform

log = logging.getLogger(__name__)

# Wayland gives an unprivileged client neither the pointer nor other clients' input,
# and plain Mutter has no API for window titles; nothing records input, so no mark.
GNOME_MISSING = frozenset(
    {
        Capability.READ_POINTER,
        Capability.GLOBAL_KEYS,
        Capability.RECORD_INPUT,
        Capability.WINDOW_TITLES,
        Capability.ACTING_MARK,
    }
)


class GnomePlatform:
    """A GNOME Wayland session: one RemoteDesktop + ScreenCast session, opened on first use, for the run.

    Constructing it connects to nothing (``select_platform`` must stay cheap).
    """

    name = "gnome"

    def __init__(self, environ: Mapping[str, str] | None = None, *, chord_optional: bool = False) -> None:
        self.chord_optional = chord_optional  # --no-kill-chord: run although no chord can be installed
        self._environ = dict(os.environ if environ is None else environ)
        self._lock = threading.Lock()
        self._backend: GnomeBackend | None = None
        self._session: MutterSession | PortalSession | None = None
        self._reader: StreamReader | None = None
        self._clipboard: MutterClipboard | NoPaste | None = None

    def backend(self) -> GnomeBackend:
        """Mutter's API or the desktop portal (asked once: ``agent.computers.gnome.backend``)."""
        if self._backend is None:
            from agent.computers.gnome.backend import probe_backend

            self._backend = probe_backend(self._environ)
        return self._backend

    @property
    def capabilities(self) -> Capabilities:
        try:
            portal = self.backend().kind == "portal"
        except DeskpilotError:  # no backend at all: opening the session will say why
            portal = False
        return Capabilities(missing=GNOME_MISSING | ({Capability.CLIPBOARD} if portal else set()))

    def describe(self) -> str:
        backend = self.backend()
        if backend.kind == "portal":
            from agent.computers.gnome.portal import NOTICE

            return f"{self.name} ({NOTICE}; chosen because {backend.reason}; {self.capabilities.summary()})"
        return f"{self.name} (Mutter's RemoteDesktop and ScreenCast; {self.capabilities.summary()})"

    def _open(self) -> tuple[MutterSession | PortalSession, StreamReader, MutterClipboard | NoPaste]:
        with self._lock:
            if self._session is None or self._session.closed.is_set():
                from agent.computers.gnome.desktop import warm_up
                from agent.computers.gnome.stream import StreamReader

                session, clipboard_for = self._start()
                try:
                    reader = StreamReader(session.node, session.fd,
                                          last_input=lambda: session.last_input_at, repaint=session.nudge)
                    clipboard = clipboard_for()
                    warm_up(session)
                except BaseException:
                    session.close()
                    raise
                self._session, self._reader, self._clipboard = session, reader, clipboard
            assert self._reader is not None and self._clipboard is not None  # noqa: S101 - set together above
            return self._session, self._reader, self._clipboard

    def _start(self) -> tuple[MutterSession | PortalSession, Callable[[], MutterClipboard | NoPaste]]:
        """A started session of the chosen backend, and how to make its clipboard."""
        if self.backend().kind == "portal":
            from agent.computers.gnome.portal import NOTICE, NoPaste, open_portal_session

            log.warning("%s", NOTICE)  # before the dialog: the user has to answer it
            return open_portal_session(), NoPaste
        from agent.computers.gnome.clipboard import MutterClipboard
        from agent.computers.gnome.mutter import MutterSession

        mutter = MutterSession.open()
        return mutter, lambda: MutterClipboard(mutter)

    def computer(self, target: CaptureTarget = 1, *, cancel: threading.Event | None = None) -> GnomeComputer:
        from agent.computers.gnome.desktop import GnomeComputer

        session, reader, clipboard = self._open()
        return GnomeComputer(session, reader, _Cancellable(clipboard, cancel), target, cancel=cancel)

    def screen(self, target: CaptureTarget = 1) -> Screen:
        return _GnomeScreen(lambda: self.computer(target))

    def clipboard(self, *, cancel: threading.Event | None = None) -> Clipboard:
        return _Cancellable(self._open()[2], cancel)

    def windows(self) -> Windows:
        return NoWindows()

    def active_window_region(self) -> Region:
        raise DisplayError("GNOME on Wayland does not tell other programs which window is active")

    def input_watching(self) -> InputWatching:
        return GnomeInputWatching(chord_optional=self.chord_optional)

    def acting_mark(self) -> ActingMark:
        return NoMark()

    def window_stack(self) -> WindowStack:
        return NoStack()

    def close(self) -> None:
        """End the session (Mutter also ends it when this process's D-Bus connection closes)."""
        with self._lock:
            if self._reader is not None:
                self._reader.close()
            if self._session is not None:
                self._session.close()
            self._session = self._reader = self._clipboard = None


class _Cancellable:
    """The platform's one clipboard, with the caller's cancel event for its waits."""

    def __init__(self, clipboard: MutterClipboard | NoPaste, cancel: threading.Event | None) -> None:
        self._clipboard = clipboard
        self._cancel = cancel

    def paste(self, text: str, press_paste: Callable[[], None]) -> None:
        if self._cancel is not None:
            self._clipboard.cancel = self._cancel
        self._clipboard.paste(text, press_paste)


class _GnomeScreen:
    """Captures through the run's computer (opened on the first call)."""

    def __init__(self, computer: Callable[[], GnomeComputer]) -> None:
        self._make = computer
        self._computer: GnomeComputer | None = None

    def _get(self) -> GnomeComputer:
        if self._computer is None:
            self._computer = self._make()
        return self._computer

    def monitors(self) -> list[Region]:
        return self._get().monitors()

    def capture_region(self) -> Region:
        return self._get().capture_region()

    def capture(self) -> Frame:
        return self._get().capture()


# Said where a run would start with no way to stop it from the keyboard.
NO_CHORD = (
    "on this GNOME session Deskpilot cannot install its kill chord: {why}; so nothing could stop a run "
    "from the keyboard. Bind a key of your own (Settings > Keyboard > Custom Shortcuts) to "
    "`deskpilot stop` and pass --no-kill-chord to run anyway"
)


class _ChordWatch:
    """The kill chord on GNOME: a custom keybinding running ``deskpilot stop``, and the socket it reaches.

    gsd-media-keys runs custom keybindings and gnome-shell grabs their keys
    (agent/computers/gnome/keybinding.py); where either is missing (plain mutter) no
    chord can fire, and a run refuses to start unless the user passes ``--no-kill-chord``.
    After a crash the ``finally`` blocks remove the binding; after ``kill -9`` it stays in
    dconf, pressing it runs a ``deskpilot stop`` that finds nobody (exit 1), and the
    next run reuses and then removes it.
    """

    def __init__(self, keys: Sequence[str], on_chord: Callable[[], None], optional: bool) -> None:
        from agent.computers.control_socket import StopListener

        self._keys = keys
        self._optional = optional
        self.listener = StopListener(on_chord)
        self._binding: GnomeBinding | None = None

    def start(self) -> None:
        from agent.computers.control_socket import stop_command
        from agent.computers.gnome.keybinding import GnomeBinding, unavailable_reason

        why = unavailable_reason()
        if why is not None and not self._optional:
            raise DisplayError(NO_CHORD.format(why=why))
        self.listener.start()
        if why is not None:
            log.warning("no kill chord here (%s; --no-kill-chord): `deskpilot stop` still stops the run", why)
            return
        binding = GnomeBinding(self._keys, stop_command(self.listener.path))
        try:
            binding.install()
        except BaseException:
            with contextlib.suppress(DisplayError):
                binding.remove()
            self.listener.stop()
            raise
        self._binding = binding

    def stop(self) -> bool:
        if self._binding is not None:
            try:
                self._binding.remove()
            except DisplayError as err:  # the session went away first: its dconf is the user's to fix
                log.warning("could not remove the kill chord's GNOME shortcut: %s", err)
            self._binding = None
        return self.listener.stop()

    def is_alive(self) -> bool:
        return self.listener.is_alive()


class GnomeInputWatching:
    """No global input on Wayland: takeover detection and recording see nothing (``capabilities`` says so).

    The kill chord is a GNOME custom keybinding for the run (``_ChordWatch``).
    """

    def __init__(self, *, chord_optional: bool = False) -> None:
        self._optional = chord_optional

    def watch_chord(self, keys: Sequence[str], on_chord: Callable[[], None], *, what: str) -> InputWatch:
        return _ChordWatch(keys, on_chord, self._optional)

    def watch_input(self, handlers: InputHandlers, *, what: str) -> InputWatch:
        return Unwatched()


if TYPE_CHECKING:
    _gnome_is_a_platform: Platform = GnomePlatform()

"""``KdePlatform``: the ``Platform`` of a KDE Plasma (KWin) Wayland session."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from agent.computers.platform import (
    MISSING_WORDS,
    ActingMark,
    Capabilities,
    Capability,
    Clipboard,
    DesktopInput,
    InputHandlers,
    InputWatch,
    InputWatching,
    Screen,
    Windows,
)
from agent.computers.unavailable import NoMark, NoStack, NoWindows, Refusal
from agent.errors import DisplayError
from agent.geometry import Region
from agent.ports import WindowStack

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from agent.computers.base import CaptureTarget
    from agent.computers.kde.screenshot import KWinScreenShot
    from agent.computers.kde.seat import KWinSeat
    from agent.computers.platform import Platform

# Wayland gives an unprivileged client neither the pointer nor other clients' input
# (the kill chord goes through KDE's own shortcut service instead), and KWin 5.27
# offers no window titles over a protocol Deskpilot speaks yet.
MISSING = frozenset({
    Capability.READ_POINTER,
    Capability.GLOBAL_KEYS,
    Capability.RECORD_INPUT,
    Capability.WINDOW_TITLES,
    Capability.ACTING_MARK,
})
NO_ACTIVE_WINDOW = "KDE does not tell an application which window is active (not implemented for KWin yet)"


class KdePlatform:
    """KWin on Wayland: fake-input for input, ScreenShot2 for capture, data-control for pasted text.

    Constructing it opens nothing; the first capture or action connects to the
    compositor (one Wayland connection and one D-Bus connection for the platform).
    """

    name = "kde"

    def __init__(self, environ: Mapping[str, str], *, chord_optional: bool = False) -> None:
        self._environ = dict(environ)
        self.chord_optional = chord_optional  # --no-kill-chord: run even where no shortcut can be registered
        self._lock = threading.Lock()
        self._seat: KWinSeat | None = None
        self._shot: KWinScreenShot | None = None

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(MISSING)

    def describe(self) -> str:
        where = f"WAYLAND_DISPLAY={self._environ.get('WAYLAND_DISPLAY', 'wayland-0')}"
        return f"{self.name} ({where}; {self.capabilities.summary()})"

    def _connected(self) -> tuple[KWinSeat, KWinScreenShot]:
        from agent.computers.kde.screenshot import KWinScreenShot
        from agent.computers.kde.seat import KWinSeat

        with self._lock:
            if self._seat is None:
                self._seat = KWinSeat(self._environ)
            if self._shot is None:
                self._shot = KWinScreenShot(self._environ)
            return self._seat, self._shot

    def screen(self, target: CaptureTarget = 1) -> Screen:
        from agent.computers.kde.desktop import KdeScreen

        seat, shot = self._connected()
        return KdeScreen(target, seat, shot)

    def computer(self, target: CaptureTarget = 1, *, cancel: threading.Event | None = None) -> DesktopInput:
        from agent.computers.kde.desktop import KdeComputer, KdeScreen

        seat, shot = self._connected()
        return KdeComputer(KdeScreen(target, seat, shot), seat, self.clipboard(cancel=cancel), cancel)

    def clipboard(self, *, cancel: threading.Event | None = None) -> Clipboard:
        from agent.computers.kde.clipboard import DataControlClipboard

        return DataControlClipboard(self._environ, cancel)

    def windows(self) -> Windows:
        return NoWindows()

    def active_window_region(self) -> Region:
        raise DisplayError(NO_ACTIVE_WINDOW)

    def input_watching(self) -> InputWatching:
        return _KdeInputWatching(self._environ, self.chord_optional)

    def acting_mark(self) -> ActingMark:
        return NoMark()

    def window_stack(self) -> WindowStack:
        return NoStack()


class _ChordWatch:
    """The kill chord on KDE: a kglobalaccel shortcut, plus the stop socket ``deskpilot stop`` reaches.

    The shortcut signals this process directly, so pressing it starts nothing; the
    socket is the way in that works on every Wayland desktop. Where the shortcut
    cannot be registered, ``optional`` (--no-kill-chord) keeps the socket alone.
    """

    def __init__(self, environ: Mapping[str, str], keys: Sequence[str], on_chord: Callable[[], None],
                 what: str, optional: bool) -> None:
        from agent.computers.control_socket import StopListener
        from agent.computers.kde.shortcut import KGlobalAccelChord

        self.listener = StopListener(on_chord)
        self.shortcut = KGlobalAccelChord(environ, keys, on_chord, what)
        self._optional = optional

    def start(self) -> None:
        self.listener.start()
        try:
            self.shortcut.start()
        except DisplayError as err:
            if not self._optional:
                self.listener.stop()
                hint = "or run with --no-kill-chord and stop it with `deskpilot stop`"
                raise DisplayError(f"{err} ({hint})") from None
            log.warning("no kill chord here (--no-kill-chord): %s; `deskpilot stop` still stops the run", err)

    def stop(self) -> bool:
        return all([self.shortcut.stop(), self.listener.stop()])

    def is_alive(self) -> bool:
        return self.listener.is_alive()


class _KdeInputWatching:
    """Chords through KDE's global shortcuts; Wayland shows no other input, so watching it refuses."""

    def __init__(self, environ: Mapping[str, str], chord_optional: bool) -> None:
        self._environ = environ
        self._optional = chord_optional

    def watch_chord(self, keys: Sequence[str], on_chord: Callable[[], None], *, what: str) -> InputWatch:
        return _ChordWatch(self._environ, keys, on_chord, what, self._optional)

    def watch_input(self, handlers: InputHandlers, *, what: str) -> InputWatch:
        return Refusal(f"on KDE Deskpilot {MISSING_WORDS[Capability.RECORD_INPUT]}")


if TYPE_CHECKING:
    _kde_is_a_platform: Platform = KdePlatform({})

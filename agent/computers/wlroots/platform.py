"""``WlrootsPlatform``: the ``Platform`` of a wlroots compositor (sway, Hyprland, river...).

Capture and input go over one Wayland connection (``connection``); window titles and
the kill chord go through sway's IPC where there is one. What Wayland does not give an
unprivileged client is said in ``capabilities``: the pointer position, global input
(so no takeover detection and no macro recording), and, without sway, window titles
and a kill chord.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
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
from agent.errors import ClipboardError, DisplayError
from agent.geometry import Region
from agent.ports import WindowStack

if TYPE_CHECKING:
    from agent.computers.base import CaptureTarget
    from agent.computers.platform import Platform
    from agent.computers.wlroots.connection import WaylandConnection
    from agent.computers.wlroots.sway import SwayIpc

log = logging.getLogger(__name__)

NO_CHORD = (
    "this wlroots compositor has no sway IPC (SWAYSOCK is not set), so Deskpilot cannot install its kill "
    "chord and nothing could stop a run from the keyboard; bind a key of your own to `deskpilot stop` and "
    "pass --no-kill-chord to run anyway"
)


class WlrootsPlatform:
    """A wlroots compositor at ``wayland_display``; sway's IPC at ``sway_socket`` when there is one.

    Constructing it opens nothing; the Wayland connection opens on first use and is
    shared by every service (one virtual pointer and keyboard per computer).
    """

    name = "wlroots"

    def __init__(
        self, wayland_display: str = "", sway_socket: str | None = None, *, chord_optional: bool = False
    ) -> None:
        self.wayland_display = wayland_display
        self.sway_socket = sway_socket
        self.chord_optional = chord_optional  # --no-kill-chord: run without one where none can be installed
        self._connection: WaylandConnection | None = None
        self._lock = threading.Lock()

    def connection(self) -> WaylandConnection:
        from agent.computers.wlroots.connection import shared_connection

        with self._lock:
            if self._connection is None or self._connection.closed:
                self._connection = shared_connection(self.wayland_display or None)
            return self._connection

    def _ipc(self) -> SwayIpc | None:
        from agent.computers.wlroots.sway import SwayIpc

        return SwayIpc(self.sway_socket) if self.sway_socket else None

    @property
    def capabilities(self) -> Capabilities:
        # No Wayland protocol gives a plain client the pointer or anyone else's input.
        missing = {
            Capability.READ_POINTER, Capability.GLOBAL_KEYS, Capability.RECORD_INPUT, Capability.ACTING_MARK
        }
        if self.sway_socket is None:
            missing.add(Capability.WINDOW_TITLES)
        return Capabilities(frozenset(missing))

    def describe(self) -> str:
        where = f"WAYLAND_DISPLAY={self.wayland_display or 'wayland-0'}"
        ipc = "sway IPC" if self.sway_socket else "no sway IPC"
        return f"{self.name} ({where}, {ipc}; {self.capabilities.summary()})"

    def screen(self, target: CaptureTarget = 1) -> Screen:
        from agent.computers.wlroots.screen import ScreencopyScreen

        return ScreencopyScreen(self.connection(), target)

    def computer(self, target: CaptureTarget = 1, *, cancel: threading.Event | None = None) -> DesktopInput:
        from agent.computers.wlroots.desktop import WlrootsComputer

        return WlrootsComputer(self.connection(), target, cancel=cancel)

    def clipboard(self, *, cancel: threading.Event | None = None) -> Clipboard:
        return _NoClipboard()

    def windows(self) -> Windows:
        ipc = self._ipc()
        if ipc is None:
            return NoWindows()
        from agent.computers.wlroots.sway import SwayWindows

        return SwayWindows(ipc)

    def active_window_region(self) -> Region:
        ipc = self._ipc()
        if ipc is None:
            words = MISSING_WORDS[Capability.WINDOW_TITLES]
            raise DisplayError(f"this wlroots compositor has no sway IPC: Deskpilot {words}")
        from agent.computers.wlroots.sway import SwayWindows

        return SwayWindows(ipc).focused_region()

    def input_watching(self) -> InputWatching:
        return WlrootsInputWatching(self._ipc(), chord_optional=self.chord_optional)

    def acting_mark(self) -> ActingMark:
        # Nothing can record the user's input here, so nothing needs telling ours apart.
        return NoMark()

    def window_stack(self) -> WindowStack:
        ipc = self._ipc()
        if ipc is None:
            return NoStack()
        from agent.computers.wlroots.sway import SwayWindows

        return SwayWindows(ipc)


class _NoClipboard:
    def paste(self, text: str, press_paste: Callable[[], None]) -> None:
        # Never used by this backend: text is typed through the virtual keyboard's keymap.
        raise ClipboardError("the wlroots backend types text through its keyboard, not the clipboard")


class _ChordWatch:
    """The kill chord on wlroots: a sway binding that runs ``deskpilot stop``, and the stop socket it reaches.

    After a crash the ``finally`` blocks remove the binding; after ``kill -9`` the binding
    stays until sway reloads its config, and pressing it then only runs a ``deskpilot
    stop`` that finds nobody listening (exit 1); the next run replaces it.
    """

    def __init__(
        self, ipc: SwayIpc | None, keys: Sequence[str], on_chord: Callable[[], None], optional: bool
    ) -> None:
        from agent.computers.control_socket import StopListener

        self._ipc = ipc
        self._keys = keys
        self._optional = optional
        self.listener = StopListener(on_chord)
        self._binding: object | None = None

    def start(self) -> None:
        from agent.computers.control_socket import stop_command
        from agent.computers.wlroots.sway import SwayBinding

        if self._ipc is None and not self._optional:
            raise DisplayError(NO_CHORD)
        self.listener.start()
        if self._ipc is None:
            log.warning("no kill chord here (--no-kill-chord): `deskpilot stop` still stops the run")
            return
        binding = SwayBinding(self._ipc, self._keys, stop_command(self.listener.path))
        try:
            binding.install()
        except Exception:
            self.listener.stop()
            raise
        self._binding = binding

    def stop(self) -> bool:
        from agent.computers.wlroots.sway import SwayBinding

        binding = self._binding
        if isinstance(binding, SwayBinding):
            try:
                binding.remove()
            except DisplayError as err:  # sway went away first: nothing is left bound
                log.info("could not remove the kill chord binding: %s", err)
            self._binding = None
        return self.listener.stop()

    def is_alive(self) -> bool:
        return self.listener.is_alive()


class WlrootsInputWatching:
    """The kill chord through sway; the user's own input cannot be watched on Wayland."""

    def __init__(self, ipc: SwayIpc | None, *, chord_optional: bool = False) -> None:
        self._ipc = ipc
        self._optional = chord_optional

    def watch_chord(self, keys: Sequence[str], on_chord: Callable[[], None], *, what: str) -> InputWatch:
        return _ChordWatch(self._ipc, keys, on_chord, self._optional)

    def watch_input(self, handlers: InputHandlers, *, what: str) -> InputWatch:
        return Refusal(f"{what}: on Wayland Deskpilot {MISSING_WORDS[Capability.RECORD_INPUT]}")


def from_environment(
    environ: dict[str, str] | None = None, *, chord_optional: bool = False
) -> WlrootsPlatform:
    """The platform of this session's compositor and, when sway, its IPC socket."""
    from agent.computers.wlroots.sway import socket_path

    env = dict(os.environ if environ is None else environ)
    return WlrootsPlatform(env.get("WAYLAND_DISPLAY", ""), socket_path(env), chord_optional=chord_optional)


if TYPE_CHECKING:
    # mypy checks here that the wlroots platform keeps matching the protocol.
    _wlroots_is_a_platform: Platform = WlrootsPlatform()

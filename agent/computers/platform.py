"""The ``Platform`` protocol: everything Deskpilot needs from one desktop, and what that desktop cannot do.

One object per desktop family (X11 today; GNOME, wlroots and KDE on Wayland next),
chosen once by ``agent.computers.selection``. Each concern is its own small protocol,
so a backend can be written and tested one concern at a time, and a fake
(``agent.testing.platform``) can stand in for all of them. Nothing here imports a
desktop library: implementations import theirs lazily, inside their own folder.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from agent.computers.base import CaptureTarget, Computer, Frame
from agent.geometry import Region
from agent.ports import WindowStack


class Capability(StrEnum):
    """Something a desktop may be unable to do; the value is how ``doctor`` names it."""

    READ_POINTER = "read the pointer"
    GLOBAL_KEYS = "see global keys"
    RECORD_INPUT = "record input"
    CLIPBOARD = "paste text"
    WINDOW_TITLES = "read window titles"
    ACTING_MARK = "mark its own input"


# What the user loses when a capability is missing, in plain words.
MISSING_WORDS: dict[Capability, str] = {
    Capability.READ_POINTER: "cannot read where the pointer is, so clicking at the pointer, the corner "
    "fail-safe and noticing that you moved the mouse are unavailable",
    Capability.GLOBAL_KEYS: "cannot see keys pressed in other windows, so the kill hotkey and noticing "
    "that you typed need another way in",
    Capability.RECORD_INPUT: "cannot see your mouse and keyboard, so 'macro record' cannot record "
    "(use 'macro from-run', or record on an X11 desktop)",
    Capability.CLIPBOARD: "cannot paste through the clipboard, so text outside the keyboard layout "
    "cannot be typed",
    Capability.WINDOW_TITLES: "cannot read window titles, so policy rules on titles cannot match",
    Capability.ACTING_MARK: "cannot mark its own input, so a recorder running meanwhile would record "
    "Deskpilot's clicks as yours",
}


@dataclass(frozen=True)
class Capabilities:
    """What a desktop can do beyond capture and input (which every platform must offer)."""

    missing: frozenset[Capability] = frozenset()

    def can(self, capability: Capability) -> bool:
        return capability not in self.missing

    def cannot(self) -> tuple[str, ...]:
        """Plain words for each missing capability, in a fixed order."""
        return tuple(MISSING_WORDS[c] for c in Capability if c in self.missing)

    def summary(self) -> str:
        """One short phrase: what it can and cannot do."""
        have = ["capture", "act"] + [c.value for c in Capability if c not in self.missing]
        lacks = [c.value for c in Capability if c in self.missing]
        parts = [f"can {', '.join(have)}"] + ([f"cannot {', '.join(lacks)}"] if lacks else [])
        return "; ".join(parts)


class OverlayPlacement(StrEnum):
    """How a window that must be on top of the acted monitor and get the keyboard is shown."""

    # X11: a window that stays on top and bypasses the window manager, with an X keyboard grab.
    ABOVE = "above"
    # Wayland: no "always on top" and no grab for plain clients; a fullscreen window on the
    # acted output is stacked above the others and focused (measured on sway and mutter).
    FULLSCREEN = "fullscreen"


# Per platform name; a Wayland desktop not listed (KDE, or one with no backend) gets
# FULLSCREEN, the one placement every Wayland compositor implements.
OVERLAY_PLACEMENTS: dict[str, OverlayPlacement] = {
    "x11": OverlayPlacement.ABOVE,
    "wlroots": OverlayPlacement.FULLSCREEN,
    "gnome": OverlayPlacement.FULLSCREEN,
}


class Screen(Protocol):
    """Captures of one target: a monitor index, the monitor under the pointer, or a region."""

    def monitors(self) -> list[Region]:
        """Physical monitors; element 0 is monitor 1 (the primary)."""
        ...

    def capture_region(self) -> Region:
        """The desktop rectangle the target covers right now."""
        ...

    def capture(self) -> Frame:
        ...


class DesktopInput(Computer, Protocol):
    """A ``Computer`` on a real desktop: it also lists monitors and says where the pointer is.

    Where the pointer cannot be read (``Capability.READ_POINTER`` missing), the position
    is where the platform last put it.
    """

    def monitors(self) -> list[Region]:
        ...

    def cursor_position(self) -> tuple[int, int]:
        ...


class Clipboard(Protocol):
    def paste(self, text: str, press_paste: Callable[[], None]) -> None:
        """Make ``text`` the clipboard, call ``press_paste``, then restore the old content.

        Raises ``ClipboardError`` when the text was not taken, ``StoppedError`` when the
        cancel event was set first; the old content is restored either way.
        """
        ...


class Windows(Protocol):
    """Top-level window titles, for policy rules and the recorder."""

    def title_at(self, x: int, y: int) -> str | None:
        ...

    def focused_title(self) -> str | None:
        """The title of the window that gets the keyboard."""
        ...


class InputWatch(Protocol):
    """One started watch on the user's input; ``start`` returns once input is really seen."""

    def start(self) -> None:
        """Start watching; DisplayError when the desktop cannot be listened to."""
        ...

    def stop(self) -> bool:
        """Stop watching; True when the watching thread has ended (bounded wait)."""
        ...

    def is_alive(self) -> bool:
        ...


@dataclass(frozen=True)
class InputHandlers:
    """Callbacks for real input, in platform-neutral terms; None ignores that kind.

    Keys are canonical names (``agent.keys``) plus the character typed, or "".
    """

    on_key_down: Callable[[str, str], None] | None = None
    on_key_up: Callable[[str, str], None] | None = None
    on_move: Callable[[int, int], None] | None = None
    on_button: Callable[[int, int, str, bool], None] | None = None  # x, y, button, pressed
    # The same with when it happened: the desktop's own event time on ``time.monotonic()``'s
    # clock (a platform that cannot tell passes the arrival time). Called instead of
    # ``on_button`` when set: a recorder needs the screen as it was before the press.
    on_button_at: Callable[[int, int, str, bool, float], None] | None = None
    on_scroll: Callable[[int, int, int, int], None] | None = None  # x, y, dx, dy


@runtime_checkable
class Snapshotting(Protocol):
    """A screen that grabs cheaply now and builds the ``Frame`` only when asked (optional).

    A grab is a fraction of a ``capture()`` (no pixel conversion), so a recorder can keep
    the last few screens at all times and convert just the one it cuts an anchor from.
    """

    def snapshot(self) -> Callable[[], Frame]:
        """Grab the screen now; the callable returns it as a Frame (its ``captured_at`` the grab's)."""
        ...


class InputWatching(Protocol):
    """Watching the user's input: the kill chord, takeover detection and macro recording."""

    def watch_chord(self, keys: Sequence[str], on_chord: Callable[[], None], *, what: str) -> InputWatch:
        """Call ``on_chord`` whenever the canonical chord ``keys`` is pressed anywhere."""
        ...

    def watch_input(self, handlers: InputHandlers, *, what: str) -> InputWatch:
        """Report every pointer and key event; ``what`` names the watcher in errors."""
        ...


class ActingMark(Protocol):
    """A mark, visible to other processes, that input now arriving is Deskpilot's own."""

    def acting(self) -> AbstractContextManager[None]:
        """Hold the mark while the block acts, and for a short grace after."""
        ...

    def active(self) -> bool:
        ...

    def close(self) -> None:
        ...


class Platform(Protocol):
    """One desktop: capture, input, clipboard, windows, input watching, the acting mark, and its limits."""

    @property
    def name(self) -> str:
        """The backend's short name: "x11" (later "gnome", "wlroots", "kde")."""
        ...

    @property
    def capabilities(self) -> Capabilities:
        ...

    def describe(self) -> str:
        """One line for ``doctor``: the name, the display it uses and its capabilities."""
        ...

    def screen(self, target: CaptureTarget = 1) -> Screen:
        ...

    def computer(self, target: CaptureTarget = 1, *, cancel: threading.Event | None = None) -> DesktopInput:
        ...

    def clipboard(self, *, cancel: threading.Event | None = None) -> Clipboard:
        ...

    def windows(self) -> Windows:
        ...

    def active_window_region(self) -> Region:
        """The active window's rectangle; DisplayError when there is none."""
        ...

    def input_watching(self) -> InputWatching:
        ...

    def acting_mark(self) -> ActingMark:
        ...

    def window_stack(self) -> WindowStack:
        """Which window is active and on top where: the accessibility tree checks it before acting."""
        ...

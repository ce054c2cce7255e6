"""Which actions run freely, which wait for the user's yes, and which never run.

Denied outright (reported to the model as refused): chords that contain a chord on
the denylist (by default the ones that reboot, log out or kill the session, plus the
kill hotkey itself; modifier order and extra modifiers do not matter, so
shift+ctrl+alt+delete is refused like ctrl+alt+delete) and any point outside the
captured monitor. Risky (confirmed in ``risky`` mode): a key chord with a modifier,
Enter, typed text with a newline, a drag, and anything aimed inside a user-listed
screen region or a window whose title matches a user-listed pattern. "Approve for
this session" approves every later action with the same risk reason (e.g. "presses
Enter") for the rest of the run.

A click without a coordinate lands where the pointer is. With ``pointer_at`` (the
desktop's ``cursor_position``) the policy judges it at that point like any other; the
desktop computer checks the pointer against the captured monitor again right before
it clicks, because the pointer can move while a confirmation is open.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from agent.actions import Key, LeftClickDrag, ScreenAction, Type, is_pointer_click
from agent.errors import ConfigError
from agent.geometry import Region
from agent.keys import MODIFIERS, UnknownKeyError, normalize_keys, split_chord
from agent.records.schema import Decision

DEFAULT_DENIED_CHORDS: tuple[str, ...] = (
    "ctrl+alt+delete",
    "ctrl+alt+backspace",  # kills the X server
    "ctrl+alt+f1",
    "ctrl+alt+f2",
    "ctrl+alt+f3",
    "ctrl+alt+f4",
    "ctrl+alt+f5",
    "ctrl+alt+f6",
    "super+l",  # locks the screen: the agent would then act on the lock screen
)

WindowTitleAt = Callable[[int, int], str | None]
PointerAt = Callable[[], tuple[int, int]]


class ConfirmMode(StrEnum):
    ALWAYS = "always"
    RISKY = "risky"
    NEVER = "never"


def parse_confirm_mode(value: str) -> ConfirmMode:
    try:
        return ConfirmMode(value.lower())
    except ValueError:
        raise ConfigError(f"unknown confirm mode {value!r}; choose always|risky|never") from None


def parse_chords(chords: Iterable[str]) -> frozenset[frozenset[str]]:
    """Denied chords as sets of canonical key names ("Alt+Ctrl+Del" == "ctrl+alt+delete")."""
    parsed = set()
    for chord in chords:
        try:
            parsed.add(frozenset(normalize_keys(split_chord(chord))))
        except UnknownKeyError as err:
            raise ConfigError(f"bad chord {chord!r} in the denylist: {err}") from None
    return frozenset(parsed)


def denied_chord(pressed: Iterable[str], denied: Iterable[frozenset[str]]) -> frozenset[str] | None:
    """The denied chord that pressing ``pressed`` (canonical names) would send, if any.

    Keys are held down in order and released in reverse, so every key pressed is held
    together with all the keys before it: a chord is sent whenever the pressed keys
    include all of its keys, whatever their order and whatever else is held with them
    (shift+ctrl+alt+delete sends ctrl+alt+delete).
    """
    held = frozenset(pressed)
    matches = [chord for chord in denied if chord and chord <= held]
    return max(matches, key=lambda c: (len(c), sorted(c))) if matches else None


def chord_text(keys: Iterable[str]) -> str:
    """A chord in its usual spelling: modifiers first (ctrl, alt, shift, super), then the rest."""
    order = {"ctrl": 0, "alt": 1, "shift": 2, "super": 3}
    return "+".join(sorted(keys, key=lambda k: (order.get(k, 4), k)))


@dataclass(frozen=True)
class PolicyConfig:
    confirm: ConfirmMode = ConfirmMode.RISKY
    denied_chords: tuple[str, ...] = DEFAULT_DENIED_CHORDS
    risky_regions: tuple[Region, ...] = ()
    # Case-insensitive regular expressions matched against the title of the window under the point.
    risky_windows: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reason: str = ""


@dataclass
class Policy:
    """Decides per action; remembers what the user approved for this session."""

    config: PolicyConfig = field(default_factory=PolicyConfig)
    window_title_at: WindowTitleAt | None = None
    extra_denied: tuple[str, ...] = ()  # e.g. the kill hotkey
    approved_reasons: set[str] = field(default_factory=set)
    # Where the pointer is now, for clicks that come without a coordinate.
    pointer_at: PointerAt | None = None
    # True where the desktop cannot tell (Wayland): pointer_at is where Deskpilot last put
    # it, and the words say so rather than claim to know where the pointer is.
    pointer_remembered: bool = False

    def __post_init__(self) -> None:
        self._denied = parse_chords((*self.config.denied_chords, *self.extra_denied))
        try:
            self._windows = [re.compile(p, re.IGNORECASE) for p in self.config.risky_windows]
        except re.error as err:
            raise ConfigError(f"bad window pattern in risky_windows: {err}") from None

    def decide(self, action: ScreenAction, monitor: Region) -> Verdict:
        point = self._target(action)
        denied = self._denial(action, point, monitor)
        if denied:
            return Verdict("deny", denied)
        if action.name in ("wait", "terminate", "answer"):
            return Verdict("allow")
        risk = self._risk(action, point)
        if self.config.confirm is ConfirmMode.NEVER:
            return Verdict("allow", risk)
        if self.config.confirm is ConfirmMode.ALWAYS:
            return Verdict("confirm", risk or "every action is confirmed (confirm=always)")
        if risk and risk not in self.approved_reasons:
            return Verdict("confirm", risk)
        return Verdict("allow", risk)

    def approve_for_session(self, verdict: Verdict) -> None:
        if verdict.reason:
            self.approved_reasons.add(verdict.reason)

    def _target(self, action: ScreenAction) -> tuple[int, int] | None:
        """The screen point the action acts on: its own, or the pointer for a pointer click."""
        if action.screen_xy is not None:
            return action.screen_xy
        if is_pointer_click(action.action) and self.pointer_at is not None:
            return self.pointer_at()
        return None

    def _denial(self, action: ScreenAction, point: tuple[int, int] | None, monitor: Region) -> str:
        if point is not None and not monitor.contains(*point):
            if action.screen_xy is None:
                where = "was last put at" if self.pointer_remembered else "is at"
                return f"the pointer {where} {point}, outside the captured monitor {monitor}"
            return f"the point {point} is outside the captured monitor {monitor}"
        inner = action.action
        element = getattr(inner, "element", None)
        if element is not None and action.screen_xy is None:
            # A marked element's number the loop did not resolve to a point: never a click at the pointer.
            return f"element {element} was not found on the screen"
        if isinstance(inner, Key):
            chord = denied_chord(inner.keys, self._denied)
            if chord is not None:
                pressed = "+".join(inner.keys)
                if chord == frozenset(inner.keys):
                    return f"the chord {chord_text(chord)} is on the denylist"
                return f"the chord {pressed} sends {chord_text(chord)}, which is on the denylist"
        return ""

    def _risk(self, action: ScreenAction, point: tuple[int, int] | None) -> str:
        inner = action.action
        if isinstance(inner, Key):
            if any(k in MODIFIERS for k in inner.keys):
                return f"presses the shortcut {'+'.join(inner.keys)}"
            if "enter" in inner.keys:
                return "presses Enter"
        if isinstance(inner, Type) and ("\n" in inner.text or "\r" in inner.text):
            return "types a line break (Enter)"
        if isinstance(inner, LeftClickDrag):
            return "drags with the mouse"
        if point is None and is_pointer_click(inner) and (self.config.risky_regions or self._windows):
            # Protected places are configured but this click's place is unknown here.
            return "clicks at the pointer, whose position the policy cannot see"
        if point is not None:
            for region in self.config.risky_regions:
                if region.contains(*point):
                    return f"acts inside the protected region {region}"
            if self._windows and self.window_title_at is not None:
                title = self.window_title_at(*point) or ""
                for pattern in self._windows:
                    if pattern.search(title):
                        return f"acts on the protected window {title!r}"
        return ""

"""Canonical key names as X keysyms, the unit Mutter's ``NotifyKeyboardKeysym`` takes."""

from __future__ import annotations

from agent.computers.keysyms import KEYSYM_VALUES
from agent.errors import ActionError
from agent.keys import normalize_key

# Mutter finds the keycode of a keysym in the active layout (and adds Shift itself for
# "A" or "!"); a keysym the layout lacks is dropped without an error, so only these
# keys and the printable ASCII a US layout has are sent this way. Everything else is
# typed through the clipboard. The keysym values are agent.computers.keysyms's.

# evdev codes: the session's throwaway first key, and the paste chord.
KEY_LEFTSHIFT, KEY_LEFTCTRL, KEY_V = 42, 29, 47
BUTTONS = {"left": 0x110, "right": 0x111, "middle": 0x112}  # BTN_LEFT, BTN_RIGHT, BTN_MIDDLE


def typeable(char: str) -> bool:
    """Whether keysyms type ``char`` in a US layout: printable ASCII (space included)."""
    return len(char) == 1 and 0x20 <= ord(char) <= 0x7E


def keysym(name: str) -> int:
    """The keysym of a canonical key name or a single printable ASCII character."""
    key = normalize_key(name)
    if key in KEYSYM_VALUES:
        return KEYSYM_VALUES[key]
    if typeable(key):
        return ord(key)  # Latin-1 keysyms equal their code points
    raise ActionError(f"the key {name!r} has no keysym Deskpilot can send on GNOME")

"""Canonical key names as X keysyms, the unit Mutter's ``NotifyKeyboardKeysym`` takes."""

from __future__ import annotations

from agent.errors import ActionError
from agent.keys import normalize_key

# Mutter finds the keycode of a keysym in the active layout (and adds Shift itself for
# "A" or "!"); a keysym the layout lacks is dropped without an error, so only these
# keys and the printable ASCII a US layout has are sent this way. Everything else is
# typed through the clipboard.
KEYSYMS: dict[str, int] = {
    "ctrl": 0xFFE3,
    "shift": 0xFFE1,
    "alt": 0xFFE9,
    "super": 0xFFEB,
    "enter": 0xFF0D,
    "tab": 0xFF09,
    "space": 0x0020,
    "backspace": 0xFF08,
    "delete": 0xFFFF,
    "escape": 0xFF1B,
    "insert": 0xFF63,
    "home": 0xFF50,
    "end": 0xFF57,
    "pageup": 0xFF55,
    "pagedown": 0xFF56,
    "up": 0xFF52,
    "down": 0xFF54,
    "left": 0xFF51,
    "right": 0xFF53,
    "capslock": 0xFFE5,
    "numlock": 0xFF7F,
    "scrolllock": 0xFF14,
    "printscreen": 0xFF61,
    "pause": 0xFF13,
    "menu": 0xFF67,
    "volumeup": 0x1008FF13,
    "volumedown": 0x1008FF11,
    "volumemute": 0x1008FF12,
    "playpause": 0x1008FF14,
    "nexttrack": 0x1008FF17,
    "prevtrack": 0x1008FF16,
} | {f"f{n}": 0xFFBE + n - 1 for n in range(1, 25)}

# evdev codes: the session's throwaway first key, and the paste chord.
KEY_LEFTSHIFT, KEY_LEFTCTRL, KEY_V = 42, 29, 47
BUTTONS = {"left": 0x110, "right": 0x111, "middle": 0x112}  # BTN_LEFT, BTN_RIGHT, BTN_MIDDLE


def typeable(char: str) -> bool:
    """Whether keysyms type ``char`` in a US layout: printable ASCII (space included)."""
    return len(char) == 1 and 0x20 <= ord(char) <= 0x7E


def keysym(name: str) -> int:
    """The keysym of a canonical key name or a single printable ASCII character."""
    key = normalize_key(name)
    if key in KEYSYMS:
        return KEYSYMS[key]
    if typeable(key):
        return ord(key)  # Latin-1 keysyms equal their code points
    raise ActionError(f"the key {name!r} has no keysym Deskpilot can send on GNOME")

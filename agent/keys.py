"""The closed set of key names actions may use, and the aliases models emit for them."""

from __future__ import annotations

import string

MODIFIERS: frozenset[str] = frozenset({"ctrl", "alt", "shift", "super"})

_NAMED: frozenset[str] = frozenset(
    {
        "enter",
        "tab",
        "space",
        "backspace",
        "delete",
        "escape",
        "insert",
        "home",
        "end",
        "pageup",
        "pagedown",
        "up",
        "down",
        "left",
        "right",
        "capslock",
        "numlock",
        "scrolllock",
        "printscreen",
        "pause",
        "menu",
        "volumeup",
        "volumedown",
        "volumemute",
        "playpause",
        "nexttrack",
        "prevtrack",
    }
    | {f"f{n}" for n in range(1, 25)}
)

# Single printable characters a US keyboard produces; letters are kept lower-case
# because models write "ctrl+A" meaning the A key, not shift+a.
_CHARACTERS: frozenset[str] = frozenset(
    string.ascii_lowercase + string.digits + "`~!@#$%^&*()-_=+[]{}\\|;:'\",.<>/?"
)

KEY_NAMES: frozenset[str] = MODIFIERS | _NAMED | _CHARACTERS

# Written without separators: lookup strips "_", "-" and spaces from multi-letter names.
_ALIASES: dict[str, str] = {
    "control": "ctrl",
    "ctl": "ctrl",
    "ctrlleft": "ctrl",
    "ctrlright": "ctrl",
    "controll": "ctrl",
    "controlr": "ctrl",
    "ctrll": "ctrl",
    "ctrlr": "ctrl",
    "lctrl": "ctrl",
    "rctrl": "ctrl",
    "altleft": "alt",
    "altright": "alt",
    "altl": "alt",
    "altr": "alt",
    "option": "alt",
    "opt": "alt",
    "altgr": "alt",
    "shiftleft": "shift",
    "shiftright": "shift",
    "shiftl": "shift",
    "shiftr": "shift",
    "cmd": "super",
    "command": "super",
    "win": "super",
    "windows": "super",
    "meta": "super",
    "winleft": "super",
    "winright": "super",
    "superl": "super",
    "superr": "super",
    "os": "super",
    "return": "enter",
    "ret": "enter",
    "kpenter": "enter",
    "esc": "escape",
    "del": "delete",
    "ins": "insert",
    "bksp": "backspace",
    "backspace": "backspace",
    "pgup": "pageup",
    "prior": "pageup",
    "pgdn": "pagedown",
    "pgdown": "pagedown",
    "next": "pagedown",
    "arrowup": "up",
    "arrowdown": "down",
    "arrowleft": "left",
    "arrowright": "right",
    "uparrow": "up",
    "downarrow": "down",
    "leftarrow": "left",
    "rightarrow": "right",
    "spacebar": "space",
    "prtsc": "printscreen",
    "prtscr": "printscreen",
    "print": "printscreen",
    "prntscrn": "printscreen",
    "capital": "capslock",
    "apps": "menu",
    "contextmenu": "menu",
    "plus": "+",
    "minus": "-",
    "comma": ",",
    "period": ".",
    "slash": "/",
    "backslash": "\\",
    "semicolon": ";",
    "equal": "=",
    "equals": "=",
    "grave": "`",
    "apostrophe": "'",
}


class UnknownKeyError(ValueError):
    """A key name that is neither canonical nor a known alias."""


def normalize_key(name: str) -> str:
    """Return the canonical name of ``name`` or raise ``UnknownKeyError``."""
    if len(name) == 1:
        lowered = name.lower()
        if lowered in _CHARACTERS:
            return lowered
        raise UnknownKeyError(f"unknown key {name!r}")
    compact = name.strip().lower().replace("_", "").replace("-", "").replace(" ", "")
    if compact in KEY_NAMES:
        return compact
    if compact in _ALIASES:
        return _ALIASES[compact]
    raise UnknownKeyError(f"unknown key {name!r}")


def split_chord(chord: str) -> list[str]:
    """Split "ctrl+shift+t" into key names; a lone "+" (or "ctrl++") keeps its plus."""
    if len(chord) <= 1:
        return [chord]
    parts: list[str] = []
    for piece in chord.split("+"):
        if piece == "" and (not parts or parts[-1] != "+"):
            parts.append("+")
        elif piece != "":
            parts.append(piece.strip())
    return parts


def normalize_keys(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Canonicalise a key sequence, splitting "ctrl+c" style chords written as one item."""
    result: list[str] = []
    for name in names:
        for part in split_chord(name) if "+" in name else [name]:
            result.append(normalize_key(part))
    return tuple(result)

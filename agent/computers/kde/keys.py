"""Canonical key names and US-layout characters as Linux evdev key codes, what fake-input sends."""

from __future__ import annotations

from collections.abc import Sequence

from agent.errors import ConfigError
from agent.keys import UnknownKeyError, normalize_key

# linux/input-event-codes.h. fake-input takes evdev codes only (no keysyms), so what a
# code types depends on the user's layout: ``CHARACTERS`` assumes US, and anything
# outside it is pasted through the clipboard instead of typed.
SHIFT = 42
CTRL = 29
NAMED: dict[str, int] = {
    "ctrl": CTRL, "shift": SHIFT, "alt": 56, "super": 125,
    "enter": 28, "tab": 15, "space": 57, "backspace": 14, "delete": 111, "escape": 1,
    "insert": 110, "home": 102, "end": 107, "pageup": 104, "pagedown": 109,
    "up": 103, "down": 108, "left": 105, "right": 106,
    "capslock": 58, "numlock": 69, "scrolllock": 70, "printscreen": 99, "pause": 119, "menu": 127,
    "volumeup": 115, "volumedown": 114, "volumemute": 113,
    "playpause": 164, "nexttrack": 163, "prevtrack": 165,
    "f1": 59, "f2": 60, "f3": 61, "f4": 62, "f5": 63, "f6": 64, "f7": 65, "f8": 66, "f9": 67, "f10": 68,
    "f11": 87, "f12": 88, "f13": 183, "f14": 184, "f15": 185, "f16": 186, "f17": 187, "f18": 188,
    "f19": 189, "f20": 190, "f21": 191, "f22": 192, "f23": 193, "f24": 194,
}

_ROWS = (
    ("1234567890-=", "!@#$%^&*()_+", 2),
    ("qwertyuiop[]", "QWERTYUIOP{}", 16),
    ("asdfghjkl;'", 'ASDFGHJKL:"', 30),
    ("zxcvbnm,./", "ZXCVBNM<>?", 44),
)
# character -> (evdev code, needs shift) on a US layout.
CHARACTERS: dict[str, tuple[int, bool]] = {" ": (57, False), "`": (41, False), "~": (41, True),
                                           "\\": (43, False), "|": (43, True)}
for _plain, _shifted, _first in _ROWS:
    for _offset, (_p, _s) in enumerate(zip(_plain, _shifted, strict=True)):
        CHARACTERS[_p] = (_first + _offset, False)
        CHARACTERS[_s] = (_first + _offset, True)


def typeable(char: str) -> bool:
    """Whether ``char`` is typed by key codes (else it is pasted)."""
    return char in CHARACTERS


def key_code(name: str) -> int:
    """The evdev code of one canonical key name or US character; ConfigError when it has none."""
    try:
        key = normalize_key(name)
    except UnknownKeyError:
        raise ConfigError(f"unknown key {name!r}") from None
    if key in NAMED:
        return NAMED[key]
    if key in CHARACTERS:
        return CHARACTERS[key][0]
    raise ConfigError(f"the key {key!r} has no key code on KDE")


def chord_codes(keys: Sequence[str]) -> list[int]:
    """The codes of a chord, pressed in order and released in reverse."""
    return [key_code(name) for name in keys]

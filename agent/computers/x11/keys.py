"""How pynput names keys on X11: the spelling of a global hotkey, and the canonical name of a key event."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent.errors import ConfigError
from agent.keys import UnknownKeyError, normalize_key

_PYNPUT_MODIFIERS: dict[str, str] = {"ctrl": "ctrl", "alt": "alt", "shift": "shift", "super": "cmd"}

# Canonical key name -> pynput ``Key`` member name. Keys pynput cannot name on X
# (f21..f24) are missing on purpose: a hotkey on them could never fire.
PYNPUT_KEY_NAMES: dict[str, str] = {
    "enter": "enter",
    "tab": "tab",
    "space": "space",
    "backspace": "backspace",
    "delete": "delete",
    "escape": "esc",
    "insert": "insert",
    "home": "home",
    "end": "end",
    "pageup": "page_up",
    "pagedown": "page_down",
    "up": "up",
    "down": "down",
    "left": "left",
    "right": "right",
    "capslock": "caps_lock",
    "numlock": "num_lock",
    "scrolllock": "scroll_lock",
    "printscreen": "print_screen",
    "pause": "pause",
    "menu": "menu",
    "volumeup": "media_volume_up",
    "volumedown": "media_volume_down",
    "volumemute": "media_volume_mute",
    "playpause": "media_play_pause",
    "nexttrack": "media_next",
    "prevtrack": "media_previous",
} | {f"f{n}": f"f{n}" for n in range(1, 21)}


def pynput_hotkey_string(keys: Sequence[str]) -> str:
    """The pynput ``GlobalHotKeys`` spelling of canonical keys: ("ctrl", "k") -> "<ctrl>+k"."""
    parts: list[str] = []
    for name in keys:
        try:
            key = normalize_key(name)
        except UnknownKeyError:
            raise ConfigError(f"unknown key {name!r} in a hotkey") from None
        if key in _PYNPUT_MODIFIERS:
            parts.append(f"<{_PYNPUT_MODIFIERS[key]}>")
        elif key in PYNPUT_KEY_NAMES:
            parts.append(f"<{PYNPUT_KEY_NAMES[key]}>")
        elif len(key) == 1:
            parts.append(key)
        else:
            raise ConfigError(f"the key {key!r} cannot be used in a global hotkey")
    # pynput splits on "+", but reads a trailing "+" after a separator as the plus key.
    if "+" in parts[:-1]:
        raise ConfigError("'+' can only be the last key of a hotkey")
    return "+".join(parts)


# pynput Key member name -> canonical key name (left/right variants fold together).
_FROM_PYNPUT: dict[str, str] = {v: k for k, v in PYNPUT_KEY_NAMES.items()} | {
    "ctrl": "ctrl",
    "ctrl_l": "ctrl",
    "ctrl_r": "ctrl",
    "alt": "alt",
    "alt_l": "alt",
    "alt_r": "alt",
    "alt_gr": "alt",
    "shift": "shift",
    "shift_l": "shift",
    "shift_r": "shift",
    "cmd": "super",
    "cmd_l": "super",
    "cmd_r": "super",
}


def canonical_key(key: Any) -> str | None:
    """The canonical name of a pynput key event, or None for keys Deskpilot cannot name."""
    name = getattr(key, "name", None)  # pynput ``Key`` members
    if isinstance(name, str):
        return _FROM_PYNPUT.get(name)
    char = getattr(key, "char", None)  # pynput ``KeyCode``
    if isinstance(char, str) and char:
        try:
            return normalize_key(char)
        except UnknownKeyError:
            return None
    return None

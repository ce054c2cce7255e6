"""Keyboard input through pynput: key chords and ASCII typing that respect the keymap.

pyautogui decides on its own, from a US-layout table, whether a character needs
shift; under Xvfb's keymap it types ``<`` as ``>`` (measured). pynput looks the
keysym up in the live keymap, so keys and ASCII text go through it. Text outside
ASCII goes through the clipboard (``agent.computers.clipboard``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Canonical key name (agent.keys) → pynput ``Key`` attribute.
_SPECIAL = {
    "ctrl": "ctrl", "alt": "alt", "shift": "shift", "super": "cmd",
    "enter": "enter", "tab": "tab", "space": "space", "backspace": "backspace",
    "delete": "delete", "escape": "esc", "insert": "insert", "home": "home", "end": "end",
    "pageup": "page_up", "pagedown": "page_down", "up": "up", "down": "down",
    "left": "left", "right": "right", "capslock": "caps_lock", "numlock": "num_lock",
    "scrolllock": "scroll_lock", "printscreen": "print_screen", "pause": "pause",
    "menu": "menu", "volumeup": "media_volume_up", "volumedown": "media_volume_down",
    "volumemute": "media_volume_mute", "playpause": "media_play_pause",
    "nexttrack": "media_next", "prevtrack": "media_previous",
} | {f"f{n}": f"f{n}" for n in range(1, 21)}


class Keyboard:
    """Presses chords and types ASCII; every pressed key is released, even on error."""

    def __init__(self) -> None:
        from pynput.keyboard import Controller, Key, KeyCode

        self._controller = Controller()
        self._key = Key
        self._keycode = KeyCode

    def resolve(self, name: str) -> Any:
        if name in _SPECIAL:
            return getattr(self._key, _SPECIAL[name])
        if len(name) == 1:
            return self._keycode.from_char(name)
        raise ValueError(f"key {name!r} cannot be sent on this platform")

    def chord(self, names: tuple[str, ...], before_each: Callable[[], None] | None = None) -> None:
        """Press ``names`` in order and release them in reverse."""
        keys = [self.resolve(n) for n in names]
        pressed: list[Any] = []
        try:
            for key in keys:
                if before_each is not None:
                    before_each()
                self._controller.press(key)
                pressed.append(key)
        finally:
            for key in reversed(pressed):
                self._controller.release(key)

    def type_ascii(self, text: str) -> None:
        self._controller.type(text)

"""The global kill hotkey: a chord that sets the stop token from any application."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from agent.computers.listeners import import_pynput, recording_listener, start_listener, stop_listener
from agent.errors import ConfigError
from agent.keys import MODIFIERS, UnknownKeyError, normalize_key, split_chord

_log = logging.getLogger(__name__)

DEFAULT_KILL_HOTKEY = "ctrl+alt+k"

# Canonical order, so "alt+ctrl+k" and "ctrl+alt+k" parse to the same tuple.
_MODIFIER_ORDER: tuple[str, ...] = ("ctrl", "alt", "shift", "super")

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


def parse_hotkey(chord: str) -> tuple[str, ...]:
    """Canonicalise a kill-hotkey chord: modifiers in a fixed order, then the one key.

    A chord needs a modifier other than shift: shift+key is ordinary typing, and the
    agent's own typing would then stop it (X does not mark injected input).
    """
    if not chord.strip():
        raise ConfigError("the kill hotkey is empty; use a chord like 'ctrl+alt+k'")
    keys: list[str] = []
    for part in split_chord(chord.strip()):
        try:
            key = normalize_key(part)
        except UnknownKeyError:
            raise ConfigError(f"kill hotkey {chord!r}: unknown key {part!r}") from None
        if key in keys:
            raise ConfigError(f"kill hotkey {chord!r}: {key!r} appears twice")
        keys.append(key)
    modifiers = [k for k in _MODIFIER_ORDER if k in keys]
    others = [k for k in keys if k not in MODIFIERS]
    if len(others) != 1:
        raise ConfigError(
            f"kill hotkey {chord!r} must have exactly one non-modifier key "
            f"(it has {len(others)}), e.g. 'ctrl+alt+k'"
        )
    if not [m for m in modifiers if m != "shift"]:
        raise ConfigError(
            f"kill hotkey {chord!r} needs ctrl, alt or super: without one it fires while typing"
        )
    parsed = (*modifiers, others[0])
    pynput_hotkey_string(parsed)  # a key pynput cannot name fails here, at configuration time
    return parsed


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


class KillSwitch:
    """Calls ``on_trigger`` (on the listener thread) whenever the kill chord is pressed."""

    def __init__(self, chord: str, on_trigger: Callable[[], None]) -> None:
        self.keys = parse_hotkey(chord)
        self._on_trigger = on_trigger
        self._listener: Any = None
        self._lock = threading.Lock()

    @property
    def chord(self) -> str:
        """The canonical chord, e.g. "ctrl+alt+k"."""
        return "+".join(self.keys)

    @property
    def running(self) -> bool:
        """True while the listener thread is alive (it dies with the X connection)."""
        return self._listener is not None and bool(self._listener.is_alive())

    @property
    def thread(self) -> threading.Thread | None:
        """The listener thread of the last ``start()``, so callers can check it ended."""
        thread: threading.Thread | None = self._listener
        return thread

    def start(self) -> None:
        """Listen for the chord from now on; DisplayError when X cannot be listened to."""
        with self._lock:
            if self._listener is not None and self._listener.is_alive():
                return
            keyboard, _ = import_pynput("kill hotkey")
            listener_class = recording_listener(keyboard.GlobalHotKeys)
            self._listener = listener_class({pynput_hotkey_string(self.keys): self._fire})
            start_listener(self._listener, "kill hotkey")

    def stop(self) -> None:
        """Stop listening; the listener thread has ended when this returns (bounded wait)."""
        with self._lock:
            if self._listener is not None:
                stop_listener(self._listener)

    def _fire(self) -> None:
        # An exception escaping a pynput callback stops its listener: the kill switch
        # must outlive a faulty handler.
        try:
            self._on_trigger()
        except Exception:
            _log.exception("the kill hotkey handler failed")

    def __enter__(self) -> KillSwitch:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

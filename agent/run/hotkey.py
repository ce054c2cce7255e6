"""The global kill hotkey: a chord that sets the stop token from any application."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from agent.computers.x11.keys import PYNPUT_KEY_NAMES as PYNPUT_KEY_NAMES
from agent.computers.x11.keys import pynput_hotkey_string
from agent.computers.x11.listeners import import_pynput, recording_listener, start_listener, stop_listener
from agent.errors import ConfigError
from agent.keys import MODIFIERS, UnknownKeyError, normalize_key, split_chord

_log = logging.getLogger(__name__)

DEFAULT_KILL_HOTKEY = "ctrl+alt+k"

# Canonical order, so "alt+ctrl+k" and "ctrl+alt+k" parse to the same tuple.
_MODIFIER_ORDER: tuple[str, ...] = ("ctrl", "alt", "shift", "super")



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

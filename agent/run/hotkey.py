"""The global kill hotkey: a chord that sets the stop token from any application."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from agent.errors import ConfigError
from agent.keys import MODIFIERS, UnknownKeyError, normalize_key, split_chord

if TYPE_CHECKING:
    from agent.computers.platform import InputWatch, InputWatching

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
    # A key the X11 listener cannot name fails here, at configuration time, not when a run
    # starts. The table is plain names (no X library); it is the only desktop's today.
    from agent.computers.x11.keys import pynput_hotkey_string

    pynput_hotkey_string(parsed)
    return parsed


class KillSwitch:
    """Calls ``on_trigger`` (on the listener thread) whenever the kill chord is pressed.

    ``watching`` is the platform's input watching (``Platform.input_watching()``); the
    chord's listener lifecycle lives there, once for every watcher.
    """

    def __init__(self, chord: str, on_trigger: Callable[[], None], watching: InputWatching) -> None:
        self.keys = parse_hotkey(chord)
        self._on_trigger = on_trigger
        self._watching = watching
        self._watch: InputWatch | None = None
        self._lock = threading.Lock()

    @property
    def chord(self) -> str:
        """The canonical chord, e.g. "ctrl+alt+k"."""
        return "+".join(self.keys)

    @property
    def running(self) -> bool:
        """True while the listener is alive (it dies with the display connection)."""
        return self._watch is not None and self._watch.is_alive()

    @property
    def watch(self) -> InputWatch | None:
        """The watch of the last ``start()``, so callers can check it ended."""
        return self._watch

    def start(self) -> None:
        """Listen for the chord from now on; DisplayError when the desktop cannot be listened to."""
        with self._lock:
            if self._watch is not None and self._watch.is_alive():
                return
            self._watch = self._watching.watch_chord(self.keys, self._fire, what="kill hotkey")
            self._watch.start()

    def stop(self) -> None:
        """Stop listening; the listener has ended when this returns (bounded wait)."""
        with self._lock:
            if self._watch is not None:
                self._watch.stop()

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

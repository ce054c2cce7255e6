"""Noticing that the user touched the mouse or keyboard while the agent drives the desktop."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING

from agent.computers.platform import InputHandlers
from agent.errors import ConfigError
from agent.keys import MODIFIERS, UnknownKeyError, normalize_key

if TYPE_CHECKING:
    from agent.computers.platform import InputWatch, InputWatching

_log = logging.getLogger(__name__)

MOUSE_MOVED = "mouse moved"
MOUSE_CLICKED = "mouse clicked"
MOUSE_SCROLLED = "mouse scrolled"
KEY_PRESSED = "key pressed"


class TakeoverDetector:
    """Calls ``on_takeover(description)`` once when real user input arrives; ``rearm()`` resets.

    X does not mark injected input, so the agent brackets its own actions with
    ``agent_acting()``; input inside that bracket, or within ``grace_s`` after it (events
    still in flight), is the agent's. Modifier keys and ``ignore_keys`` (the kill chord)
    never count: the kill switch owns those. That also ignores, say, a lone "k" typed by
    the user; their next other key or any mouse motion still counts. ``on_takeover`` runs
    on a listener thread: keep it short (set an event, post to the loop). ``watching`` is
    the platform's input watching; without one only ``observe`` feeds the detector.
    """

    def __init__(
        self,
        on_takeover: Callable[[str], None],
        *,
        watching: InputWatching | None = None,
        grace_s: float = 0.15,
        ignore_keys: tuple[str, ...] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._on_takeover = on_takeover
        self._grace_s = grace_s
        try:
            self._ignored = frozenset(normalize_key(k) for k in ignore_keys) | MODIFIERS
        except UnknownKeyError as err:
            raise ConfigError(f"cannot ignore {err}") from None
        self._clock = clock
        self._lock = threading.Lock()
        self._acting = 0
        self._quiet_until = float("-inf")
        self._fired = False
        self._watching = watching
        self._watch: InputWatch | None = None

    @property
    def triggered(self) -> bool:
        """True after a takeover was reported and before ``rearm()``."""
        return self._fired

    @property
    def watch(self) -> InputWatch | None:
        """The watch of the last ``start()``, so callers can check it ended."""
        return self._watch

    def start(self) -> None:
        """Watch the mouse and keyboard; DisplayError when the desktop cannot be listened to."""
        if self._watching is None or (self._watch is not None and self._watch.is_alive()):
            return
        handlers = InputHandlers(
            on_key_down=self._on_key,
            on_move=self._on_move,
            on_button=self._on_button,
            on_scroll=self._on_scroll,
        )
        self._watch = self._watching.watch_input(handlers, what="user's input")
        self._watch.start()

    def stop(self) -> None:
        """Stop watching; the listener has ended when this returns (bounded wait)."""
        if self._watch is not None:
            self._watch.stop()

    @contextmanager
    def agent_acting(self) -> Iterator[None]:
        """Input during the block, and for ``grace_s`` after it, is the agent's own."""
        with self._lock:
            self._acting += 1
        try:
            yield
        finally:
            with self._lock:
                self._acting -= 1
                self._quiet_until = max(self._quiet_until, self._clock() + self._grace_s)

    def rearm(self) -> None:
        """Report the next user input again (after the loop handled the last takeover)."""
        with self._lock:
            self._fired = False

    def observe(self, description: str) -> bool:
        """Account one input event; True when it was reported as a takeover.

        The listeners call this for every event that is not an ignored key; it is public
        so other input sources (and tests) can feed the same decision.
        """
        with self._lock:
            if self._fired or self._acting > 0 or self._clock() < self._quiet_until:
                return False
            self._fired = True
        # Outside the lock: the handler may call rearm() or agent_acting().
        try:
            self._on_takeover(description)
        except Exception:  # an exception escaping a listener callback would end the listener
            _log.exception("the takeover handler failed")
        return True

    def _on_move(self, x: int, y: int) -> None:
        self.observe(MOUSE_MOVED)

    def _on_button(self, x: int, y: int, button: str, pressed: bool) -> None:
        if pressed:
            self.observe(MOUSE_CLICKED)

    def _on_scroll(self, x: int, y: int, dx: int, dy: int) -> None:
        self.observe(MOUSE_SCROLLED)

    def _on_key(self, key: str, char: str) -> None:
        if key not in self._ignored:
            self.observe(KEY_PRESSED)

    def __enter__(self) -> TakeoverDetector:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

"""The last few screens, kept while recording, so a press's anchor shows the screen from before the press.

An application reacts to a press within milliseconds (a button relabels itself on
mousedown, a menu opens), long before the recorder's thread hears of it; a capture
taken then shows the click's result, not its target. ``FrameRing`` grabs the screen
each time the pointer comes to rest after moving (``REST_S`` without motion: where
the user is about to press) and every ``IDLE_INTERVAL_S`` otherwise, moving or not
(a grab of a pointer still travelling is rarely the one a press needs, and grabbing
at the motion's own rate cost more than the 5 % of a core budget), timestamped when
each grab had completed; ``frame_before`` picks the newest grab completed strictly before the
press's own time (the desktop's event time on the same monotonic clock, see
``InputHandlers.on_button_at``). Grabs are the platform's cheap ``snapshot`` where it
has one (no pixel conversion until a grab is chosen), else a full capture.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.computers.platform import Snapshotting
from agent.errors import DisplayError

if TYPE_CHECKING:
    from agent.computers.base import Frame
    from agent.computers.platform import Screen

# The pointer this long without motion has come to rest: grab it there.
REST_S = 0.03
# Otherwise: the screen still changes (a page loading, a caret blinking, a long drag).
IDLE_INTERVAL_S = 0.25
# Grabs kept: the pick happens on the listener's thread as the press arrives, so only
# the last few are ever needed; each 1080p grab holds about 8 MB.
KEEP = 4


@dataclass(frozen=True)
class Shot:
    """One grab: when it had completed (``time.monotonic()``) and how to turn it into a Frame."""

    t: float
    frame: Callable[[], Frame]


def frame_before(shots: Sequence[Shot], t: float) -> Shot | None:
    """The newest shot completed strictly before ``t``; None when there is none (pure)."""
    earlier = [shot for shot in shots if shot.t < t]
    return max(earlier, key=lambda shot: shot.t) if earlier else None


class FrameRing:
    """Grabs ``screen`` on its own thread while started; ``before(t)`` picks from the last ``keep``."""

    def __init__(
        self,
        screen: Screen,
        *,
        rest_s: float = REST_S,
        idle_interval_s: float = IDLE_INTERVAL_S,
        keep: int = KEEP,
    ) -> None:
        self._grab: Callable[[], Callable[[], Frame]]
        if isinstance(screen, Snapshotting):
            self._grab = screen.snapshot
        else:
            capture = screen.capture
            self._grab = lambda: _ready(capture())
        self.rest_s = rest_s
        self.idle_interval_s = idle_interval_s
        self._shots: deque[Shot] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._moved = threading.Event()
        self._last_motion = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.grabs = 0  # how many grabs were taken (the benchmark's count)

    def start(self) -> None:
        self._grab_once()  # a press right after starting still has a screen from before it
        self._thread = threading.Thread(target=self._run, name="frame-ring", daemon=True)
        self._thread.start()

    def moved(self) -> None:
        """The pointer moved (called on the listener's thread: a time and a flag)."""
        self._last_motion = time.monotonic()
        self._moved.set()

    def before(self, t: float) -> Shot | None:
        with self._lock:
            return frame_before(list(self._shots), t)

    def stop(self) -> None:
        self._stop.set()
        self._moved.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._moved.wait(self.idle_interval_s):
                self._until_rest()
                self._moved.clear()
            if self._stop.is_set():
                return
            self._grab_once()

    def _until_rest(self) -> None:
        """Return once the pointer has not moved for ``rest_s``, or ``idle_interval_s`` has passed.

        Woken only by its own deadline (motion merely moves it on), so a pointer
        reporting at 100 Hz costs about one wake-up per ``rest_s``, not one per event.
        """
        began = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            rested_at = self._last_motion + self.rest_s
            if now >= rested_at or now - began >= self.idle_interval_s:
                return
            self._stop.wait(rested_at - now)

    def _grab_once(self) -> None:
        try:
            frame = self._grab()
        except DisplayError:
            return  # a failed grab leaves the older ones; the press falls back to a capture
        shot = Shot(time.monotonic(), frame)
        with self._lock:
            self._shots.append(shot)
        self.grabs += 1


def _ready(frame: Frame) -> Callable[[], Frame]:
    return lambda: frame

"""What the screen-cast reader asks of a remote-desktop session, Mutter's or the portal's.

When Mutter last took an input (a frame recorded before it may not show it yet), and a
way to make Mutter paint the stage again so a frame recorded after that input comes
(``stream.py`` says why and what was measured). Both sessions send the same inputs
through ``_notify``; this keeps the bookkeeping in one place.
"""

from __future__ import annotations

import time
from typing import Any


class InputClock:
    """Mixed into a session: ``_notify`` stamps ``last_input_at``; ``nudge`` repaints."""

    def __init__(self) -> None:
        # When Mutter last took an input (its reply came back; monotonic s).
        self.last_input_at = float("-inf")
        self._pointer = (0.0, 0.0)  # where motion last put it, in stream pixels
        self._held: set[int] = set()  # buttons pressed and not released

    def _notify(self, method: str, signature: str, *args: Any) -> None:
        raise NotImplementedError

    def _took(self) -> None:
        self.last_input_at = time.monotonic()

    def _moved(self, x: float, y: float) -> None:
        self._pointer = (float(x), float(y))

    def _pressed(self, evdev_button: int, pressed: bool) -> None:
        (self._held.add if pressed else self._held.discard)(evdev_button)

    def motion(self, x: float, y: float) -> None:
        raise NotImplementedError

    def nudge(self) -> float:
        """Move the pointer a pixel and back: Mutter paints the stage again (the cursor is in the frames).

        Returns when Mutter had taken the first move: a frame recorded after that comes
        from a paint that began after it (Mutter paints and takes calls on one thread).
        With a button held the pointer stays put (a move would drag): returns now, and
        the reader falls back to waiting for the screen to stay quiet.
        """
        if self._held:
            return time.monotonic()
        x, y = self._pointer
        self.motion(x + 1 if x < 1 else x - 1, y)
        moved = self.last_input_at
        self.motion(x, y)
        return moved

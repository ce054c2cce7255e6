"""The capture service: frames for whoever runs, waiting for a still screen, and "did it change?".

Every source takes its frames from here (the agent loop, the macro healer, the OCR
reader, the skills), so the screen is read one way. Settling listens to the
accessibility tree's events where the active window has a tree (a quiet gap after the
last load, window, focus or text event: milliseconds, and no captures), and compares
captures otherwise; the result says which. Keeping Deskpilot's own overlay
out of the frames is the computer's job: the tray hands in a computer that hides it
around each grab.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.errors import DisplayError, StoppedError
from agent.imaging import DEFAULT_TOLERANCE, changed_fraction, thumbnail
from agent.run.settle import SettleResult, wait_until_settled

if TYPE_CHECKING:
    from agent.computers.base import Computer, Frame
    from agent.ports import AccessibleTree


@dataclass(frozen=True)
class SettleSettings:
    quiet_s: float = 0.05
    timeout_s: float = 3.0
    # Without events for this long the window is taken as settled: its events come 6-25 ms
    # after a click and a reload's load-complete after ~100 ms (issue 21's measurements).
    tree_gap_s: float = 0.15


class Capture:
    """Frames of one computer's configured monitor, and settling, under one stop token."""

    def __init__(
        self,
        computer: Computer,
        stop: threading.Event,
        settle: SettleSettings | None = None,
        *,
        tree: AccessibleTree | None = None,
    ) -> None:
        self.computer = computer
        self.stop = stop
        self.settle_settings = settle or SettleSettings()
        self.tree = tree

    def frame(self) -> Frame:
        return self.computer.capture()

    def settle(self) -> SettleResult:
        """Wait until the window's tree or the screen stops changing (or the cap runs out).

        A stop raises StoppedError; a tree that does not answer falls back to the screen.
        """
        s = self.settle_settings
        if self.tree is not None:
            started = time.monotonic()
            try:
                quiet = self.tree.wait_quiet(s.tree_gap_s, s.timeout_s, self.stop)
            except DisplayError:
                quiet = None
            if self.stop.is_set():
                raise StoppedError("stopped while waiting for the screen to settle")
            if quiet is not None:
                waited = time.monotonic() - started
                return SettleResult(quiet, waited, 0, s.tree_gap_s if quiet else 0.0, source="tree")
        return wait_until_settled(
            self.computer.poll_image, self.stop, quiet_s=s.quiet_s, timeout_s=s.timeout_s
        )

    def changed_since(self, frame: Frame, tolerance: float = DEFAULT_TOLERANCE) -> bool:
        """Whether the screen now differs from ``frame`` by more than ``tolerance`` (a cheap poll)."""
        now = self.computer.poll_image()
        return changed_fraction(thumbnail(frame.image, now.size), now) > tolerance

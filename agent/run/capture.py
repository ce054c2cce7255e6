"""The capture service: frames for whoever runs, waiting for a still screen, and "did it change?".

Every source takes its frames from here (the agent loop, the macro healer, the OCR
reader, the skills), so the screen is read one way. Keeping Deskpilot's own overlay
out of the frames is the computer's job: the tray hands in a computer that hides it
around each grab.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.imaging import DEFAULT_TOLERANCE, changed_fraction, thumbnail
from agent.run.settle import SettleResult, wait_until_settled

if TYPE_CHECKING:
    from agent.computers.base import Computer, Frame


@dataclass(frozen=True)
class SettleSettings:
    quiet_s: float = 0.05
    timeout_s: float = 3.0


class Capture:
    """Frames of one computer's configured monitor, and settling, under one stop token."""

    def __init__(
        self, computer: Computer, stop: threading.Event, settle: SettleSettings | None = None
    ) -> None:
        self.computer = computer
        self.stop = stop
        self.settle_settings = settle or SettleSettings()

    def frame(self) -> Frame:
        return self.computer.capture()

    def settle(self) -> SettleResult:
        """Wait until the screen stops changing (or the cap runs out); a stop raises StoppedError."""
        s = self.settle_settings
        return wait_until_settled(
            self.computer.poll_image, self.stop, quiet_s=s.quiet_s, timeout_s=s.timeout_s
        )

    def changed_since(self, frame: Frame, tolerance: float = DEFAULT_TOLERANCE) -> bool:
        """Whether the screen now differs from ``frame`` by more than ``tolerance`` (a cheap poll)."""
        now = self.computer.poll_image()
        return changed_fraction(thumbnail(frame.image, now.size), now) > tolerance

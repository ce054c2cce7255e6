"""The ``Computer`` protocol and the ``Frame`` a capture returns."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from agent.geometry import CaptureGeometry, Region

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.actions import ScreenAction

# What to capture: an mss monitor index (1 = primary, 0 = all monitors together),
# "cursor" for the monitor under the pointer, or an explicit region.
CaptureTarget = int | Literal["cursor"] | Region


@dataclass(frozen=True)
class Frame:
    """A captured image and the desktop geometry it covers."""

    image: Image
    geometry: CaptureGeometry
    captured_at: float = field(default_factory=time.monotonic)

    @property
    def region(self) -> Region:
        return self.geometry.region


class Computer(Protocol):
    """What the loop needs from a desktop; nothing more."""

    def capture(self) -> Frame:
        """Grab the configured monitor or region."""
        ...

    def perform(self, action: ScreenAction) -> None:
        """Carry out one action whose point is already in screen coordinates."""
        ...

    def poll_image(self) -> Image:
        """A cheap, possibly downscaled image of the same area, for change detection."""
        ...

    def release_all(self) -> None:
        """Release every key and mouse button the agent may hold (after a stop or failure)."""
        ...

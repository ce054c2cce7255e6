"""Rectangles on the virtual desktop and what a capture covered; plain values, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.errors import ConfigError


@dataclass(frozen=True)
class Region:
    """A rectangle in input units on the virtual desktop (origins may be negative)."""

    left: int
    top: int
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ConfigError(f"a region needs a positive size, got {self.width}x{self.height}")

    @property
    def right(self) -> int:
        """One past the last column."""
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height

    def contains(self, x: int, y: int) -> bool:
        return self.left <= x < self.right and self.top <= y < self.bottom

    def __str__(self) -> str:
        return f"{self.width}x{self.height}{self.left:+d}{self.top:+d}"


@dataclass(frozen=True)
class CaptureGeometry:
    """Where a captured image sits on the desktop and how dense its pixels are.

    ``region`` is in input units (what pyautogui moves in); the image may hold more
    pixels than that on HiDPI screens (``scale`` captured pixels per input unit).
    """

    region: Region
    image_width: int
    image_height: int

    @classmethod
    def unscaled(cls, region: Region) -> CaptureGeometry:
        return cls(region, region.width, region.height)

    @property
    def scale_x(self) -> float:
        return self.image_width / self.region.width

    @property
    def scale_y(self) -> float:
        return self.image_height / self.region.height


_SCREEN_SPEC_STRICT = re.compile(r"^(\d+)x(\d+)(?:([+-]-?\d+)([+-]-?\d+))?$")


def parse_region(spec: str) -> Region:
    """Parse ``WIDTHxHEIGHT[+X+Y]``; X and Y may be negative (``1920x1080+-1920+0``).

    ``1920x1080-1920+0`` is read the same way (a negative origin), not as X11's
    "distance from the right edge", because a monitor left of the primary is the
    only reason to write a minus here.
    """
    match = _SCREEN_SPEC_STRICT.match(spec.strip())
    if not match:
        raise ConfigError(
            f"bad screen {spec!r}: expected WIDTHxHEIGHT or WIDTHxHEIGHT+X+Y, e.g. 1920x1080+0+0"
        )
    width, height = int(match.group(1)), int(match.group(2))
    left = _signed(match.group(3)) if match.group(3) else 0
    top = _signed(match.group(4)) if match.group(4) else 0
    if width == 0 or height == 0:
        raise ConfigError(f"bad screen {spec!r}: width and height must be positive")
    return Region(left, top, width, height)


def _signed(token: str) -> int:
    # "+-1920" and "-1920" both mean -1920; "+1920" means 1920.
    return int(token[1:]) if token.startswith("+") else int(token)

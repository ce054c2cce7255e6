"""The crop frame: a window of the captured image around a model point, and the way back.

A crop is one more frame between the model and the screen: the model answers on the
crop (in its own grid), that maps onto the crop's pixels, the crop's offset puts it on
the full captured image, and ``image_to_screen`` (HiDPI scale, monitor offset) takes it
to the desktop. Every step is a pure function, so edges and offsets are table-tested.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from agent.errors import ConfigError
from agent.geometry import CaptureGeometry
from agent.scaling import ModelFrame, image_to_screen, model_to_image

# The crop is this many times smaller than the capture on each side, so a pointing error
# that is constant in grid units shrinks by the same factor in pixels.
DEFAULT_ZOOM = 4
# Never crop below this many image pixels a side: a crop much smaller than a toolbar
# loses the context the model needs to tell one icon from its neighbours.
MIN_CROP_SIDE = 160


@dataclass(frozen=True)
class CropWindow:
    """A rectangle of the full captured image, in its integer pixels (inside it by construction)."""

    left: int
    top: int
    width: int
    height: int
    image_width: int  # the full image it was cut from
    image_height: int

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ConfigError(f"a crop needs a positive size, got {self.width}x{self.height}")
        if not (
            0 <= self.left
            and 0 <= self.top
            and self.left + self.width <= self.image_width
            and self.top + self.height <= self.image_height
        ):
            raise ConfigError(
                f"crop {self.box} is not inside the {self.image_width}x{self.image_height} image"
            )

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom), the form PIL's ``Image.crop`` takes."""
        return (self.left, self.top, self.left + self.width, self.top + self.height)

    @property
    def zoom(self) -> float:
        """How much larger a crop pixel is than a full-image pixel once both fill the model's view."""
        return min(self.image_width / self.width, self.image_height / self.height)

    def to_json_dict(self) -> dict[str, int]:
        return {"left": self.left, "top": self.top, "width": self.width, "height": self.height}


def crop_size(image_width: int, image_height: int, zoom: float = DEFAULT_ZOOM) -> tuple[int, int]:
    """The crop's (width, height): ``zoom`` times smaller, same aspect, never below MIN_CROP_SIDE."""
    if zoom < 1:
        raise ConfigError(f"zoom must be at least 1, got {zoom}")
    width = max(round(image_width / zoom), min(MIN_CROP_SIDE, image_width))
    height = max(round(image_height / zoom), min(MIN_CROP_SIDE, image_height))
    return min(width, image_width), min(height, image_height)


def crop_around(
    image_xy: tuple[float, float], image_width: int, image_height: int, size: tuple[int, int]
) -> CropWindow:
    """A ``size`` window centred on ``image_xy`` as far as the image allows.

    At an edge the window slides inward rather than shrinking, so the model still sees a
    crop of the usual size and zoom; the point is then off-centre, which is the truth.
    """
    width, height = min(size[0], image_width), min(size[1], image_height)
    x, y = image_xy
    if not (math.isfinite(x) and math.isfinite(y) and 0 <= x <= image_width and 0 <= y <= image_height):
        raise ConfigError(f"point ({x}, {y}) is outside the {image_width}x{image_height} image")
    left = min(max(0, math.floor(x - width / 2)), image_width - width)
    top = min(max(0, math.floor(y - height / 2)), image_height - height)
    return CropWindow(left, top, width, height, image_width, image_height)


def crop_to_image(crop_xy: tuple[float, float], window: CropWindow) -> tuple[float, float]:
    """Float pixels of the crop → float pixels of the full image."""
    return (window.left + crop_xy[0], window.top + crop_xy[1])


def crop_model_to_image(
    model_xy: tuple[float, float], crop_frame: ModelFrame, window: CropWindow
) -> tuple[float, float]:
    """A model point answered on the crop → float pixels of the full image (off-grid raises)."""
    return crop_to_image(model_to_image(model_xy, crop_frame, window.width, window.height), window)


def crop_model_to_screen(
    model_xy: tuple[float, float], crop_frame: ModelFrame, window: CropWindow, capture: CaptureGeometry
) -> tuple[int, int]:
    """A model point answered on the crop → the input pixel on the virtual desktop."""
    if (window.image_width, window.image_height) != (capture.image_width, capture.image_height):
        raise ConfigError(
            f"crop of a {window.image_width}x{window.image_height} image used with a "
            f"{capture.image_width}x{capture.image_height} capture"
        )
    image_xy = crop_model_to_image(model_xy, crop_frame, window)
    # The crop's far edge (x == its width) is its last pixel, not the first one past it.
    last_x, last_y = window.left + window.width - 1e-6, window.top + window.height - 1e-6
    image_xy = (min(image_xy[0], last_x), min(image_xy[1], last_y))
    return image_to_screen(image_xy, capture)

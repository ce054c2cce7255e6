"""Every change of coordinate space, as pure functions.

Spaces, named in variables by suffix:
  * ``model_xy``  what the model wrote, in its frame's units (see ``ModelFrame``);
  * ``image_xy``  float pixels of the captured image (before any resize for the model);
  * ``screen_xy`` integer input units on the virtual desktop (monitor offset applied,
                  HiDPI undone), what pyautogui and xdotool take.
The model's coordinates refer to the image it was shown, but since the resize keeps
the whole picture, a relative frame maps straight onto the captured image; only the
Qwen2.5 frame needs the resized size, which ``smart_resize`` reproduces.

Off-grid model values are errors, never clamped: a model that says 2530 on a 0..1000
grid is confused, and clicking the nearest edge would act on something it never meant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from agent.actions import Action, ScreenAction
from agent.errors import ConfigError, OffGridError, OffScreenError
from agent.geometry import CaptureGeometry

if TYPE_CHECKING:
    from PIL.Image import Image

# Qwen2.5-VL's processor defaults (pixels), used when the caller gives no budget.
QWEN25_FACTOR = 28
QWEN25_MIN_PIXELS = 56 * 56
QWEN25_MAX_PIXELS = 28 * 28 * 16384


class FrameKind(StrEnum):
    REL1000 = "rel1000"  # Qwen3-VL: relative, 0..1000 on both axes
    REL999 = "rel999"  # Qwen3-VL mobile cookbook: relative, 0..999
    QWEN25 = "qwen25"  # Qwen2.5-VL: absolute pixels of the smart-resized image


@dataclass(frozen=True)
class ModelFrame:
    """The extent of the model's coordinate space: valid values are 0..extent inclusive."""

    kind: FrameKind
    extent_x: float
    extent_y: float

    @classmethod
    def for_image(
        cls,
        kind: FrameKind | str,
        image_width: int,
        image_height: int,
        *,
        min_pixels: int = QWEN25_MIN_PIXELS,
        max_pixels: int = QWEN25_MAX_PIXELS,
    ) -> ModelFrame:
        try:
            kind = FrameKind(kind)
        except ValueError:
            choices = ", ".join(k.value for k in FrameKind)
            raise ConfigError(f"unknown frame {kind!r}; choose one of {choices}") from None
        if kind is FrameKind.REL1000:
            return cls(kind, 1000.0, 1000.0)
        if kind is FrameKind.REL999:
            return cls(kind, 999.0, 999.0)
        width, height = model_image_size(
            kind, image_width, image_height, min_pixels=min_pixels, max_pixels=max_pixels
        )
        return cls(kind, float(width), float(height))


# Qwen3-VL's processor works in 32-pixel cells (patch 16, merge 2); Qwen2.5-VL's in 28.
QWEN3_FACTOR = 32


def model_image_size(
    kind: FrameKind, image_width: int, image_height: int, *, min_pixels: int, max_pixels: int
) -> tuple[int, int]:
    """(width, height) of the image the model is shown: the one size rule, for every frame.

    For a relative frame (Qwen3-VL's 0..1000) an image already inside the pixel budget is
    shown as it is: the grid does not depend on the exact pixel size, and resampling a
    full-HD frame costs more than the rest of a step's own work. The processor still
    rounds it to its 32-pixel cells inside the model call (1920x1080 becomes 1920x1088,
    a few pixels), which moves no point on a relative grid. Otherwise it is the size the
    model family's processor would pick itself, so that resize happens once, here; a
    Qwen2.5 frame (pixels of this very image) always is, so the size stated to the model
    is the size it is shown.
    """
    factor = QWEN25_FACTOR if kind is FrameKind.QWEN25 else QWEN3_FACTOR
    height, width = smart_resize(
        image_height, image_width, factor, min_pixels=min_pixels, max_pixels=max_pixels
    )
    if kind is not FrameKind.QWEN25 and min_pixels <= image_width * image_height <= max_pixels:
        return image_width, image_height
    return width, height


def fit_to_budget(image: Image, frame_kind: FrameKind, min_pixels: int, max_pixels: int) -> Image:
    """Resize a screenshot, once, here, to the size the model is shown (``model_image_size``).

    A relative frame's image inside the budget comes back untouched (no copy, no filter).
    Otherwise the processor would do the same resize with a bicubic filter inside the
    model call; doing it here with PIL's antialiased bilinear filter costs about half as
    much, keeps the server backend's upload small, and leaves the processor nothing to
    do. Backends send what they are given, so every backend shows the model the same picture.
    """
    width, height = model_image_size(
        frame_kind, image.width, image.height, min_pixels=min_pixels, max_pixels=max_pixels
    )
    if (width, height) == image.size:
        return image
    from PIL import Image as PILImage

    return image.resize((width, height), PILImage.Resampling.BILINEAR)


def smart_resize(
    height: int, width: int, factor: int, *, min_pixels: int, max_pixels: int
) -> tuple[int, int]:
    """The (height, width) a Qwen-VL processor resizes an image to.

    Both sides become multiples of ``factor``, the aspect ratio is kept as closely as
    that allows, and the area is brought inside [min_pixels, max_pixels].
    """
    if height <= 0 or width <= 0:
        raise ConfigError(f"image size must be positive, got {width}x{height}")
    if max(height, width) / min(height, width) > 200:
        raise ConfigError(f"aspect ratio of {width}x{height} is beyond 200:1")
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def model_to_image(
    model_xy: tuple[float, float], frame: ModelFrame, image_width: int, image_height: int
) -> tuple[float, float]:
    """Model units → float pixels of the captured image; off-grid raises ``OffGridError``."""
    x, y = model_xy
    if not (math.isfinite(x) and math.isfinite(y)):
        raise OffGridError(f"coordinate ({x}, {y}) is not a pair of finite numbers")
    if not (0 <= x <= frame.extent_x and 0 <= y <= frame.extent_y):
        raise OffGridError(
            f"coordinate ({_num(x)}, {_num(y)}) is outside the {frame.kind.value} frame: "
            f"x must be 0..{_num(frame.extent_x)}, y 0..{_num(frame.extent_y)}"
        )
    return (x / frame.extent_x * image_width, y / frame.extent_y * image_height)


def image_to_screen(image_xy: tuple[float, float], capture: CaptureGeometry) -> tuple[int, int]:
    """Image pixels → input units on the virtual desktop: the one image→screen rule.

    A point maps to the input pixel it falls in (HiDPI scale undone, monitor offset
    added). Edge rule: the far edge (x == image width) is clamped onto the last pixel,
    not one past; a point beyond the image raises ``OffScreenError`` (a caller that may
    hold one decides what it means, e.g. ``clamp_to_image``).
    """
    ix, iy = image_xy
    if not (0 <= ix <= capture.image_width and 0 <= iy <= capture.image_height):
        raise OffScreenError(
            f"image point ({ix:.1f}, {iy:.1f}) is outside the "
            f"{capture.image_width}x{capture.image_height} capture"
        )
    region = capture.region
    # Multiplied before divided: 33 / (110 / 100) is 29.999999999999996, 33 * 100 / 110 is 30.
    col = min(math.floor(ix * region.width / capture.image_width), region.width - 1)
    row = min(math.floor(iy * region.height / capture.image_height), region.height - 1)
    return (region.left + col, region.top + row)


def screen_to_image(screen_xy: tuple[int, int], capture: CaptureGeometry) -> tuple[int, int]:
    """Input units → the image pixel shown there: the first image pixel inside the input pixel.

    A point off the capture raises ``OffScreenError``. Where the image is at least as
    dense as the input units (scale >= 1), ``image_to_screen`` takes it back to
    ``screen_xy`` exactly.
    """
    sx, sy = screen_xy
    region = capture.region
    if not region.contains(sx, sy):
        raise OffScreenError(f"screen point ({sx}, {sy}) is outside the capture {region}")
    # Multiplied before divided, so 10 * 110 / 100 is exactly 11 (10 * 1.1 is not).
    col = math.ceil((sx - region.left) * capture.image_width / region.width)
    row = math.ceil((sy - region.top) * capture.image_height / region.height)
    return (min(col, capture.image_width - 1), min(row, capture.image_height - 1))


def clamp_to_image(image_xy: tuple[float, float], capture: CaptureGeometry) -> tuple[float, float]:
    """``image_xy`` put on the nearest edge of the image when it lies past one (pure)."""
    ix, iy = image_xy
    return (min(max(ix, 0.0), capture.image_width), min(max(iy, 0.0), capture.image_height))


def model_to_screen(
    model_xy: tuple[float, float], frame: ModelFrame, capture: CaptureGeometry
) -> tuple[int, int]:
    image_xy = model_to_image(model_xy, frame, capture.image_width, capture.image_height)
    return image_to_screen(image_xy, capture)


def screen_to_model(
    screen_xy: tuple[int, int], frame: ModelFrame, capture: CaptureGeometry
) -> tuple[float, float]:
    """Input units → model units, at the centre of the input pixel (for round trips)."""
    sx, sy = screen_xy
    region = capture.region
    if not region.contains(sx, sy):
        raise OffScreenError(f"screen point ({sx}, {sy}) is outside the capture {region}")
    image_x = (sx - region.left + 0.5) * capture.scale_x
    image_y = (sy - region.top + 0.5) * capture.scale_y
    return (
        image_x / capture.image_width * frame.extent_x,
        image_y / capture.image_height * frame.extent_y,
    )


def to_screen_action(action: Action, frame: ModelFrame, capture: CaptureGeometry) -> ScreenAction:
    """Attach the screen pixel an action targets; actions without a point pass through."""
    model_xy = action.point
    if model_xy is None:
        return ScreenAction(action=action)
    screen_x, screen_y = model_to_screen(model_xy, frame, capture)
    return ScreenAction(action=action, x=screen_x, y=screen_y)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"

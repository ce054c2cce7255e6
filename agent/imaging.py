"""Pure image maths on PIL images: thumbnails, how much of a screen changed, whether it is blank.

No screen, no disk: every function takes images and returns values, so it is tested
on synthetic pictures. (Later: crops and template matching for macros.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image

DEFAULT_THUMB_SIZE: tuple[int, int] = (192, 108)

# Grey levels (of 255) a thumbnail pixel must move to count as changed. Each thumbnail
# pixel averages a block (10x10 at 1080p), and one full-contrast screen pixel moves its
# block by 2.55, so any visible change counts; it only absorbs the rounding of averages.
PIXEL_THRESHOLD = 2

# The fraction of thumbnail pixels that may change between polls and still count as
# "no change": about 10 of 192x108, i.e. a 30x30-pixel patch at 1080p. That ignores a
# blinking caret, a small spinner or a tray clock, each of which would otherwise keep
# the screen "unsettled" until the timeout on every step; a menu, dialog, page or
# window change is orders of magnitude larger. Pass tolerance=0 to react to any change:
# a real caret blinks every 500 ms or so, longer than quiet_s, so it then costs at most
# one more quiet period rather than the whole timeout.
DEFAULT_TOLERANCE = 0.0005


def thumbnail(image: Image, size: tuple[int, int] = DEFAULT_THUMB_SIZE) -> Image:
    """A small greyscale copy for change detection; an image already that small is kept.

    ``reduce`` by a whole factor box-averages, so a change anywhere in a block still
    moves its thumbnail pixel; the result is within one block of ``size``.
    """
    image = box_reduce(image, size)
    return image if image.mode == "L" else image.convert("L")


def box_reduce(image: Image, size: tuple[int, int]) -> Image:
    """``image`` box-reduced by the whole factor that brings it nearest ``size``, any mode."""
    factor = max(1, min(image.width // size[0], image.height // size[1]))
    return image.reduce(factor) if factor > 1 else image


def changed_fraction(before: Image, after: Image, pixel_threshold: int = PIXEL_THRESHOLD) -> float:
    """The fraction of pixels whose grey level moved by more than ``pixel_threshold``.

    Thumbnails of different sizes (the monitor changed resolution) differ entirely.
    """
    from PIL import ImageChops

    if before.size != after.size:
        return 1.0
    counts = ImageChops.difference(thumbnail(before, before.size), thumbnail(after, after.size)).histogram()
    return sum(counts[pixel_threshold + 1 :]) / (after.width * after.height)


# A frame is blank (a locked screen, a screen curtain, a black Xvfb) when almost none of
# its pixels stand out from its most common grey: fewer than BLANK_DETAIL of them by more
# than BLANK_LEVEL grey levels, after a 4x box reduction. A lone 14-pixel "OK" on 1080p
# leaves 13 such pixels of 129,600 (0.0001); the limit is half that. JPEG or dithering
# noise on a flat screen moves pixels by a few levels, far below BLANK_LEVEL.
BLANK_LEVEL = 24
BLANK_DETAIL = 0.00005
_BLANK_SIZE = (480, 270)  # a 4x box reduction of 1080p keeps a text stroke visible


def is_blank(image: Image, level: int = BLANK_LEVEL, detail: float = BLANK_DETAIL) -> bool:
    """Whether ``image`` shows nothing: near-uniform, whatever its colour (pure; no model needed)."""
    small = box_reduce(image, _BLANK_SIZE).convert("L")
    counts = small.histogram()
    mode = max(range(256), key=counts.__getitem__)
    near = sum(counts[max(0, mode - level) : min(256, mode + level + 1)])
    total = small.width * small.height
    return (total - near) / total < detail

"""Pure image maths on PIL images: thumbnails, how much of a screen changed, whether it is blank.

No screen, no disk: every function takes images and returns values, so it is tested
on synthetic pictures. (Later: template matching for macros.)
"""

from __future__ import annotations

from dataclasses import dataclass
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


# Grey levels (of 255) a pixel must differ from its neighbourhood's median to count as
# part of some structure (a glyph, an icon, a border) rather than background.
STRUCTURE_CONTRAST = 32


@dataclass(frozen=True)
class Structure:
    """The structure nearest a point: its longer side and how far the point is from it (pixels)."""

    side: int  # 0: nothing stands out within the radius
    distance: float  # 0 when the point is on it


def structure_size_near(image: Image, xy: tuple[float, float], radius: int) -> int:
    """The longer side of the structure nearest ``xy`` within ``radius`` (see ``structure_near``)."""
    return structure_near(image, xy, radius).side


def structure_near(image: Image, xy: tuple[float, float], radius: int) -> Structure:
    """The longer side, in pixels, of the structure nearest ``xy`` within ``radius``.

    Structure is the 4-connected set of pixels that stand out from the median grey of
    the ``2*radius+1`` square around the point; the one whose pixel is nearest the point
    is measured. 0 means nothing stands out there: a uniform area at least the square's
    size (background, or the inside of a large button or panel); a structure that
    reaches the square's border reports the square's side (at least that big).
    """
    import numpy as np

    x, y = int(xy[0]), int(xy[1])
    left, top = max(0, x - radius), max(0, y - radius)
    right, bottom = min(image.width, x + radius + 1), min(image.height, y + radius + 1)
    if right <= left or bottom <= top:
        return Structure(0, 0.0)
    grey = np.asarray(image.crop((left, top, right, bottom)).convert("L"), dtype=np.int16)
    mask = np.abs(grey - int(np.median(grey))) > STRUCTURE_CONTRAST
    if not mask.any():
        return Structure(0, 0.0)
    rows, cols = np.nonzero(mask)
    squared = (rows - (y - top)) ** 2 + (cols - (x - left)) ** 2
    nearest = int(np.argmin(squared))
    distance = float(np.sqrt(squared[nearest]))
    seed = (int(rows[nearest]), int(cols[nearest]))
    height, width = int(mask.shape[0]), int(mask.shape[1])
    seen = np.zeros_like(mask)
    seen[seed] = True
    stack = [seed]
    min_r = max_r = seed[0]
    min_c = max_c = seed[1]
    while stack:  # flood fill of one component: at most the square's pixels
        r, c = stack.pop()
        min_r, max_r, min_c, max_c = min(min_r, r), max(max_r, r), min(min_c, c), max(max_c, c)
        for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= nr < height and 0 <= nc < width and mask[nr, nc] and not seen[nr, nc]:
                seen[nr, nc] = True
                stack.append((nr, nc))
    if min_r == 0 or min_c == 0 or max_r == height - 1 or max_c == width - 1:
        return Structure(max(height, width), distance)
    return Structure(int(max(max_r - min_r + 1, max_c - min_c + 1)), distance)


def mark_point(image: Image, xy: tuple[float, float], radius: int = 12) -> Image:
    """A copy of ``image`` with a ring and crosshair at ``xy``, in red on a white halo."""
    from PIL import ImageDraw

    marked = image.convert("RGB")
    draw = ImageDraw.Draw(marked)
    x, y = xy
    for colour, width in (((255, 255, 255), 5), ((230, 0, 0), 2)):
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), outline=colour, width=width)
        draw.line((x - 2 * radius, y, x + 2 * radius, y), fill=colour, width=width - 2 or 1)
        draw.line((x, y - 2 * radius, x, y + 2 * radius), fill=colour, width=width - 2 or 1)
    return marked

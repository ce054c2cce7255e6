"""Cutting an anchor bundle out of a capture: a distinctive crop, the point's offset, a wider context."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.imaging import Haystack, crop_box, distinctive_crop
from agent.macros.schema import Anchor, encode_png

if TYPE_CHECKING:
    from PIL.Image import Image

# Half the side of the context crop kept for people (and later tiers) to look at.
CONTEXT_HALF = 160


def make_anchor(
    image: Image,
    image_point: tuple[int, int],
    *,
    haystack: Haystack | None = None,
    window_title: str | None = None,
    text: str = "",
) -> Anchor:
    """The anchor for a pointer step at ``image_point`` (captured pixels) on ``image``."""
    haystack = haystack or Haystack.of(image)
    found = distinctive_crop(haystack, image_point)
    box = found.box
    context = crop_box(image.size, image_point, CONTEXT_HALF)
    return Anchor(
        crop=encode_png(image.crop(box.as_tuple())),
        box=(box.left, box.top, box.width, box.height),
        offset=(image_point[0] - box.left, image_point[1] - box.top),
        ambiguous=found.ambiguous,
        context=encode_png(image.crop(context.as_tuple())),
        text=text,
        window_title=window_title,
    )

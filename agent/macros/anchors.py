"""Cutting an anchor bundle out of a capture: a distinctive crop, the point's offset, a wider context,
and the text under or beside the point as offline OCR reads it on that context crop.

OCR reads only the context crop (320 px square), not the screen: about a tenth of a
1080p frame, so cutting anchors at the end of a recording stays quick. A reader that
cannot be loaded turns the text off for the rest of the macro, said once: the
recording is never lost for want of OCR.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from agent.imaging import Haystack, crop_box, distinctive_crop
from agent.macros.schema import Anchor, encode_png

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.ports import TextBox, TextReader

# Half the side of the context crop kept for people (and later tiers) to look at.
CONTEXT_HALF = 160
# A text box this far from the point (captured pixels, gap to the box's edge) still
# names the target: an icon's label beside it, a field's caption above it. Further
# away it is more likely a neighbour's text than this target's.
NEAR_TEXT_PX = 40


def text_near(
    boxes: Sequence[TextBox], point: tuple[int, int], max_gap: int = NEAR_TEXT_PX
) -> TextBox | None:
    """The box under ``point``, else the nearest within ``max_gap`` pixels; None when none is (pure).

    Under the point, the smallest box wins (a word inside a wider line box); beside it,
    the one with the smallest gap, then the first in reading order.
    """
    x, y = point
    under = [b for b in boxes if b.text.strip() and b.left <= x < b.right and b.top <= y < b.bottom]
    if under:
        return min(under, key=lambda b: b.width * b.height)
    best: tuple[int, TextBox] | None = None
    for box in boxes:
        if not box.text.strip():
            continue
        dx = max(box.left - x, 0, x - (box.right - 1))
        dy = max(box.top - y, 0, y - (box.bottom - 1))
        gap = max(dx, dy)  # the square ring the box first touches
        if gap <= max_gap and (best is None or gap < best[0]):
            best = (gap, box)
    return best[1] if best is not None else None


def make_anchor(
    image: Image,
    image_point: tuple[int, int],
    *,
    haystack: Haystack | None = None,
    window_title: str | None = None,
    reader: TextReader | None = None,
) -> Anchor:
    """The anchor for a pointer step at ``image_point`` (captured pixels) on ``image``.

    With a ``reader``, the context crop is read and the text under or near the point is
    kept with its box relative to the point; a reader that fails raises ``OcrError``.
    """
    haystack = haystack or Haystack.of(image)
    found = distinctive_crop(haystack, image_point)
    box = found.box
    context = crop_box(image.size, image_point, CONTEXT_HALF)
    context_image = image.crop(context.as_tuple())
    text, text_box = "", None
    if reader is not None:
        from agent.access.ocr import OcrError

        local = (image_point[0] - context.left, image_point[1] - context.top)
        try:
            boxes = reader.read(context_image)
        except OcrError:
            raise
        except Exception as err:  # the engine failing on an image: the same as not loading
            raise OcrError(f"the OCR engine failed: {err}") from err
        near = text_near(boxes, local)
        if near is not None:
            text = near.text.strip()
            text_box = (near.left - local[0], near.top - local[1], near.width, near.height)
    return Anchor(
        crop=encode_png(image.crop(box.as_tuple())),
        box=(box.left, box.top, box.width, box.height),
        offset=(image_point[0] - box.left, image_point[1] - box.top),
        ambiguous=found.ambiguous,
        # An ambiguous crop's runner-up is its twin: the replay's own uniqueness check
        # decides then, as for its grey tiers.
        edge_runner_up=None if found.ambiguous else round(found.edge_runner_up, 3),
        context=encode_png(context_image),
        text=text,
        text_box=text_box,
        window_title=window_title,
    )


class AnchorMaker:
    """``make_anchor`` for a whole macro: reads anchor text until the reader fails to load, once."""

    def __init__(self, reader: TextReader | None, say: Callable[[str], None] | None = None) -> None:
        self.reader = reader
        self.say = say or (lambda _line: None)

    @property
    def reads_text(self) -> bool:
        return self.reader is not None

    def __call__(
        self,
        image: Image,
        image_point: tuple[int, int],
        *,
        haystack: Haystack | None = None,
        window_title: str | None = None,
    ) -> Anchor:
        from agent.access.ocr import OcrError

        if self.reader is not None:
            try:
                return make_anchor(
                    image, image_point, haystack=haystack, window_title=window_title, reader=self.reader
                )
            except OcrError as err:
                # The crops matter more than the text: keep recording anchors, without it.
                self.reader = None
                self.say(f"anchors are saved without their text: {err}")
        return make_anchor(image, image_point, haystack=haystack, window_title=window_title)

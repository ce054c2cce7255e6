"""Cutting an anchor bundle out of a capture: a distinctive crop, the point's offset, a wider context,
and the target's own text (``own_text``) as offline OCR reads it on that context crop.

OCR reads only the context crop (320 px square), not the screen: about a tenth of a
1080p frame, so cutting anchors at the end of a recording stays quick. A reader that
cannot be loaded turns the text off for the rest of the macro, said once: the
recording is never lost for want of OCR.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from agent.imaging import Box, Haystack, crop_box, distinctive_crop
from agent.macros.schema import Anchor, encode_png

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.ports import TextBox, TextReader

# Half the side of the context crop kept for people (and later tiers) to look at.
CONTEXT_HALF = 160
# How far beyond an accessible element its label may be (captured pixels): a caption
# left of a field or above it. Read too, so the label found by the element's name is whole.
LABEL_REACH = 120
MAX_ELEMENT_SIDE = 800


def own_text(
    boxes: Sequence[TextBox],
    point: tuple[int, int],
    element_box: Box | None = None,
    element_name: str = "",
) -> TextBox | None:
    """The target's own text among ``boxes``, or None; ``point``, ``element_box`` in their pixels (pure).

    The rule, in order:

    1. the text under the point (the smallest box: a word inside a wider line box);
    2. with the element's accessible name (from the accessibility tree): a text that
       reads that name, nearest the point first (a field's label beside it, a button's
       label beside its icon); the anchor keeps where it was, so tier (c-ocr) puts the
       point back at the same place relative to it;
    3. with the element's box: the text drawn inside it, nearest the point first (a
       placeholder, an unnamed button's label);
    4. else none. Never merely the nearest text: beside an empty field, that is a
       neighbour's label ("Cancel"), and replay would click the neighbour.

    Without a tree a plain field is therefore anchored by its pictures alone.
    """
    x, y = point
    readable = [b for b in boxes if b.text.strip()]
    under = [b for b in readable if b.left <= x < b.right and b.top <= y < b.bottom]
    if under:
        return min(under, key=lambda b: b.width * b.height)

    def distance(b: TextBox) -> int:
        cx, cy = b.center
        return abs(cx - x) + abs(cy - y)

    if element_name.strip():
        from agent.access.matching import find_matches

        named = [m.box for m in find_matches(element_name, readable) if m.whole]
        if named:
            return min(named, key=distance)
    if element_box is not None:
        inside = [
            b for b in readable
            if element_box.left <= b.center[0] < element_box.left + element_box.width
            and element_box.top <= b.center[1] < element_box.top + element_box.height
        ]
        if inside:
            return min(inside, key=distance)
    return None


def text_region(size: tuple[int, int], context: Box, element_box: Box | None) -> Box:
    """Where OCR reads for an anchor's text: the context crop, grown to the element and
    ``LABEL_REACH`` around it (its label may lie beyond the crop), within ``size`` (pure).

    An element larger than ``MAX_ELEMENT_SIDE`` (a whole panel) adds nothing: reading
    it would cost more than its text is worth.
    """
    if element_box is None or max(element_box.width, element_box.height) > MAX_ELEMENT_SIDE:
        return context
    e, c = element_box, context
    left = max(0, min(c.left, e.left - LABEL_REACH))
    top = max(0, min(c.top, e.top - LABEL_REACH))
    right = min(size[0], max(c.left + c.width, e.left + e.width + LABEL_REACH))
    bottom = min(size[1], max(c.top + c.height, e.top + e.height + LABEL_REACH))
    return Box(left, top, right - left, bottom - top)


def make_anchor(
    image: Image,
    image_point: tuple[int, int],
    *,
    haystack: Haystack | None = None,
    window_title: str | None = None,
    reader: TextReader | None = None,
    element_box: Box | None = None,
    element_name: str = "",
) -> Anchor:
    """The anchor for a pointer step at ``image_point`` (captured pixels) on ``image``.

    With a ``reader``, the context crop is read and the target's own text (``own_text``,
    helped by the accessible element's ``element_box`` in image pixels and its
    ``element_name`` where the tree gave them) is kept with its box relative to the
    point; a reader that fails raises ``OcrError``.
    """
    haystack = haystack or Haystack.of(image)
    found = distinctive_crop(haystack, image_point)
    box = found.box
    context = crop_box(image.size, image_point, CONTEXT_HALF)
    context_image = image.crop(context.as_tuple())
    text, text_box = "", None
    if reader is not None:
        from agent.access.ocr import OcrError

        read = text_region(image.size, context, element_box)
        local = (image_point[0] - read.left, image_point[1] - read.top)
        try:
            boxes = reader.read(context_image if read == context else image.crop(read.as_tuple()))
        except OcrError:
            raise
        except Exception as err:  # the engine failing on an image: the same as not loading
            raise OcrError(f"the OCR engine failed: {err}") from err
        local_box = None
        if element_box is not None:
            local_box = Box(element_box.left - read.left, element_box.top - read.top,
                            element_box.width, element_box.height)
        near = own_text(boxes, local, local_box, element_name)
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
        element_box: Box | None = None,
        element_name: str = "",
    ) -> Anchor:
        from agent.access.ocr import OcrError

        if self.reader is not None:
            try:
                return make_anchor(
                    image, image_point, haystack=haystack, window_title=window_title, reader=self.reader,
                    element_box=element_box, element_name=element_name,
                )
            except OcrError as err:
                # The crops matter more than the text: keep recording anchors, without it.
                self.reader = None
                self.say(f"anchors are saved without their text: {err}")
        return make_anchor(image, image_point, haystack=haystack, window_title=window_title)

"""Set-of-marks (``--marks``): number the active window's clickable elements for the model, as UFO2 does.

Where the active window has an accessibility tree, its on-screen elements a person
clicks or types into are numbered in reading order, drawn as numbered boxes on the
screenshot the model sees, and listed in the prompt ("7: push button 'Save'"). The
model may then answer ``{"action": "left_click", "element": 7}`` instead of a point;
the loop resolves the number to the centre of the element's visible box, where it
snaps clicks, and a number not on the list is refused (never a guess). Choosing,
wording and drawing are pure functions; ``Marker`` asks the tree.

The saved screenshot stays the clean capture: the history shows the screen as it was
and the step records the list the model was given, from which ``draw_marks`` redraws
the marked image exactly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from agent.actions import ScreenAction
from agent.computer_use.snapping import SNAP_ROLES, element_words
from agent.errors import DisplayError
from agent.geometry import CaptureGeometry, Region

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.ports import AccessibleTree, Element

log = logging.getLogger(__name__)

# At most this many marks a step. A list line is about 28 characters ("12: push button
# 'Save address'"); scripts/bench_marks.py counts 60 lines at about 1550 tokens with the
# offline test tokenizer, which splits English almost byte by byte (an upper bound: the
# real vocabulary needs a fraction of that), still under a 1080p screenshot's 2040
# image tokens, and prefilled every step. Beyond about 60 labels on one screen they
# also start to cover each other and the controls they name. Elements are taken in
# reading order, so the ones cut are those lowest on the screen.
MAX_MARKS = 60
# Boxes smaller than this (either side, screen pixels) are not marked: a label would
# hide them, and nothing that small is a control a person aims at.
MIN_SIDE_PX = 4
MARK_ROLES = SNAP_ROLES  # what a person clicks or types into
_NAME_CHARS = 40  # a long name (a link's whole sentence) is clipped in the list
NO_TREE = (
    "--marks needs the accessibility tree, which the active window does not offer; continuing with pixels"
)
NO_ELEMENTS = (
    "--marks found no clickable element of the active window on the screen; continuing with pixels"
)


@dataclass(frozen=True)
class Mark:
    """One numbered element: its number on the list, the element, and its box clipped to the screen."""

    number: int
    element: Element
    visible: Region  # the part of the element's box inside the captured monitor, screen input units

    @property
    def words(self) -> str:
        """How the list and the record name it: "push button 'Save'"."""
        element = self.element
        if len(element.name) > _NAME_CHARS:
            element = replace(element, name=element.name[: _NAME_CHARS - 1] + "…")
        return element_words(element)

    @property
    def centre(self) -> tuple[int, int]:
        """The middle of the visible box: where a click on this mark lands."""
        box = self.visible
        return (box.left + box.width // 2, box.top + box.height // 2)

    def to_record(self) -> dict[str, Any]:
        box = self.visible
        return {
            "number": self.number,
            "role": self.element.role,
            "name": self.element.name,
            "box": [box.left, box.top, box.width, box.height],
        }




def clip_box(box: Region, screen: Region) -> Region | None:
    """The part of ``box`` inside ``screen`` (pure); None when less than ``MIN_SIDE_PX`` shows."""
    left, top = max(box.left, screen.left), max(box.top, screen.top)
    right, bottom = min(box.right, screen.right), min(box.bottom, screen.bottom)
    if right - left < MIN_SIDE_PX or bottom - top < MIN_SIDE_PX:
        return None
    return Region(left, top, right - left, bottom - top)


def choose_marks(elements: Sequence[Element], screen: Region, limit: int = MAX_MARKS) -> tuple[Mark, ...]:
    """The elements to number (pure): clickable roles, visible on ``screen``, one per box, reading order.

    Reading order (top, then left) keeps the numbers where a person would count them
    and keeps the cap's cut at the bottom of the screen.
    """
    seen: set[tuple[str, str, int, int, int, int]] = set()
    shown: list[tuple[Region, Element]] = []
    for element in elements:
        if element.role not in MARK_ROLES or element.box is None:
            continue
        visible = clip_box(element.box, screen)
        if visible is None:
            continue
        key = (element.role, element.name, visible.left, visible.top, visible.width, visible.height)
        if key in seen:
            continue
        seen.add(key)
        shown.append((visible, element))
    shown.sort(key=lambda item: (item[0].top, item[0].left))
    return tuple(Mark(number, element, visible) for number, (visible, element) in enumerate(shown[:limit], 1))


def marks_text(marks: Sequence[Mark]) -> str:
    """The numbered list as the prompt carries it, one "7: push button 'Save'" a line (pure)."""
    return "\n".join(f"{mark.number}: {mark.words}" for mark in marks)


def image_box(box: Region, geometry: CaptureGeometry, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A screen box as (left, top, right, bottom) pixels of an image of ``size`` showing the capture."""
    sx = size[0] / geometry.region.width
    sy = size[1] / geometry.region.height
    left = round((box.left - geometry.region.left) * sx)
    top = round((box.top - geometry.region.top) * sy)
    right = round((box.right - geometry.region.left) * sx)
    bottom = round((box.bottom - geometry.region.top) * sy)
    return (left, top, max(left + 1, right), max(top + 1, bottom))


# Red on white reads on light and dark themes alike; the label's size follows the
# image so the model sees the same proportions whatever the pixel budget.
_COLOUR = (230, 20, 60)
_LABEL_TEXT = (255, 255, 255)


def draw_marks(image: Image, boxes: Sequence[tuple[int, tuple[int, int, int, int]]]) -> Image:
    """A copy of ``image`` with each (number, box in image pixels) outlined and labelled (pure).

    The label sits just above the box's top-left corner, or inside it where the box
    touches the image's top edge.
    """
    from PIL import ImageDraw, ImageFont

    out = image.convert("RGB") if image.mode != "RGB" else image.copy()
    draw = ImageDraw.Draw(out)
    size = max(10, round(min(out.width, out.height) / 70))
    font = ImageFont.load_default(size=size)
    for number, (left, top, right, bottom) in boxes:
        draw.rectangle((left, top, right - 1, bottom - 1), outline=_COLOUR, width=2)
        label = str(number)
        tl, tt, tr, tb = draw.textbbox((0, 0), label, font=font)
        width, height = tr - tl + 4, tb - tt + 2
        y = top - height if top - height >= 0 else top
        x = min(max(0, left), max(0, out.width - width))
        draw.rectangle((x, y, x + width - 1, y + height - 1), fill=_COLOUR)
        draw.text((x + 2 - tl, y + 1 - tt), label, fill=_LABEL_TEXT, font=font)
    return out


@dataclass(frozen=True)
class MarkSet:
    """One step's marks, on the capture they were drawn on."""

    marks: tuple[Mark, ...]
    geometry: CaptureGeometry

    def text(self) -> str:
        return marks_text(self.marks)

    def get(self, number: int) -> Mark | None:
        return self.marks[number - 1] if 1 <= number <= len(self.marks) else None

    def drawn_on(self, image: Image) -> Image:
        """``image`` (the capture, resized or not) with this step's marks drawn on it."""
        size = (image.width, image.height)
        return draw_marks(image, [(m.number, image_box(m.visible, self.geometry, size)) for m in self.marks])

    def to_record(self) -> list[dict[str, Any]]:
        return [mark.to_record() for mark in self.marks]


class MarkRefused(Exception):  # noqa: N818 (a refusal, not an error of the program)
    """An element answer that cannot be carried out; the message is the refusal's reason, for the model."""


def resolve(action: ScreenAction, marks: MarkSet | None) -> tuple[ScreenAction, Mark]:
    """``action`` aimed at its ``element``'s visible centre (pure); ``MarkRefused`` when not on the list."""
    number = getattr(action.action, "element", None)
    if number is None:
        raise ValueError("the action names no element")
    if marks is None or not marks.marks:
        raise MarkRefused(
            f"element {number} is not on a list: this screenshot has no numbered elements; give a coordinate"
        )
    mark = marks.get(number)
    if mark is None:
        raise MarkRefused(
            f"element {number} is not on the list (the marked elements are 1 to {len(marks.marks)}); "
            "give a listed number or a coordinate"
        )
    x, y = mark.centre
    words = f"element {number} ({mark.words})"
    return action.model_copy(update={"x": x, "y": y, "element_words": words}), mark


class Marker:
    """Numbers the active window's elements each step, from the desktop's accessibility tree.

    Without a tree (no bus, or an active window that offers none), or with one that has no
    clickable element on the screen, there are no marks and the run goes on with pixels;
    ``say`` is told once which of the two it was (each at most once a run).
    """

    def __init__(
        self, tree: AccessibleTree | None, say: Callable[[str], None] | None = None, limit: int = MAX_MARKS
    ) -> None:
        self.tree = tree
        self.say = say
        self.limit = limit
        self._told: set[str] = set()

    def marks(self, geometry: CaptureGeometry) -> MarkSet | None:
        """This step's marks on the capture ``geometry`` describes; None when the window has no tree."""
        elements: list[Element] = []
        answered = False
        if self.tree is not None:
            try:
                elements = self.tree.find(MARK_ROLES)
                answered = True
            except DisplayError as err:
                log.debug("no marks: the tree did not answer: %s", err)
        chosen = choose_marks(elements, geometry.region, self.limit)
        if not chosen:
            self._tell(NO_ELEMENTS if answered and self._has_window() else NO_TREE)
            return None
        return MarkSet(chosen, geometry)

    def _has_window(self) -> bool:
        """Whether the active window offers a tree at all (asked only when there is something to tell)."""
        if self.tree is None or len(self._told) == 2:
            return False  # both said already: spare the tree a full reading
        try:
            return self.tree.active_window() is not None
        except DisplayError:
            return False

    def _tell(self, words: str) -> None:
        if words not in self._told and self.say is not None:
            self.say(words)
        self._told.add(words)

    def covered(self, mark: Mark) -> bool:
        """True when another window lies on the element now (a click on its centre would land there)."""
        if self.tree is None:
            return False
        try:
            return self.tree.covered(mark.element)
        except DisplayError:
            return False  # the tree cannot tell; the element was on screen when the step began

"""Anchor text on synthetic screens: what OCR text an anchor keeps, and where, with a fake reader."""

from __future__ import annotations

import pytest

from agent.access.ocr import OcrError
from agent.macros.anchors import NEAR_TEXT_PX, AnchorMaker, make_anchor, text_near
from agent.macros.schema import Anchor
from agent.ports import TextBox
from agent.testing.reader import ScreenReader
from tests.macro_images import label_box, screen

POINT = (445, 320)  # on the recorded button's "Save" label (drawn at x 420..460)
ICON = (495, 320)  # on the recorded button's round icon, right of its label


def box(text: str, left: int, top: int, right: int, bottom: int) -> TextBox:
    return TextBox(text, left, top, right, bottom)


# -- which text an anchor keeps (pure) -----------------------------------------------------

NEAR_CASES = [
    ("under the point", [box("Save", 90, 90, 130, 110)], "Save"),
    ("the word under it, not its line", [box("Save all", 60, 88, 160, 112), box("Save", 90, 90, 130, 110)], "Save"),
    ("beside it, within reach", [box("Print", 100 + NEAR_TEXT_PX, 95, 160, 105)], "Print"),
    ("the nearer of two", [box("Far", 100 + 30, 95, 170, 105), box("Near", 40, 95, 100 - 10, 105)], "Near"),
    ("too far", [box("Print", 101 + NEAR_TEXT_PX, 95, 180, 105)], None),
    ("blank text is no text", [box(" ", 90, 90, 130, 110)], None),
    ("nothing read", [], None),
]


@pytest.mark.parametrize(("name", "boxes", "text"), NEAR_CASES, ids=[c[0] for c in NEAR_CASES])
def test_the_text_an_anchor_keeps(name: str, boxes: list[TextBox], text: str | None) -> None:
    found = text_near(boxes, (100, 100))
    assert (found.text if found else None) == text


# -- anchors get their text from the reader ---------------------------------------------


def recorded_anchor(point: tuple[int, int] = POINT) -> Anchor:
    image = screen()
    return make_anchor(image, point, reader=ScreenReader(image, [label_box()]))


def test_an_anchor_keeps_the_text_under_its_point_and_where_it_is() -> None:
    anchor = recorded_anchor()
    label = label_box()
    assert anchor.text == "Save"
    assert anchor.text_box == (label.left - POINT[0], label.top - POINT[1], label.width, label.height)


def test_an_icon_keeps_the_label_beside_it() -> None:
    anchor = recorded_anchor(ICON)
    assert anchor.text == "Save" and anchor.text_box is not None
    left, _, width, _ = anchor.text_box
    assert left + width <= 0  # the text is left of the point


def test_ocr_reads_only_the_context_crop() -> None:
    image = screen()
    reader = ScreenReader(image, [label_box()])
    make_anchor(image, POINT, reader=reader)
    assert reader.sizes == [(320, 320)]


def test_an_ocr_that_cannot_load_keeps_the_anchors_without_text_and_says_so_once() -> None:
    said: list[str] = []
    image = screen()
    maker = AnchorMaker(ScreenReader(image, [label_box()], fail=OcrError("cannot load the OCR engine")), said.append)
    anchors = [maker(image, POINT), maker(image, ICON)]
    assert [a.text for a in anchors] == ["", ""] and all(a.crop for a in anchors)
    assert said == ["anchors are saved without their text: cannot load the OCR engine"]

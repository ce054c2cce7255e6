"""Pure tables for the accessibility text rules: matching a name, reading order, the blank-frame check."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from agent.access.layout import group_rows, reading_order, row_text
from agent.access.matching import closeness, edit_distance, find_matches, normalise
from agent.imaging import is_blank
from agent.ports import TextBox


def box(text: str, left: int, top: int, width: int = 80, height: int = 20) -> TextBox:
    return TextBox(text, left, top, left + width, top + height, 0.9)


@pytest.mark.parametrize(
    ("name", "text", "matches"),
    [
        ("OK", "OK", True),
        ("ok", "OK", True),
        ("OK", "0K", True),  # OCR read the O as a zero
        ("OK", "OX", False),  # short names allow no real edit
        ("Save", "save", True),
        ("Save", "Sove", True),  # one OCR error in four letters
        ("Save", "Sofa", False),
        ("Save as", "Save As…", True),  # spacing, case and punctuation
        ("save as", "SaveAs", True),
        ("Settings", "Setings", True),
        ("Settings", "Setups", False),
        ("Preferences", "Preferenses", True),
        ("Preferences", "Conferences", False),  # three edits; eleven letters allow two
        ("设置", "设置", True),
        ("设置", "设定", False),
        ("Ｓａｖｅ", "Save", True),  # full-width letters
        ("", "Save", False),
        ("...", "Save", False),
    ],
)
def test_closeness(name: str, text: str, matches: bool) -> None:
    assert (closeness(name, text) is not None) is matches


def test_exact_ranks_above_ocr_error() -> None:
    exact, folded, edited = closeness("OK", "OK"), closeness("OK", "0K"), closeness("Save", "Sove")
    assert exact is not None and folded is not None and edited is not None
    assert exact > folded > edited


@pytest.mark.parametrize(("a", "b", "d"), [("", "", 0), ("abc", "", 3), ("kitten", "sitting", 3), ("ab", "ba", 2)])
def test_edit_distance(a: str, b: str, d: int) -> None:
    assert edit_distance(a, b) == d == edit_distance(b, a)


def test_normalise() -> None:
    assert normalise("  Save  As… ") == "saveas"
    assert normalise("打开 浏览器") == "打开浏览器"


def test_whole_boxes_win_over_words_inside_longer_ones() -> None:
    boxes = [box("Save As…", 10, 10), box("Save", 200, 10)]
    found = find_matches("Save", boxes)
    assert [m.box.text for m in found] == ["Save"] and found[0].whole


def test_two_boxes_with_the_same_label_both_match_in_order() -> None:
    boxes = [box("Delete", 10, 10), box("Cancel", 100, 10), box("Delete", 10, 200)]
    assert [(m.box.left, m.box.top) for m in find_matches("delete", boxes)] == [(10, 10), (10, 200)]


def test_words_inside_a_box_aim_at_their_part_of_it() -> None:
    # "OK" and "Cancel" read as one box (the buttons sit close together).
    merged = TextBox("OK Cancel", 100, 50, 190, 70, 0.9)  # 9 characters over 90 pixels
    (found,) = find_matches("cancel", [merged])
    assert not found.whole
    assert found.box.text == "Cancel"
    assert (found.box.left, found.box.right) == (130, 190)
    assert found.box.center == (160, 60)


def test_chinese_name_inside_a_longer_line() -> None:
    line = TextBox("打开浏览器查看天气", 0, 0, 90, 20, 0.9)  # nine characters, 10 px each
    (found,) = find_matches("浏览器", [line])
    assert (found.box.left, found.box.right, found.box.text) == (20, 50, "浏览器")


def test_latin_name_is_not_found_inside_a_word() -> None:
    assert find_matches("ok", [box("Bookmarks", 0, 0)]) == []


def test_nothing_matches() -> None:
    assert find_matches("Submit", [box("Cancel", 0, 0), box("Help", 100, 0)]) == []


def test_rows_in_reading_order() -> None:
    boxes = [
        box("View", 200, 12),
        box("Title", 0, 100, height=40),
        box("File", 0, 10),
        box("Edit", 100, 8),
        box("subtitle", 300, 110),  # shorter box on the title's row
    ]
    rows = group_rows(boxes)
    assert [row_text(row) for row in rows] == ["File Edit View", "Title subtitle"]
    assert [b.text for b in reading_order(boxes)] == ["File", "Edit", "View", "Title", "subtitle"]


def _with_text(image: Image.Image, text: str) -> Image.Image:
    ink = (255, 255, 255) if image.getpixel((0, 0)) == (0, 0, 0) else (0, 0, 0)
    ImageDraw.Draw(image).text((100, 100), text, fill=ink, font=ImageFont.load_default(size=14))
    return image


@pytest.mark.parametrize(
    ("make", "blank"),
    [
        (lambda: Image.new("RGB", (1920, 1080), (0, 0, 0)), True),  # black Xvfb, screen curtain
        (lambda: Image.new("RGB", (1920, 1080), (40, 40, 90)), True),  # a locked screen's flat colour
        (lambda: Image.new("RGB", (1920, 1080), (255, 255, 255)), True),
        (lambda: _with_text(Image.new("RGB", (1920, 1080), (0, 0, 0)), "Password"), False),  # one word
        (lambda: _with_text(Image.new("RGB", (1920, 1080), (255, 255, 255)), "OK"), False),
        (lambda: Image.linear_gradient("L").resize((1920, 1080)).convert("RGB"), False),
        (lambda: Image.new("RGB", (200, 100), (0, 0, 0)), True),  # a small region
    ],
)
def test_is_blank(make: object, blank: bool) -> None:
    assert callable(make)
    assert is_blank(make()) is blank


def test_flat_screen_with_noise_is_blank() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    noisy = np.clip(30 + rng.normal(0, 3, (1080, 1920, 3)), 0, 255).astype("uint8")
    assert is_blank(Image.fromarray(noisy))

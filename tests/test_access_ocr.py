"""The OCR reader's speed paths keep its answers: batched = box by box, a re-read reads only what changed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from agent.access.matching import closeness
from agent.access.ocr import (
    OcrSettings,
    RapidReader,
    changed_area,
    fits_name,
    ratio_bucket,
    redetect_area,
    similar_batches,
)
from agent.ports import TextBox
from agent.testing.pages import FONT, dense_lines, dense_page

LINES = dense_lines(60)
SAVE_AT = (1700, 500)


class Counting(RapidReader):
    """The real reader, counting the crops that reach the recognizer and its runs."""

    def __init__(self, settings: OcrSettings | None = None) -> None:
        super().__init__(settings)
        self.crops = 0
        self.runs = 0

    def recognise_crops(self, crops: Sequence[Any]) -> list[tuple[str, float]]:
        self.crops += len(crops)
        self.runs += 1
        return super().recognise_crops(crops)


@pytest.fixture(scope="module")
def page() -> Any:
    return dense_page(LINES, extra={SAVE_AT: "Save"})


def _texts(reader: RapidReader, image: Any) -> list[str]:
    return [box.text for box in reader.read(image)]


def _rewrite_line(image: Any, index: int, text: str) -> Any:
    from PIL import ImageDraw, ImageFont

    changed = image.copy()
    draw = ImageDraw.Draw(changed)
    top = 20 + index * ((1080 - 40) // 30)
    draw.rectangle((30, top, 900, top + 20), fill=(255, 255, 255))
    draw.text((30, top), text, fill=(25, 25, 25), font=ImageFont.truetype(FONT, 15))
    return changed


def test_batched_recognition_reads_the_same_text_as_box_by_box(page: Any) -> None:
    batched, single = Counting(OcrSettings(batch=8)), Counting(OcrSettings(batch=1))
    texts = _texts(batched, page)
    assert texts == _texts(single, page)
    assert single.runs == single.crops  # the reference really went box by box
    assert batched.runs <= batched.crops * 3 / 4  # and the batched reader really batched
    assert sum(line in texts for line in LINES) >= len(LINES) - 2, texts


def test_a_re_read_recognises_only_the_changed_line(page: Any) -> None:
    reader = Counting()
    first = _texts(reader, page)
    read_once = reader.crops
    assert _texts(reader, page) == first and reader.crops == read_once  # nothing changed: nothing read
    changed = _rewrite_line(page, 10, "Brand new words here")
    texts = _texts(reader, changed)
    assert reader.crops - read_once == 1, reader.crops - read_once
    # Every other box reads as before, in the same order; the old line's reading is gone.
    assert texts == [("Brand new words here" if closeness(LINES[10], t) is not None else t) for t in first]


def test_click_by_name_reads_the_boxes_sized_like_the_name_first(page: Any) -> None:
    reader = Counting()
    boxes = reader.read_for(page, "Save")
    assert "Save" in [b.text for b in boxes]
    assert reader.crops < len(LINES) / 4  # the long lines were never recognised
    # A name found only inside longer lines reads everything, so no match is missed.
    word = LINES[3].split()[1]
    assert any(word in b.text for b in reader.read_for(page, word))


def test_a_new_frame_size_is_detected_afresh(page: Any) -> None:
    reader = Counting()
    reader.read(page)
    window = page.crop((0, 0, 960, 540))
    assert [b for b in reader.read(window) if b.right > 960] == []


def _box(left: int, top: int, right: int, bottom: int) -> TextBox:
    return TextBox("", left, top, right, bottom)


@pytest.mark.parametrize(
    ("width", "height", "name", "fits"),
    [
        (40, 24, "Save", True),
        (70, 24, "Save", True),
        (400, 24, "Save", False),  # a long line is no "Save" button
        (5, 24, "Save", False),
        (90, 30, "打开文件", True),
        (60, 24, "  ", False),
        (160, 24, "Save changes", True),
    ],
)
def test_fits_name(width: int, height: int, name: str, fits: bool) -> None:
    assert fits_name(_box(0, 0, width, height), name) is fits


@pytest.mark.parametrize(
    ("buckets", "size", "batches"),
    [
        ([], 8, []),
        ([6.0, 6.0, 6.0], 8, [[0, 1, 2]]),
        ([6.0, 19.5, 6.0], 8, [[0, 2], [1]]),  # narrow first, other sizes apart
        ([3.0, 3.0, 3.0], 2, [[0, 1], [2]]),  # at most ``size`` per batch
        ([3.0, 3.0], 1, [[0], [1]]),
    ],
)
def test_similar_batches(buckets: list[float], size: int, batches: list[list[int]]) -> None:
    assert similar_batches(buckets, size) == batches


@pytest.mark.parametrize(("width", "height", "bucket"), [(30, 30, 1.0), (15, 30, 1.0), (31, 30, 2.0), (300, 24, 13.0)])
def test_ratio_bucket(width: int, height: int, bucket: float) -> None:
    assert ratio_bucket(width, height) == bucket


def test_changed_area() -> None:
    import numpy as np

    before = np.zeros((10, 20, 3), np.uint8)
    after = before.copy()
    assert changed_area(before, after) == (0, 0, 0, 0)
    after[2:4, 5:9, 1] = 7
    assert changed_area(before, after) == (5, 2, 9, 4)
    assert changed_area(before, np.zeros((10, 21, 3), np.uint8)) is None


def test_redetect_area_takes_in_the_lines_the_change_cuts_but_not_their_neighbours() -> None:
    lines = [_box(10, 20 * i, 300, 20 * i + 22) for i in range(10)]  # boxes overlap by 2 px, as dense lines do
    assert redetect_area((50, 105, 60, 110), lines, 1000, 1000, margin=0) == (10, 100, 300, 122)
    assert redetect_area((50, 105, 60, 110), lines, 1000, 1000, margin=12) == (10, 93, 300, 122)
    assert redetect_area((995, 5, 999, 9), [], 1000, 1000, margin=12) == (983, 0, 1000, 21)

"""A fake ``TextReader`` that returns the boxes it was given, for matching and click tests without OCR."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from agent.ports import TextBox

if TYPE_CHECKING:
    from PIL.Image import Image


class FakeReader:
    """Returns ``boxes`` for every image and counts the reads."""

    def __init__(self, boxes: Sequence[TextBox] = ()) -> None:
        self.boxes = list(boxes)
        self.reads = 0

    def read(self, image: Image) -> list[TextBox]:
        self.reads += 1
        return list(self.boxes)

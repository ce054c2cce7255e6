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


class ScreenReader:
    """Reads ``boxes`` (placed on ``screen``) off any crop of ``screen``, like OCR would.

    A crop is found on the screen by its pixels, and the boxes wholly inside it come
    back in the crop's own pixels: code that reads a region and shifts the boxes back
    is tested for real. ``sizes`` keeps the size of every image read, in order.
    """

    def __init__(self, screen: Image, boxes: Sequence[TextBox], *, fail: Exception | None = None) -> None:
        self.screen = screen
        self.boxes = list(boxes)
        self.fail = fail
        self.sizes: list[tuple[int, int]] = []

    @property
    def reads(self) -> int:
        return len(self.sizes)

    def read(self, image: Image) -> list[TextBox]:
        if self.fail is not None:
            raise self.fail
        self.sizes.append(image.size)
        left, top = self._origin(image)
        right, bottom = left + image.width, top + image.height
        return [
            b.shifted(-left, -top)
            for b in self.boxes
            if left <= b.left and top <= b.top and b.right <= right and b.bottom <= bottom
        ]

    def _origin(self, image: Image) -> tuple[int, int]:
        if image.size == self.screen.size:
            return (0, 0)
        from agent.imaging import gray_array, search

        return search(gray_array(self.screen), gray_array(image), factor=1)[0].box.as_tuple()[:2]

"""The seams for speaking and reading the screen: the ``Speech`` and ``TextReader`` protocols and ``TextBox``.

Real adapters live with their feature (``agent.access.speech``, ``agent.access.ocr``);
fakes that record what was said and return given boxes live in ``agent.testing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from PIL.Image import Image


@dataclass(frozen=True)
class TextBox:
    """One run of text found in an image: its words, its box in image pixels, and the reader's confidence."""

    text: str
    left: int
    top: int
    right: int
    bottom: int
    score: float = 1.0

    @property
    def center(self) -> tuple[int, int]:
        """The middle of the box in image pixels (what a click by name aims at)."""
        return ((self.left + self.right) // 2, (self.top + self.bottom) // 2)

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def shifted(self, dx: int, dy: int) -> TextBox:
        """The same box in a larger image whose origin is (-dx, -dy) from this one's."""
        return TextBox(
            self.text, self.left + dx, self.top + dy, self.right + dx, self.bottom + dy, self.score
        )


class TextReader(Protocol):
    """Reads the text in an image (OCR)."""

    def read(self, image: Image) -> list[TextBox]:
        """Every text box found in ``image``, in reading order (top to bottom, left to right)."""
        ...


class Speech(Protocol):
    """Speaks lines one after another on its own thread; nothing here blocks the caller."""

    def say(self, text: str, lang: str | None = None) -> None:
        """Queue ``text``; ``lang`` (a BCP 47 tag such as "zh") picks a voice, else the text decides."""
        ...

    def stop(self) -> None:
        """Silence the line being spoken at once and drop every queued line."""
        ...

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every queued line was spoken (or cut off); False when ``timeout`` ran out first."""
        ...

    def close(self) -> None:
        """Finish what is queued, then end the speech thread and release the engine or file."""
        ...

    @property
    def problem(self) -> str | None:
        """Why nothing can be heard (no audio output), in words, once a line failed; else None."""
        ...

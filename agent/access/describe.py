"""Describe the screen and answer questions about one captured frame, through any model backend.

The frame is checked before any model is involved: a blank one (locked screen, screen
curtain, black Xvfb) is refused with "the screen is blank", so nothing can be made up
about it. Follow-up questions (``--chat``) go with the same image, as one growing
conversation. When the answer quotes text, OCR looks for it on the frame, and a
quote the screen does not show is reported rather than believed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.access.quotes import doubt_line, doubts, quotes
from agent.backends.base import ChatRequest, TextSink
from agent.imaging import is_blank

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.backends.base import Backend
    from agent.computers.base import Frame
    from agent.ports import TextReader

BLANK = "the screen is blank"
DESCRIBE = (
    "Describe this screen for someone who cannot see it, in at most five short sentences: "
    "the application and window, the main content, and the controls that matter. "
    "Say only what is visible; quote visible text exactly, in double quotes; if something is unclear, say so."
)
ANSWER = "Answer about this screen in a few short sentences. Quote visible text exactly, in double quotes. "
MAX_NEW_TOKENS = 400


@dataclass(frozen=True)
class Reply:
    text: str
    notes: list[str]  # doubts about quoted text, one sentence each


@dataclass
class Description:
    """One captured frame and the conversation about it."""

    backend: Backend
    frame: Frame
    cancel: threading.Event
    image: Image  # the frame resized to the pixel budget: what the model is shown
    reader: TextReader | None = None
    max_pixels: int = 1024 * 32 * 32
    history: list[dict[str, Any]] = field(default_factory=list)
    _ocr_lines: list[str] | None = None

    def ask(self, question: str | None = None, on_text: TextSink | None = None) -> Reply:
        """The model's answer to ``question`` (None: describe the screen), checked against OCR."""
        if not self.history:
            prompt = DESCRIBE if not question else ANSWER + question
            self.history.append(
                {
                    "role": "user",
                    "content": [{"type": "image", "image": self.image}, {"type": "text", "text": prompt}],
                }
            )
        else:
            self.history.append({"role": "user", "content": [{"type": "text", "text": question or DESCRIBE}]})
        request = ChatRequest(
            messages=list(self.history),
            tools=[],
            max_new_tokens=MAX_NEW_TOKENS,
            max_pixels=self.max_pixels,
            stop=(),
        )
        completion = self.backend.complete(request, self.cancel, on_text)
        text = completion.text.strip()
        self.history.append({"role": "assistant", "content": [{"type": "text", "text": text}]})
        return Reply(text, self._check(text))

    def _check(self, text: str) -> list[str]:
        if self.reader is None or not quotes(text):
            return []
        if self._ocr_lines is None:  # read once per frame, only when something was quoted
            from agent.access.layout import group_rows, row_text

            self._ocr_lines = [row_text(row) for row in group_rows(self.reader.read(self.frame.image))]
        return [doubt_line(d) for d in doubts(text, self._ocr_lines)]


def frame_is_blank(frame: Frame) -> bool:
    return is_blank(frame.image)

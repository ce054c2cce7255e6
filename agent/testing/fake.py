"""An in-memory ``Computer``: a fixed screen image, a cursor, and a log of actions.

It checks what the real one checks (points on screen, stop requested) so tests and
``--dry-run`` exercise the same rules without touching a display.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.actions import CLICK_NAMES, ScreenAction, Type
from agent.computers.base import Frame
from agent.errors import ClipboardError, OffScreenError, StoppedError
from agent.geometry import CaptureGeometry, Region

if TYPE_CHECKING:
    from PIL.Image import Image


@dataclass
class FakeComputer:
    """A screen of ``region`` size filled with ``colour``, or showing ``image``."""

    region: Region = field(default_factory=lambda: Region(0, 0, 1920, 1080))
    scale: float = 1.0
    colour: tuple[int, int, int] = (40, 44, 52)
    image: Image | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    performed: list[ScreenAction] = field(default_factory=list)
    typed: list[str] = field(default_factory=list)
    cursor: tuple[int, int] = (0, 0)
    releases: int = 0
    # Where each click landed, in screen pixels (a click without a point lands at the cursor).
    clicked: list[tuple[int, int]] = field(default_factory=list)

    def capture(self) -> Frame:
        from PIL import Image

        width = round(self.region.width * self.scale)
        height = round(self.region.height * self.scale)
        image = self.image if self.image is not None else Image.new("RGB", (width, height), self.colour)
        return Frame(image=image.copy(), geometry=CaptureGeometry(self.region, image.width, image.height))

    def perform(self, action: ScreenAction) -> None:
        if self.cancel.is_set():
            raise StoppedError("stopped before the action was performed")
        point = action.screen_xy
        if point is None and action.name in CLICK_NAMES:
            point = self.cursor  # a click at the pointer, checked like the real one
        if point is not None:
            if not self.region.contains(*point):
                raise OffScreenError(f"point {point} is outside the screen {self.region}")
            self.cursor = point
            if action.name in CLICK_NAMES:
                self.clicked.append(point)
        if isinstance(action.action, Type):
            self.typed.append(action.action.text)
        self.performed.append(action)

    def poll_image(self) -> Image:
        return self.capture().image

    def release_all(self) -> None:
        self.releases += 1


class FakeClipboard:
    """An in-memory clipboard for tests: ``press_paste`` sees the pasted text.

    With ``taken=False`` nobody takes the paste: like the real one it restores the old
    content and raises ``ClipboardError``, so callers can test how a failed type step
    is reported.
    """

    def __init__(self, content: str | None = None, *, taken: bool = True) -> None:
        self.content = content
        self.taken = taken
        self.pasted: list[str] = []

    def paste(self, text: str, press_paste: Callable[[], None]) -> None:
        previous, self.content = self.content, text
        try:
            press_paste()
            if not self.taken:
                raise ClipboardError("no application took the pasted text (fake clipboard)")
            self.pasted.append(text)
        finally:
            self.content = previous


if TYPE_CHECKING:
    from agent.computers.platform import Clipboard

    # mypy checks here that the fake keeps matching the protocol the desktop uses.
    _fake_is_a_clipboard: Clipboard = FakeClipboard()

"""Every action performed under the platform's acting mark, so a recorder never takes it for the user's."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.actions import ScreenAction
    from agent.computers.base import Computer, Frame
    from agent.computers.platform import ActingMark


class MarkedComputer:
    """A computer whose every action is performed under the acting mark."""

    def __init__(self, inner: Computer, mark: ActingMark) -> None:
        self.inner = inner
        self.mark = mark

    def capture(self) -> Frame:
        return self.inner.capture()

    def poll_image(self) -> Image:
        return self.inner.poll_image()

    def release_all(self) -> None:
        with self.mark.acting():
            self.inner.release_all()

    def perform(self, action: ScreenAction) -> None:
        with self.mark.acting():
            self.inner.perform(action)

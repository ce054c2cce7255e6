"""The no-progress rule: the same actions on an unchanged screen, several times in a row, pause the run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.imaging import DEFAULT_TOLERANCE, changed_fraction, thumbnail

if TYPE_CHECKING:
    from PIL.Image import Image


class Watchdog:
    """Feed it each step's action signature and screen; it says when to pause."""

    def __init__(self, repeats: int = 3) -> None:
        self.repeats = repeats
        self._signature = ""
        self._thumb: Image | None = None
        self._count = 0

    def observe(self, signature: str, screen: Image) -> str | None:
        """The pause reason when this step repeats the last ``repeats - 1`` ones, else None."""
        thumb = thumbnail(screen)
        unchanged = self._thumb is not None and changed_fraction(thumb, self._thumb) <= DEFAULT_TOLERANCE
        self._count = self._count + 1 if signature == self._signature and unchanged else 1
        if self._count >= self.repeats:
            count = self._count
            self._signature, self._thumb, self._count = "", None, 0
            return f"no progress: the same action on an unchanged screen {count} times in a row"
        self._signature, self._thumb = signature, thumb
        return None

"""Stand-ins for what a platform cannot offer: window titles, a window stack, a mark, input watches."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from agent.errors import DisplayError
from agent.ports import ScreenWindow


class NoWindows:
    """No window titles: every question is answered with ``None``."""

    def title_at(self, x: int, y: int) -> str | None:
        return None

    def focused_title(self) -> str | None:
        return None


class NoStack:
    """No window is known: the accessibility tree then finds none to check against."""

    def active(self) -> ScreenWindow | None:
        return None

    def top_at(self, x: int, y: int) -> ScreenWindow | None:
        return None

    def find(self, pid: int, title: str) -> ScreenWindow | None:
        return None


class NoMark:
    """Nothing can record input here, so there is nobody to tell that input is ours."""

    @contextlib.contextmanager
    def acting(self) -> Iterator[None]:
        yield

    def active(self) -> bool:
        return False

    def close(self) -> None:
        pass


class Unwatched:
    """A watch that starts and sees nothing (Wayland shows an unprivileged client no global input)."""

    def __init__(self) -> None:
        self._alive = False

    def start(self) -> None:
        self._alive = True

    def stop(self) -> bool:
        self._alive = False
        return True

    def is_alive(self) -> bool:
        return self._alive


class Refusal:
    """A watch that cannot start: ``start`` says why in one line."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def start(self) -> None:
        raise DisplayError(self._reason)

    def stop(self) -> bool:
        return True

    def is_alive(self) -> bool:
        return False

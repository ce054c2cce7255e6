"""A fake ``Speech`` that records every line instead of speaking it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class FakeSpeech:
    """Keeps (text, lang) pairs in ``lines``; ``stop()`` is counted so a test can see it."""

    lines: list[tuple[str, str | None]] = field(default_factory=list)
    stops: int = 0
    closed: bool = False
    problem: str | None = None  # set it to play a machine without audio output
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def say(self, text: str, lang: str | None = None) -> None:
        with self._lock:
            self.lines.append((text, lang))

    def stop(self) -> None:
        self.stops += 1

    def wait(self, timeout: float | None = None) -> bool:
        return True

    def close(self) -> None:
        self.closed = True

    @property
    def texts(self) -> list[str]:
        with self._lock:
            return [text for text, _ in self.lines]

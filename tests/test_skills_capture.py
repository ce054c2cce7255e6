"""The capture a skill looks at comes from the run core's Capture service, through the caller's computer."""

from __future__ import annotations

import threading
from typing import Any

from agent.api import Region, capture_for_skill


class Recording:
    """A computer wrapper like the tray's overlay hider: it sees every grab."""

    def __init__(self, inner: Any, seen: list[str]) -> None:
        self.inner, self.seen = inner, seen

    def capture(self) -> Any:
        self.seen.append("capture")
        return self.inner.capture()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_skill_capture_goes_through_the_wrapped_computer(x_display: str) -> None:
    seen: list[str] = []
    image = capture_for_skill(Region(10, 20, 64, 32), threading.Event(), lambda c: Recording(c, seen))
    assert seen == ["capture"]
    assert image.size == (64, 32)

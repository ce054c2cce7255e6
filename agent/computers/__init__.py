"""The seam between the agent and a desktop: capture a frame, perform a screen action.

``DesktopComputer`` (mss + pyautogui + pynput) drives the real display and is imported
lazily, since its libraries open the X display at import; ``FakeComputer`` is a
complete in-memory stand-in for tests and dry runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.computers.base import CaptureTarget, Computer, Frame
from agent.computers.fake import FakeComputer

if TYPE_CHECKING:
    from agent.computers.desktop import DesktopComputer

__all__ = ["CaptureTarget", "Computer", "DesktopComputer", "FakeComputer", "Frame"]


def __getattr__(name: str) -> Any:
    if name == "DesktopComputer":
        from agent.computers.desktop import DesktopComputer

        return DesktopComputer
    raise AttributeError(name)

"""The seam between the agent and a desktop: capture a frame, perform a screen action.

``DesktopComputer`` (mss + pyautogui + pynput) drives the real display and is imported
lazily, since its libraries open the X display at import; ``agent.testing.fake`` holds
the in-memory stand-in tests use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.computers.base import CaptureTarget, Computer, Frame

if TYPE_CHECKING:
    from agent.computers.desktop import DesktopComputer

__all__ = ["CaptureTarget", "Computer", "DesktopComputer", "Frame"]


def __getattr__(name: str) -> Any:
    if name == "DesktopComputer":
        from agent.computers.desktop import DesktopComputer

        return DesktopComputer
    raise AttributeError(name)

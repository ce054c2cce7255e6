"""The seam between the agent and a desktop: capture a frame, perform a screen action.

Each desktop family is a ``Platform`` (``agent.computers.platform``) in its own folder
(``x11/``), chosen once by ``agent.computers.selection``; ``agent.testing`` holds the
in-memory stand-ins tests use. Nothing here imports a desktop library.
"""

from __future__ import annotations

from agent.computers.base import CaptureTarget, Computer, Frame

__all__ = ["CaptureTarget", "Computer", "Frame"]

"""The X11 desktop (an X11 session, Xvfb, or Xorg): today's mss, pyautogui, pynput and python-xlib code.

Phase 1 of the platform seam wraps the existing modules in ``agent/computers/``;
they move into this folder once the branches that still edit their callers are in.
Importing this package loads no X library.
"""

from __future__ import annotations

from agent.computers.x11.platform import X11Platform

__all__ = ["X11Platform"]

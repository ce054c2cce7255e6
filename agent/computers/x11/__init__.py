"""The X11 desktop (an X11 session, Xvfb, Xorg): the only code importing mss, pyautogui, pynput, python-xlib.

``screen`` (mss), ``desktop`` (the ``Computer``), ``keyboard`` (XTEST), ``clipboard``
(X selections), ``windows`` (titles, the active window), ``listeners`` (pynput and
RECORD), ``marker`` (the root-window acting mark), ``keys`` (pynput's key names), all
reached through ``X11Platform``. Importing this package loads no X library.
"""

from __future__ import annotations

from agent.computers.x11.platform import X11Platform

__all__ = ["X11Platform"]

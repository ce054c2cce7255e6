"""Holding the X keyboard grab for a window that asks the user something (overlay, lost target).

Without a window manager X sends keys to the window under the pointer, which during a
run or a replay is the very window about to be acted on; a window manager that
prevents focus stealing does the same to a newly shown window. So a window that asks
grabs the keyboard while it is mapped: its Enter and Esc reach it wherever the pointer
is. The kill hotkey still works: it is seen through the RECORD extension, which a grab
does not hide.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)

RETRY_MS = 20
TRIES = 100  # a window manager may map the window a little later; give it 2 s


class KeyboardGrab(QObject):
    """Grabs the keyboard for ``window`` once it is mapped, retrying; ``settled`` once per ``start``."""

    settled = Signal()  # grabbed, or given up (the user can still use the mouse)

    def __init__(self, window: QWidget, what: str) -> None:
        super().__init__(window)
        self._window = window
        self._what = what
        self.grabbed = False
        self.gave_up = False
        self._tries = 0
        self._retry = QTimer(self, singleShot=True)
        self._retry.timeout.connect(self._try)

    def start(self) -> None:
        self._tries = 0
        self.gave_up = False
        if QGuiApplication.platformName() == "wayland":
            # Wayland has no keyboard grab for plain clients: the compositor gives the
            # keyboard to the window it focuses (a new fullscreen window), so nothing to wait for.
            self.gave_up = True
            self.settled.emit()
            return
        self._try()

    def release(self) -> None:
        self._retry.stop()
        if self.grabbed:
            handle = self._window.windowHandle()
            if handle is not None:
                handle.setKeyboardGrabEnabled(False)
            self.grabbed = False

    def _try(self) -> None:
        if not self._window.isVisible() or self.grabbed:
            return
        handle = self._window.windowHandle()
        # The X grab alone (not QWidget.grabKeyboard): keys then reach the focused
        # child as usual, so Tab, Space on a button and typing into a field all work.
        if handle is not None and handle.setKeyboardGrabEnabled(True):
            self.grabbed = True
            self.settled.emit()
            return
        self._tries += 1
        if self._tries >= TRIES:
            log.warning("could not grab the keyboard for the %s; use the mouse", self._what)
            self.gave_up = True
            self.settled.emit()
            return
        self._retry.start(RETRY_MS)

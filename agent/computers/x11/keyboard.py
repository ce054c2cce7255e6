"""Keyboard input: key chords and typing of the characters the keymap has.

On X11 keys go through the XTEST extension, resolved against the live keymap, the
way xdotool does it. Measured under Xvfb: pyautogui picks shift from a fixed US
table and types ``<`` as ``>``; pynput sends characters as synthetic XSendEvent
events, which xterm (and others) ignore. XTEST input is indistinguishable from a
real keyboard. Characters the keymap lacks (any non-ASCII text, usually) are not
typed here at all: ``DesktopComputer`` pastes them through the clipboard.

Elsewhere (Windows, macOS) pyautogui's keyboard is used; that path is untested here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Protocol

from agent.computers.keysyms import NAMED_KEYSYMS
from agent.errors import DisplayError

# Canonical name → pyautogui name, where they differ.
_PYAUTOGUI_NAMES = {"super": "winleft", "printscreen": "printscreen", "menu": "apps"}


class Keyboard(Protocol):
    def typeable(self, char: str) -> bool:
        """Whether ``char`` can be typed as keystrokes on the current keymap."""
        ...

    def chord(self, names: tuple[str, ...], before_each: Callable[[], None] | None = None) -> None:
        """Press ``names`` in order and release them in reverse, even on error."""
        ...

    def type_chars(self, text: str) -> None:
        """Type characters for which ``typeable`` is true."""
        ...

    def release_modifiers(self) -> None:
        """Release ctrl, alt, shift and super, whatever state they are in."""
        ...


class XTestKeyboard:
    """Keys through XTEST on the current X display."""

    def __init__(self) -> None:
        try:
            from Xlib import XK, X, display
            from Xlib.ext import xtest
        except ImportError as err:
            raise DisplayError(f"the X11 keyboard needs python-xlib: {err}") from None
        XK.load_keysym_group("xf86")
        try:
            self._display = display.Display()
        except Exception as err:
            raise DisplayError(f"cannot open the display for keyboard input: {err}") from None
        self._X, self._XK, self._xtest = X, XK, xtest
        self._shift = self._keycode_of("Shift_L")

    def _keycode_of(self, keysym_name: str) -> int:
        keysym = self._XK.string_to_keysym(keysym_name)
        keycode = self._display.keysym_to_keycode(keysym) if keysym else 0
        if not keycode:
            raise DisplayError(f"the keyboard map has no key for {keysym_name!r}")
        return int(keycode)

    def _char_key(self, char: str) -> tuple[int, bool] | None:
        """(keycode, needs shift) for a character on the first keyboard group."""
        # Latin-1 keysyms equal the code point; beyond that X needs remapping tricks
        # that race with applications, so those characters are not typeable here.
        if not (" " <= char <= "~"):
            return None
        for keycode, index in self._display.keysym_to_keycodes(ord(char)):
            if index in (0, 1):
                return int(keycode), index == 1
        return None

    def typeable(self, char: str) -> bool:
        return self._char_key(char) is not None

    def _resolve(self, name: str) -> tuple[int, bool]:
        if name in NAMED_KEYSYMS:
            return self._keycode_of(NAMED_KEYSYMS[name]), False
        found = self._char_key(name) if len(name) == 1 else None
        if found is None:
            raise DisplayError(f"the keyboard map has no key for {name!r}")
        return found

    def _send(self, keycode: int, press: bool) -> None:
        self._xtest.fake_input(self._display, self._X.KeyPress if press else self._X.KeyRelease, keycode)

    def chord(self, names: tuple[str, ...], before_each: Callable[[], None] | None = None) -> None:
        keys = [self._resolve(n) for n in names]
        pressed: list[int] = []
        try:
            for keycode, shifted in keys:
                if before_each is not None:
                    before_each()
                if shifted and self._shift not in pressed:
                    self._send(self._shift, True)
                    pressed.append(self._shift)
                self._send(keycode, True)
                pressed.append(keycode)
        finally:
            for keycode in reversed(pressed):
                self._send(keycode, False)
            self._display.sync()

    def release_modifiers(self) -> None:
        for name in ("ctrl", "alt", "shift", "super"):
            self._send(self._keycode_of(NAMED_KEYSYMS[name]), False)
        self._display.sync()

    def type_chars(self, text: str) -> None:
        try:
            for char in text:
                found = self._char_key(char)
                if found is None:
                    raise DisplayError(f"the keyboard map has no key for {char!r}")
                keycode, shifted = found
                if shifted:
                    self._send(self._shift, True)
                self._send(keycode, True)
                self._send(keycode, False)
                if shifted:
                    self._send(self._shift, False)
        finally:
            self._display.sync()


class PyAutoGuiKeyboard:
    """pyautogui's keyboard, for platforms other than X11 (untested in CI)."""

    def __init__(self, gui: Any) -> None:
        self._gui = gui

    def typeable(self, char: str) -> bool:
        return " " <= char <= "~"

    def chord(self, names: tuple[str, ...], before_each: Callable[[], None] | None = None) -> None:
        keys = [_PYAUTOGUI_NAMES.get(n, n) for n in names]
        pressed: list[str] = []
        try:
            for key in keys:
                if before_each is not None:
                    before_each()
                self._gui.keyDown(key)
                pressed.append(key)
        finally:
            for key in reversed(pressed):
                self._gui.keyUp(key)

    def type_chars(self, text: str) -> None:
        self._gui.write(text)

    def release_modifiers(self) -> None:
        for key in ("ctrl", "alt", "shift", "winleft"):
            self._gui.keyUp(key)


def platform_keyboard(gui: Any) -> Keyboard:
    if sys.platform.startswith("linux"):
        return XTestKeyboard()
    return PyAutoGuiKeyboard(gui)

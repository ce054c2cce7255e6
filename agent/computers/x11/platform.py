"""``X11Platform``: the ``Platform`` of an X11 display, built lazily on today's X modules."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from agent.computers.platform import (
    ActingMark,
    Capabilities,
    Clipboard,
    DesktopInput,
    InputHandlers,
    InputWatch,
    InputWatching,
    Screen,
    Windows,
)
from agent.geometry import Region
from agent.ports import WindowStack

if TYPE_CHECKING:
    from agent.computers.base import CaptureTarget
    from agent.computers.platform import Platform


class X11Platform:
    """An X11 display: XTEST input, mss capture, X selections, RECORD for input watching.

    Constructing it opens nothing; each service connects to ``display`` when asked for.
    """

    name = "x11"

    def __init__(self, display: str = "") -> None:
        self.display = display

    @property
    def capabilities(self) -> Capabilities:
        # X11 gives every client the pointer, global input (RECORD) and root properties.
        return Capabilities()

    def describe(self) -> str:
        where = f"DISPLAY={self.display}" if self.display else "the native desktop"
        return f"{self.name} ({where}; {self.capabilities.summary()})"

    def screen(self, target: CaptureTarget = 1) -> Screen:
        from agent.computers.x11.screen import MssScreen

        return MssScreen(target)

    def computer(self, target: CaptureTarget = 1, *, cancel: threading.Event | None = None) -> DesktopInput:
        from agent.computers.x11.desktop import DesktopComputer

        return DesktopComputer(target, cancel=cancel)

    def clipboard(self, *, cancel: threading.Event | None = None) -> Clipboard:
        from agent.computers.x11.clipboard import XSelectionClipboard

        return XSelectionClipboard(cancel=cancel)

    def windows(self) -> Windows:
        from agent.computers.x11.windows import X11Windows

        return X11Windows()

    def active_window_region(self) -> Region:
        from agent.computers.x11.windows import active_window_region

        return active_window_region()

    def input_watching(self) -> InputWatching:
        return X11InputWatching()

    def acting_mark(self) -> ActingMark:
        from agent.computers.x11.marker import RootWindowMark

        return RootWindowMark()

    def window_stack(self) -> WindowStack:
        from agent.computers.x11.stacking import X11Stack

        return X11Stack()


class _PynputWatch:
    """pynput listeners started and stopped through the shared RECORD-aware lifecycle."""

    def __init__(self, make: Callable[[], list[Any]], what: str) -> None:
        self._make = make
        self._what = what
        self._listeners: list[Any] = []

    def start(self) -> None:
        from agent.computers.x11.listeners import start_listener

        if self.is_alive():
            return
        self._listeners = self._make()
        try:
            for listener in self._listeners:
                start_listener(listener, self._what)
        except Exception:
            self.stop()
            raise

    def stop(self) -> bool:
        from agent.computers.x11.listeners import stop_listener

        return all([stop_listener(listener) for listener in self._listeners])

    def is_alive(self) -> bool:
        return any(listener.is_alive() for listener in self._listeners)


class X11InputWatching:
    """Global input through pynput's X RECORD listeners."""

    def watch_chord(self, keys: Sequence[str], on_chord: Callable[[], None], *, what: str) -> InputWatch:
        from agent.computers.x11.keys import pynput_hotkey_string
        from agent.computers.x11.listeners import import_pynput, recording_listener

        spelling = pynput_hotkey_string(keys)

        def make() -> list[Any]:
            keyboard, _ = import_pynput(what)
            return [recording_listener(keyboard.GlobalHotKeys)({spelling: on_chord})]

        return _PynputWatch(make, what)

    def watch_input(self, handlers: InputHandlers, *, what: str) -> InputWatch:
        from agent.computers.x11.keys import canonical_key
        from agent.computers.x11.listeners import import_pynput, recording_listener, timed_listener

        def key(callback: Callable[[str, str], None] | None) -> Callable[[Any], None] | None:
            if callback is None:
                return None
            return lambda k: callback(canonical_key(k) or "", getattr(k, "char", None) or "")

        listeners: list[Any] = []

        def button(x: int, y: int, pressed_button: Any, pressed: bool) -> None:
            name = str(getattr(pressed_button, "name", pressed_button))
            if handlers.on_button_at is not None:
                # Called on the mouse listener's thread while it handles this very event.
                handlers.on_button_at(int(x), int(y), name, pressed, listeners[0].event_time)
            elif handlers.on_button is not None:
                handlers.on_button(int(x), int(y), name, pressed)

        def make() -> list[Any]:
            keyboard, mouse = import_pynput(what)
            listeners[:] = [
                timed_listener(recording_listener(mouse.Listener))(
                    on_move=handlers.on_move, on_click=button, on_scroll=handlers.on_scroll
                ),
                recording_listener(keyboard.Listener)(
                    on_press=key(handlers.on_key_down), on_release=key(handlers.on_key_up)
                ),
            ]
            return listeners

        return _PynputWatch(make, what)


if TYPE_CHECKING:
    # mypy checks here that the X11 platform keeps matching the protocol.
    _x11_is_a_platform: Platform = X11Platform()

"""An in-memory ``Platform`` for tests: the fake computer and clipboard, plus fake windows, input and mark."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.computers.base import CaptureTarget, Frame
from agent.computers.platform import Capabilities, InputHandlers
from agent.errors import DisplayError
from agent.geometry import Region
from agent.ports import ScreenWindow
from agent.testing.fake import FakeClipboard, FakeComputer

if TYPE_CHECKING:
    from agent.computers.platform import Platform


@dataclass
class FakeDesktop(FakeComputer):
    """A ``FakeComputer`` that also lists its one monitor and says where the pointer is."""

    def monitors(self) -> list[Region]:
        return [self.region]

    def cursor_position(self) -> tuple[int, int]:
        return self.cursor


class FakeScreen:
    def __init__(self, desktop: FakeDesktop) -> None:
        self._desktop = desktop

    def monitors(self) -> list[Region]:
        return self._desktop.monitors()

    def capture_region(self) -> Region:
        return self._desktop.region

    def capture(self) -> Frame:
        return self._desktop.capture()


@dataclass
class FakeWindows:
    """Titles by rectangle, first match wins; ``focused`` is the keyboard's window."""

    titles: list[tuple[Region, str]] = field(default_factory=list)
    focused: str | None = None

    def title_at(self, x: int, y: int) -> str | None:
        return next((title for region, title in self.titles if region.contains(x, y)), None)

    def focused_title(self) -> str | None:
        return self.focused


class FakeInputWatch:
    def __init__(self, watching: FakeInputWatching) -> None:
        self._watching = watching
        self.alive = False

    def start(self) -> None:
        self.alive = True

    def stop(self) -> bool:
        self.alive = False
        return True

    def is_alive(self) -> bool:
        return self.alive


class FakeInputWatching:
    """Tests play the user: ``press_chord`` and ``send`` reach every live watch."""

    def __init__(self) -> None:
        self.chords: list[tuple[tuple[str, ...], Callable[[], None], FakeInputWatch]] = []
        self.watchers: list[tuple[InputHandlers, FakeInputWatch]] = []

    def watch_chord(self, keys: Sequence[str], on_chord: Callable[[], None], *, what: str) -> FakeInputWatch:
        watch = FakeInputWatch(self)
        self.chords.append((tuple(keys), on_chord, watch))
        return watch

    def watch_input(self, handlers: InputHandlers, *, what: str) -> FakeInputWatch:
        watch = FakeInputWatch(self)
        self.watchers.append((handlers, watch))
        return watch

    def press_chord(self, keys: Sequence[str]) -> None:
        for chord, on_chord, watch in self.chords:
            if watch.alive and chord == tuple(keys):
                on_chord()

    def click(self, x: int, y: int, button: str = "left") -> None:
        for handlers, watch in self.watchers:
            if watch.alive and handlers.on_button_at is not None:
                handlers.on_button_at(x, y, button, True, time.monotonic())
                handlers.on_button_at(x, y, button, False, time.monotonic())
            elif watch.alive and handlers.on_button is not None:
                handlers.on_button(x, y, button, True)
                handlers.on_button(x, y, button, False)


@dataclass
class FakeWindowStack:
    """Windows listed top-most first; the first is the active one."""

    windows: list[ScreenWindow] = field(default_factory=list)

    def active(self) -> ScreenWindow | None:
        return self.windows[0] if self.windows else None

    def top_at(self, x: int, y: int) -> ScreenWindow | None:
        return next((w for w in self.windows if w.region.contains(x, y)), None)

    def find(self, pid: int, title: str) -> ScreenWindow | None:
        own = [w for w in self.windows if w.pid == pid]
        return next((w for w in own if w.title == title), own[0] if own else None)


class FakeActingMark:
    def __init__(self) -> None:
        self.depth = 0
        self.marked = 0  # how many blocks ran under the mark

    @contextlib.contextmanager
    def acting(self) -> Iterator[None]:
        self.depth += 1
        self.marked += 1
        try:
            yield
        finally:
            self.depth -= 1

    def active(self) -> bool:
        return self.depth > 0

    def close(self) -> None:
        pass


@dataclass
class FakePlatform:
    """One fake desktop; every service is a single shared instance, so tests can look inside."""

    desktop: FakeDesktop = field(default_factory=FakeDesktop)
    fake_clipboard: FakeClipboard = field(default_factory=FakeClipboard)
    fake_windows: FakeWindows = field(default_factory=FakeWindows)
    watching: FakeInputWatching = field(default_factory=FakeInputWatching)
    mark: FakeActingMark = field(default_factory=FakeActingMark)
    stack: FakeWindowStack = field(default_factory=FakeWindowStack)
    capabilities: Capabilities = field(default_factory=Capabilities)
    active_window: Region | None = None
    name: str = "fake"

    def describe(self) -> str:
        return f"{self.name} (in memory; {self.capabilities.summary()})"

    def screen(self, target: CaptureTarget = 1) -> FakeScreen:
        return FakeScreen(self.desktop)

    def computer(self, target: CaptureTarget = 1, *, cancel: threading.Event | None = None) -> FakeDesktop:
        if cancel is not None:
            self.desktop.cancel = cancel
        return self.desktop

    def clipboard(self, *, cancel: threading.Event | None = None) -> FakeClipboard:
        return self.fake_clipboard

    def windows(self) -> FakeWindows:
        return self.fake_windows

    def active_window_region(self) -> Region:
        if self.active_window is None:
            raise DisplayError("no active window (focus the window to capture, or use --region)")
        return self.active_window

    def input_watching(self) -> FakeInputWatching:
        return self.watching

    def acting_mark(self) -> FakeActingMark:
        return self.mark

    def window_stack(self) -> FakeWindowStack:
        return self.stack


if TYPE_CHECKING:
    # mypy checks here that the fake keeps matching the protocol.
    _fake_is_a_platform: Platform = FakePlatform()

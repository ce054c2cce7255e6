"""The seams for speaking and reading the screen: ``Speech``, ``TextReader`` and ``AccessibleTree``.

Real adapters live with their feature (``agent.access.speech``, ``agent.access.ocr``)
or their platform (``agent.computers.atspi``); fakes that record what was said and
return given boxes or elements live in ``agent.testing``.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.geometry import Region


@dataclass(frozen=True)
class TextBox:
    """One run of text found in an image: its words, its box in image pixels, and the reader's confidence."""

    text: str
    left: int
    top: int
    right: int
    bottom: int
    score: float = 1.0

    @property
    def center(self) -> tuple[int, int]:
        """The middle of the box in image pixels (what a click by name aims at)."""
        return ((self.left + self.right) // 2, (self.top + self.bottom) // 2)

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def shifted(self, dx: int, dy: int) -> TextBox:
        """The same box in a larger image whose origin is (-dx, -dy) from this one's."""
        return TextBox(
            self.text, self.left + dx, self.top + dy, self.right + dx, self.bottom + dy, self.score
        )


class TextReader(Protocol):
    """Reads the text in an image (OCR)."""

    def read(self, image: Image) -> list[TextBox]:
        """Every text box found in ``image``, in reading order (top to bottom, left to right)."""
        ...


@runtime_checkable
class NameReader(Protocol):
    """A ``TextReader`` that can read just enough to find one name (click by name)."""

    def read_for(self, image: Image, name: str) -> list[TextBox]:
        """Boxes that hold every box reading as ``name`` as a whole, or else every box, in reading order."""
        ...


class Speech(Protocol):
    """Speaks lines one after another on its own thread; nothing here blocks the caller."""

    def say(self, text: str, lang: str | None = None) -> None:
        """Queue ``text``; ``lang`` (a BCP 47 tag such as "zh") picks a voice, else the text decides."""
        ...

    def stop(self) -> None:
        """Silence the line being spoken at once and drop every queued line."""
        ...

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every queued line was spoken (or cut off); False when ``timeout`` ran out first."""
        ...

    def close(self) -> None:
        """Finish what is queued, then end the speech thread and release the engine or file."""
        ...

    @property
    def problem(self) -> str | None:
        """Why nothing can be heard (no audio output), in words, once a line failed; else None."""
        ...

@dataclass(frozen=True)
class Element:
    """One accessible element as the tree reported it, its box already mapped to the real screen.

    ``path`` is the chain of child indices from the application down to it: with ``role``
    and ``name`` it finds the element again (references go stale after a reload). ``box``
    is None where the element reports no usable extents. ``in_document`` marks page
    content, as opposed to the browser's or toolkit's own controls around it.
    """

    role: str
    name: str
    box: Region | None
    path: tuple[int, ...] = ()
    description: str = ""
    states: frozenset[str] = frozenset()
    text: str = ""
    actions: tuple[str, ...] = ()
    window: str = ""  # the title of the window it belongs to
    in_document: bool = False

    @property
    def center(self) -> tuple[int, int] | None:
        """The middle of the box in screen input units (what a click aims at)."""
        if self.box is None:
            return None
        return (self.box.left + self.box.width // 2, self.box.top + self.box.height // 2)


@dataclass(frozen=True)
class TreeWindow:
    """The active window as its accessibility tree describes it: what a reader or a click starts from."""

    title: str
    box: Region | None
    toolkit: str = ""  # "Chromium", "GTK", "Qt"...
    web: bool = False  # holds a web document: text comes in page (DOM) order
    elements: tuple[Element, ...] = field(default=())


@dataclass(frozen=True)
class Reading:
    """What an element says about itself at one moment: read before and after an action."""

    role: str
    name: str
    states: frozenset[str] = frozenset()
    text: str = ""
    value: float | None = None


@dataclass(frozen=True)
class Effect:
    """What showed that an action on an element did something, or that nothing did.

    ``how`` is "event" (``detail`` the AT-SPI event type from the element's application),
    "re-read" (``detail`` what differs), or "" when nothing was seen in time (``detail``
    "stopped" when the wait was cut short by a stop). ``after_s`` runs from just before
    the action to the evidence, or to the end of the wait.
    """

    how: Literal["event", "re-read", ""]
    detail: str = ""
    after_s: float = 0.0

    @property
    def seen(self) -> bool:
        return self.how != ""

    def to_record(self) -> str:
        """The step record's ``effect``: "event object:state-changed:focused", "re-read: ...", "none"."""
        if self.how == "event":
            return f"event {self.detail}"
        if self.how == "re-read":
            return f"re-read: {self.detail}"
        return "none"


class EffectWatch(Protocol):
    """Evidence that an action did something, collected from the moment the watch began."""

    def wait(self, timeout_s: float, stop: threading.Event) -> Effect:
        """The first event from the element's application since the watch began, else (after
        ``timeout_s``) a second reading that differs; ``Effect("")`` when neither. Returns at
        once when ``stop`` is set."""
        ...


class AccessibleTree(Protocol):
    """The desktop's accessibility tree (AT-SPI on Linux): exact text and named elements, no pixels."""

    def available(self) -> bool:
        """True when the accessibility bus answers; nothing else here may be called otherwise."""
        ...

    def active_window(self) -> TreeWindow | None:
        """The active window with its on-screen elements in reading order; None when it has no tree."""
        ...

    def element_at(self, x: int, y: int) -> Element | None:
        """The deepest element of the active window at a screen point (fast: one lookup per level)."""
        ...

    def find(self, roles: Collection[str] = (), name: str | None = None) -> list[Element]:
        """The active window's on-screen elements with one of ``roles`` (all when empty) named
        ``name`` (any when None), in tree order."""
        ...

    def covered(self, element: Element) -> bool:
        """True when another window lies on top of the element's centre (a click would land there)."""
        ...

    def do_action(self, element: Element, action: str | None = None) -> None:
        """Look the element up again and perform its action (the first when None), without the pointer.

        Raises ``DisplayError`` when it is gone or changed (a stale element is never acted on).
        """
        ...

    def watch(self, element: Element) -> EffectWatch:
        """Start watching for an action's effect on ``element``: read it now and note the events
        of its application from this moment. Called just before the action.

        Raises ``DisplayError`` when the element is gone (nothing is acted on blind).
        """
        ...

    def wait_quiet(self, gap_s: float, timeout_s: float, stop: threading.Event) -> bool | None:
        """Block until the tree sent no event (load, window, focus, text) for ``gap_s`` (True) or
        ``timeout_s`` passed (False); None at once when the active window has no tree."""
        ...


@dataclass(frozen=True)
class ScreenWindow:
    """A top-level window of the display: who owns it, its title, and its client area on the screen."""

    id: int
    pid: int
    title: str
    region: Region


class WindowStack(Protocol):
    """What the platform tells the tree about windows: which is active, on top, and where (the seam)."""

    def active(self) -> ScreenWindow | None:
        """The window that has the keyboard (or, with no window manager, the one under the pointer)."""
        ...

    def top_at(self, x: int, y: int) -> ScreenWindow | None:
        """The top-most window containing the screen point."""
        ...

    def find(self, pid: int, title: str) -> ScreenWindow | None:
        """The window of process ``pid`` titled ``title`` (any of the process's when none has the title)."""
        ...

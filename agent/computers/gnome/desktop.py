"""``GnomeComputer``: capture from the screen cast, input through the RemoteDesktop session.

Every input first closes the stream (``StreamReader.close``): Mutter recording frames
for a reader meanwhile is what made clicks slow (and, measured again with the stream
capped at 10 frames a second, once doubled a key; see stream.py). The pointer position
cannot be read on GNOME, so it is where this computer last put it (the middle of the
monitor at first).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Protocol

from agent.actions import ScreenAction
from agent.computers.base import CaptureTarget, Frame
from agent.computers.dispatch import Axis, Button, Point, check_stop, drag_path, perform, segment_text
from agent.computers.gnome.keys import BUTTONS, KEY_LEFTCTRL, KEY_LEFTSHIFT, KEY_V, keysym, typeable
from agent.errors import DisplayError, OffScreenError
from agent.geometry import CaptureGeometry, Region
from agent.imaging import DEFAULT_THUMB_SIZE, thumbnail

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.computers.gnome.stream import StreamReader
    from agent.computers.platform import Clipboard

log = logging.getLogger(__name__)


class RemoteSession(Protocol):
    """What this computer uses of a session: ``MutterSession`` (Mutter's API) or ``PortalSession``."""

    area: tuple[int, int, int, int]
    has_clipboard: bool  # whether text outside the layout can be pasted

    def motion(self, x: float, y: float) -> None: ...
    def button(self, evdev_button: int, pressed: bool) -> None: ...
    def scroll_steps(self, axis: int, steps: int) -> None: ...
    def keycode(self, evdev_code: int, pressed: bool) -> None: ...
    def keysym(self, keysym: int, pressed: bool) -> None: ...


class GnomeComputer:
    """The primary monitor of a GNOME session, one RemoteDesktop session for the whole run."""

    def __init__(
        self,
        session: RemoteSession,
        reader: StreamReader,
        clipboard: Clipboard,
        target: CaptureTarget = 1,
        *,
        cancel: threading.Event | None = None,
    ) -> None:
        if not (target in (1, "cursor") or isinstance(target, Region)):
            # Mutter's stream here is the primary monitor; other monitors are not cast yet.
            raise DisplayError(f"no monitor {target} on GNOME: Deskpilot casts the primary monitor (1) only")
        self._session = session
        self._reader = reader
        self._clipboard = clipboard
        self._target = target
        self.cancel = cancel or threading.Event()
        left, top, width, height = session.area
        self._monitor = Region(left, top, width, height)
        self._pointer = (left + width // 2, top + height // 2)  # never read: where we last put it
        self._held_buttons: set[int] = set()
        self._captured: Region | None = None

    # -- capture ---------------------------------------------------------------
    def monitors(self) -> list[Region]:
        return [self._monitor]

    def capture_region(self) -> Region:
        return self._target if isinstance(self._target, Region) else self._monitor

    def capture(self) -> Frame:
        raw = self._reader.frame()
        image = raw.image()
        region = self.capture_region()
        if region != self._monitor:
            m = self._monitor
            image = image.crop((region.left - m.left, region.top - m.top,
                                region.left - m.left + region.width, region.top - m.top + region.height))
        self._captured = region
        geometry = CaptureGeometry(region, image.width, image.height)
        return Frame(image=image, geometry=geometry, captured_at=raw.arrived_at)

    def poll_image(self) -> Image:
        return thumbnail(self.capture().image, DEFAULT_THUMB_SIZE)

    # -- input -----------------------------------------------------------------
    def cursor_position(self) -> tuple[int, int]:
        return self._pointer

    def _before_input(self) -> None:
        check_stop(self.cancel)
        self._reader.close()

    def perform(self, action: ScreenAction) -> None:
        self._before_input()
        perform(action, self)

    # -- the primitives ``perform`` drives ------------------------------------------
    def move(self, point: Point) -> None:
        if not self._monitor.contains(*point):
            raise OffScreenError(f"{point} is outside the cast monitor {self._monitor}; not moving there")
        left, top, _, _ = self._session.area
        # Motion is addressed on the stream, in its own pixels.
        self._session.motion(point[0] - left, point[1] - top)
        self._pointer = point

    def _button(self, code: int, pressed: bool) -> None:
        self._session.button(code, pressed)
        (self._held_buttons.add if pressed else self._held_buttons.discard)(code)

    def click(self, point: Point | None, button: Button, clicks: int) -> None:
        if point is None:
            # Where we last put the pointer (it cannot be read): still on the captured monitor?
            point = self._pointer
            region = self._captured or self.capture_region()
            if not region.contains(*point):
                raise OffScreenError(f"the pointer was left at {point}, outside {region}; not clicking there")
        self.move(point)
        code = BUTTONS[button]
        for _ in range(clicks):
            check_stop(self.cancel)
            self._button(code, True)
            self._button(code, False)

    def drag(self, end: Point) -> None:
        start = self._pointer
        self._button(BUTTONS["left"], True)
        try:
            for step in drag_path(start, end):
                self.move(step)
        finally:
            self._button(BUTTONS["left"], False)

    def scroll(self, point: Point | None, axis: Axis, steps: int) -> None:
        if point is not None:
            self.move(point)
        # Scroll: positive is up, Mutter's axis 0 positive is down; HScroll: right on both.
        code, steps = (0, -steps) if axis == "vertical" else (1, steps)
        if steps:
            self._session.scroll_steps(code, steps)

    def chord(self, keys: tuple[str, ...] | list[str]) -> None:
        """Press the keys in order and release them in reverse (keysyms: Mutter finds the keycodes)."""
        syms = [keysym(k) for k in keys]
        pressed: list[int] = []
        try:
            for sym in syms:
                check_stop(self.cancel)
                self._session.keysym(sym, True)
                pressed.append(sym)
        finally:
            for sym in reversed(pressed):
                self._session.keysym(sym, False)

    def _paste_chord(self) -> None:
        # Keycodes, not keysyms: Ctrl+V must not depend on where the layout puts V.
        self._session.keycode(KEY_LEFTCTRL, True)
        try:
            self._session.keycode(KEY_V, True)
            self._session.keycode(KEY_V, False)
        finally:
            self._session.keycode(KEY_LEFTCTRL, False)

    def type_text(self, text: str) -> None:
        if not self._session.has_clipboard:
            # Refused whole, before any of it is typed: never a text with characters dropped.
            from agent.computers.gnome.portal import refuse_untypeable

            refuse_untypeable(text, typeable)
        for kind, run in segment_text(text, typeable):
            check_stop(self.cancel)
            if kind == "keys":
                for char in run:
                    self._session.keysym(ord(char), True)
                    self._session.keysym(ord(char), False)
            elif kind == "key":
                self.chord((run,))
            else:
                self._clipboard.paste(run, self._paste_chord)

    def release_all(self) -> None:
        # Only what we hold: Mutter rejects the release of a key that was never pressed.
        for code in list(self._held_buttons):
            try:
                self._button(code, False)
            except DisplayError as err:
                log.debug("releasing button %s: %s", code, err)


# How long clients get to bind the keyboard that a session's first key brings to the seat.
# Measured on headless mutter 43: the seat announced the keyboard 40 ms after the Shift
# tap; without a wait, the key after the tap was lost in 1 of 6 fresh sessions (all of
# them lost without the tap), with 50 ms none of 16, also with 3 CPU burners running.
KEYBOARD_SETTLE_S = 0.15


def warm_up(session: RemoteSession) -> None:
    """Tap Shift, let clients bind the keyboard, move the pointer to the monitor's middle.

    Mutter adds a RemoteDesktop session's virtual keyboard to the seat only with its
    first key: that key reaches nobody, the seat then announces a keyboard, and each
    client binds one before it can receive keys. Keys sent before a client has bound
    are lost too, so a key right after the tap was lost now and then, more often under
    load. Nothing on Mutter's D-Bus API tells when clients have bound (the seat's
    capability is Wayland-only), so the run waits ``KEYBOARD_SETTLE_S`` once per session.
    The middle is where ``GnomeComputer`` believes the pointer starts (it cannot be read).
    """
    session.keycode(KEY_LEFTSHIFT, True)
    session.keycode(KEY_LEFTSHIFT, False)
    _, _, width, height = session.area
    session.motion(width // 2, height // 2)
    threading.Event().wait(KEYBOARD_SETTLE_S)

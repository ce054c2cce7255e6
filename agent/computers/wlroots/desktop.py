"""The wlroots desktop: screencopy capture, one virtual pointer and one virtual keyboard for the whole run.

One pointer and one keyboard live as long as the process (a run, or the tray): a headless or
device-less seat gains the pointer/keyboard capability only when such a device
appears, and applications bind ``wl_pointer``/``wl_keyboard`` only after that, so
the first events of a freshly made device are lost (measured: ``wtype abc`` typed
"bc"). Holding the devices for the run pays that once, at the start, and waits it out.

Text is typed through the keyboard's own keymap (wtype's way), never the clipboard:
every character, é, € or 打, is one key press on a keycode made for it. That leaves
the user's clipboard untouched, works in terminals (where Ctrl+V does not paste) and
needs no wl-clipboard nor a paste that someone must take.

The pointer position cannot be read on Wayland: ``cursor_position`` is where this
computer last put the pointer (the layout's centre before the first move).
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING

from agent.actions import ScreenAction
from agent.computers.base import CaptureTarget, Frame
from agent.computers.dispatch import Axis, Button, Point, check_stop, drag_path, perform
from agent.computers.wlroots.connection import (
    SEAT_KEYBOARD,
    SEAT_POINTER,
    VIRTUAL_KEYBOARD,
    VIRTUAL_POINTER,
    WaylandConnection,
)
from agent.computers.wlroots.keymap import BASE_CHARS, Keymap, build_keymap, modifier_mask
from agent.computers.wlroots.screen import ScreencopyScreen
from agent.errors import ActionError, OffScreenError
from agent.geometry import Region

if TYPE_CHECKING:
    from PIL.Image import Image

BUTTONS = {"left": 272, "right": 273, "middle": 274}  # evdev BTN_LEFT, BTN_RIGHT, BTN_MIDDLE
_PRESSED, _RELEASED = 1, 0
_WHEEL_STEP = 15.0  # wl_pointer axis units per wheel click, as libinput reports a mouse wheel
_AXIS_VERTICAL, _AXIS_HORIZONTAL, _SOURCE_WHEEL = 0, 1, 0
DEVICE_READY_TIMEOUT_S = 2.0
# Once per run, after the seat reports the new devices: the time applications take to
# bind wl_pointer/wl_keyboard, which no event tells this client about (wtype -s 30 is
# the same wait; measured 30 ms enough on a loaded 2-core VM, doubled).
DEVICE_SETTLE_S = 0.06


def _now_ms() -> int:
    return int(time.monotonic() * 1000) & 0xFFFFFFFF


class VirtualDevices:
    """The process's one virtual pointer and keyboard on a connection, and the keyboard's current keymap."""

    def __init__(self, wl: WaylandConnection, cancel: threading.Event | None = None) -> None:
        """Make the devices and wait once for applications to bind them; a set ``cancel`` ends that wait."""
        from agent.computers.wlroots.protocols.virtual_keyboard_unstable_v1 import ZwpVirtualKeyboardManagerV1
        from agent.computers.wlroots.protocols.wlr_virtual_pointer_unstable_v1 import (
            ZwlrVirtualPointerManagerV1,
        )

        self._wl = wl
        self.keymap: Keymap | None = None
        self.held: set[str] = set()
        # Where the pointer was last put (the layout's centre before the first move):
        # Wayland gives no client the real position.
        layout = wl.layout()
        self.pointer_xy = (layout.left + layout.width // 2, layout.top + layout.height // 2)
        with wl.lock:
            pointers = wl.bind(ZwlrVirtualPointerManagerV1, VIRTUAL_POINTER, 1)
            keyboards = wl.bind(ZwpVirtualKeyboardManagerV1, VIRTUAL_KEYBOARD, 1)
            self.pointer = pointers.create_virtual_pointer(wl.seat)
            self.keyboard = keyboards.create_virtual_keyboard(wl.seat)
            self.set_keymap(build_keymap(BASE_CHARS))
            wl.display.flush()
            both = SEAT_POINTER | SEAT_KEYBOARD
            wl.dispatch_until(lambda: wl.seat_capabilities & both == both, DEVICE_READY_TIMEOUT_S,
                              "the seat to report the virtual pointer and keyboard")
            wl.display.roundtrip()
        # Applications learn of the capabilities at the same moment and bind their
        # pointer and keyboard on their next turn; nothing reports that turn to us, so
        # this waits DEVICE_SETTLE_S (above: 30 ms measured, doubled). On the run's stop
        # event: a stop during it ends it at once (no input goes out after a stop anyway).
        (cancel or threading.Event()).wait(DEVICE_SETTLE_S)

    def set_keymap(self, keymap: Keymap) -> None:
        data = keymap.text.encode() + b"\0"
        fd = os.memfd_create("deskpilot-keymap", os.MFD_CLOEXEC)
        try:
            os.write(fd, data)
            self.keyboard.keymap(1, fd, len(data))  # 1: WL_KEYBOARD_KEYMAP_FORMAT_XKB_V1
            self._wl.display.flush()  # the fd is duplicated into the message when sent
        finally:
            os.close(fd)
        self.keymap = keymap

    def ensure_keymap(self, chars: str) -> Keymap:
        """A keymap with every character of ``chars``: the current one, or a new one uploaded now."""
        keymap = self.keymap
        if keymap is None or not keymap.covers(chars):
            # Keep what the current keymap has when the union still fits, so texts that
            # alternate between two scripts do not upload a keymap each time.
            have = "".join(keymap.chars) if keymap is not None else BASE_CHARS
            try:
                keymap = build_keymap(have + chars)
            except ActionError:
                keymap = build_keymap(BASE_CHARS + chars)
            self.set_keymap(keymap)
        return keymap


class WlrootsComputer:
    """Captures with wlr-screencopy and acts through the process's one virtual pointer and keyboard.

    The devices belong to the connection (``WaylandConnection.extra``), so every
    computer of a process (a run, the next run in the tray) uses the same two, and
    only the first pays the wait for applications to see them.
    """

    def __init__(
        self,
        connection: WaylandConnection,
        target: CaptureTarget = 1,
        *,
        cancel: threading.Event | None = None,
    ) -> None:
        self._wl = connection
        self.cancel = cancel or threading.Event()
        with connection.lock:
            devices = connection.extra.get("devices")
            if not isinstance(devices, VirtualDevices):
                devices = connection.extra["devices"] = VirtualDevices(connection, self.cancel)
        self._devices = devices
        self._pointer = devices.pointer
        self._keyboard = devices.keyboard
        self.screen = ScreencopyScreen(connection, target, pointer=self.cursor_position)
        self._captured: Region | None = None

    def close(self) -> None:
        """Release what is held, free the capture buffers; the shared devices stay for the next computer."""
        try:
            self.release_all()
        except Exception:  # the compositor went first: nothing left to release
            pass
        self.screen.close()

    # -- capture -----------------------------------------------------------------
    def monitors(self) -> list[Region]:
        return self.screen.monitors()

    def capture(self) -> Frame:
        frame = self.screen.capture()
        self._captured = frame.region
        return frame

    def poll_image(self) -> Image:
        return self.screen.poll()

    def cursor_position(self) -> tuple[int, int]:
        """Where this computer last put the pointer: Wayland gives no client the real position."""
        return self._devices.pointer_xy

    # -- input -------------------------------------------------------------------
    def perform(self, action: ScreenAction) -> None:
        check_stop(self.cancel)
        perform(action, self)

    def release_all(self) -> None:
        with self._wl.using():
            for button in BUTTONS.values():
                self._pointer.button(_now_ms(), button, _RELEASED)
            self._pointer.frame()
            keymap, held = self._devices.keymap, self._devices.held
            if keymap is not None:
                for key in list(held):
                    self._keyboard.key(_now_ms(), keymap.code_of_key(key), _RELEASED)
                self._keyboard.modifiers(0, 0, 0, 0)
            held.clear()

    def _motion(self, point: Point) -> None:
        layout = self._wl.layout()
        if not layout.contains(*point):
            raise OffScreenError(f"{point} is outside every monitor ({layout})")
        self._pointer.motion_absolute(
            _now_ms(), point[0] - layout.left, point[1] - layout.top, layout.width, layout.height
        )
        self._pointer.frame()
        self._devices.pointer_xy = point

    # -- the primitives ``perform`` drives ------------------------------------------
    def move(self, point: Point) -> None:
        with self._wl.using():
            self._motion(point)
        self._wl.roundtrip()

    def click(self, point: Point | None, button: Button, clicks: int) -> None:
        if point is None:
            # A click without a coordinate lands at the remembered pointer, which must
            # still be on the monitor the model was shown.
            point = self._devices.pointer_xy
            region = self._captured or self.screen.capture_region()
            if not region.contains(*point):
                raise OffScreenError(
                    f"the pointer was last put at {point}, outside the captured monitor {region}; "
                    "not clicking"
                )
        check_stop(self.cancel)
        code = BUTTONS[button]
        with self._wl.using():
            self._motion(point)
            for _ in range(clicks):
                self._pointer.button(_now_ms(), code, _PRESSED)
                self._pointer.frame()
                self._pointer.button(_now_ms(), code, _RELEASED)
                self._pointer.frame()
        self._wl.roundtrip()  # the compositor has taken the click when this returns

    def drag(self, end: Point) -> None:
        start = self._devices.pointer_xy
        check_stop(self.cancel)
        code = BUTTONS["left"]
        with self._wl.using():
            self._pointer.button(_now_ms(), code, _PRESSED)
            self._pointer.frame()
        try:
            for x, y in drag_path(start, end):
                self.move((x, y))
        finally:
            with self._wl.using():
                self._pointer.button(_now_ms(), code, _RELEASED)
                self._pointer.frame()
            self._wl.roundtrip()

    def scroll(self, point: Point | None, axis: Axis, steps: int) -> None:
        # Positive is up in the action; Wayland's vertical axis grows down. Right is right on both.
        code, steps = (_AXIS_VERTICAL, -steps) if axis == "vertical" else (_AXIS_HORIZONTAL, steps)
        with self._wl.using():
            if point is not None:
                self._motion(point)
            if steps:
                self._pointer.axis_source(_SOURCE_WHEEL)
                self._pointer.axis_discrete(_now_ms(), code, steps * _WHEEL_STEP, steps)
                self._pointer.frame()
        self._wl.roundtrip()

    def chord(self, keys: tuple[str, ...]) -> None:
        """Press ``keys`` in order, release them in reverse; modifiers also set the modifier state."""
        with self._wl.using():
            keymap = self._devices.ensure_keymap("".join(k for k in keys if len(k) == 1))
            pressed: list[str] = []
            try:
                for key in keys:
                    check_stop(self.cancel)
                    self._keyboard.key(_now_ms(), keymap.code_of_key(key), _PRESSED)
                    pressed.append(key)
                    self._devices.held.add(key)
                    # Virtual keyboards do not derive modifiers from their keys: say them.
                    self._keyboard.modifiers(modifier_mask(pressed), 0, 0, 0)
            finally:
                for key in reversed(pressed):
                    self._keyboard.key(_now_ms(), keymap.code_of_key(key), _RELEASED)
                    held = self._devices.held
                    held.discard(key)
                    self._keyboard.modifiers(modifier_mask(k for k in pressed if k in held), 0, 0, 0)
        self._wl.roundtrip()

    def type_text(self, text: str) -> None:
        """Type ``text`` exactly: newlines and tabs as Enter and Tab, every other character as its own key."""
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        with self._wl.using():
            keymap = self._devices.ensure_keymap(text)
            for char in text:
                check_stop(self.cancel)
                code = keymap.named["enter"] if char == "\n" else (
                    keymap.named["tab"] if char == "\t" else keymap.chars[char]
                )
                self._keyboard.key(_now_ms(), code, _PRESSED)
                self._keyboard.key(_now_ms(), code, _RELEASED)
        self._wl.roundtrip()

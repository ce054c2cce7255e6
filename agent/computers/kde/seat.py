"""One Wayland connection to KWin: fake-input for the pointer and keys, and the outputs' rectangles."""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.errors import DisplayError
from agent.geometry import Region

FAKE_INPUT = "org_kde_kwin_fake_input"
# v3 added absolute motion, v4 keyboard keys: both are needed (KWin 5.24+ has v4).
FAKE_INPUT_VERSION = 4
# linux/input-event-codes.h buttons, and wl_pointer's axes.
BUTTONS = {"left": 0x110, "right": 0x111, "middle": 0x112}
VERTICAL, HORIZONTAL = 0, 1
NOT_GRANTED = (
    "KWin does not offer fake input to Deskpilot: its desktop entry is missing or names another "
    "Python (run scripts/install.sh, which writes ~/.local/share/applications/deskpilot.desktop "
    "for this interpreter)"
)


@dataclass(frozen=True)
class Output:
    name: str  # the connector name KWin's ScreenShot2.CaptureScreen takes ("Virtual-0", "DP-1")
    region: Region  # in the compositor's logical coordinates, where fake-input points


def socket_path(environ: Mapping[str, str]) -> str:
    """The compositor's socket: ``WAYLAND_DISPLAY`` under ``XDG_RUNTIME_DIR`` (as libwayland finds it)."""
    name = environ.get("WAYLAND_DISPLAY") or "wayland-0"
    if name.startswith("/"):
        return name
    runtime = environ.get("XDG_RUNTIME_DIR")
    if not runtime:
        raise DisplayError("XDG_RUNTIME_DIR is not set, so the Wayland socket cannot be found")
    return os.path.join(runtime, name)


class KWinSeat:
    """Fake-input requests on one connection, each followed by a roundtrip so it has been handled.

    libwayland's display is not thread-safe for one queue, so every request holds a lock.
    """

    def __init__(self, environ: Mapping[str, str], application: str = "Deskpilot") -> None:
        try:
            from pywayland.client.display import Display
            from pywayland.protocol.wayland import WlOutput
        except ImportError as err:
            raise DisplayError(f"the KDE backend needs pywayland ({err}): pip install pywayland") from None
        from agent.computers.kde.fake_input_protocol import OrgKdeKwinFakeInput

        self._lock = threading.Lock()
        self._closed = False
        # Input requests sent so far, counted before each is sent: a frame taken while this
        # stayed the same saw no input of ours (KdeComputer reuses such a frame).
        self.sent = 0
        path = socket_path(environ)
        self._display: Any = Display(path)
        try:
            self._display.connect()
        except Exception as err:
            raise DisplayError(f"cannot connect to the Wayland compositor at {path}: {err}") from None
        found: dict[str, tuple[int, int]] = {}
        output_names: list[int] = []

        def on_global(registry: Any, name: int, interface: str, version: int) -> None:
            if interface == FAKE_INPUT:
                found[interface] = (name, version)
            elif interface == "wl_output":
                output_names.append(name)

        registry = self._display.get_registry()
        registry.dispatcher["global"] = on_global
        self._display.roundtrip()
        if FAKE_INPUT not in found:
            self._display.disconnect()
            raise DisplayError(NOT_GRANTED)
        name, version = found[FAKE_INPUT]
        if version < 3:
            self._display.disconnect()
            raise DisplayError(f"KWin's fake input is version {version}; Deskpilot needs 4 (KWin 5.24+)")
        self._input: Any = registry.bind(name, OrgKdeKwinFakeInput, min(version, FAKE_INPUT_VERSION))
        self.keys_supported = version >= 4
        self._input.authenticate(application, "automates the desktop for you (Deskpilot)")
        self._outputs: list[dict[str, Any]] = []
        for output_name in output_names:
            state: dict[str, Any] = {"x": 0, "y": 0, "w": 0, "h": 0, "scale": 1, "name": ""}
            proxy = registry.bind(output_name, WlOutput, 4)
            proxy.dispatcher["geometry"] = lambda _p, x, y, *_rest, s=state: s.update(x=x, y=y)
            proxy.dispatcher["mode"] = (
                lambda _p, flags, w, h, _r, s=state: s.update(w=w, h=h) if flags & 1 else None
            )
            proxy.dispatcher["scale"] = lambda _p, factor, s=state: s.update(scale=factor)
            proxy.dispatcher["name"] = lambda _p, text, s=state: s.update(name=text)
            self._outputs.append(state)
        self._display.roundtrip()
        # libwayland crashes the interpreter at exit when proxies outlive their display:
        # disconnect before Python tears its modules down.
        atexit.register(self.close)

    def outputs(self) -> list[Output]:
        """The outputs, left to right and top to bottom (the first stands for monitor 1).

        Logical size = mode / integer scale; fractional scaling and rotated outputs are not
        handled (untested: the headless KWin has one unscaled output).
        """
        with self._lock:
            self._display.dispatch(block=False)  # take in outputs that changed since
            outputs = [
                Output(s["name"], Region(s["x"], s["y"], s["w"] // s["scale"], s["h"] // s["scale"]))
                for s in self._outputs
                if s["w"] and s["h"] and s["scale"] > 0
            ]
        return sorted(outputs, key=lambda o: (o.region.left, o.region.top))

    def move(self, x: int, y: int) -> None:
        with self._lock:
            self.sent += 1
            self._input.pointer_motion_absolute(float(x), float(y))
            self._display.roundtrip()

    def button(self, button: str, pressed: bool) -> None:
        with self._lock:
            self.sent += 1
            self._input.button(BUTTONS[button], 1 if pressed else 0)
            self._display.roundtrip()

    def click(self, x: int, y: int, button: str, clicks: int) -> None:
        """Move, then press and release ``clicks`` times, in one roundtrip (a double click stays one)."""
        with self._lock:
            self.sent += 1
            self._input.pointer_motion_absolute(float(x), float(y))
            for _ in range(clicks):
                self._input.button(BUTTONS[button], 1)
                self._input.button(BUTTONS[button], 0)
            self._display.roundtrip()

    def scroll(self, axis: int, pixels: float) -> None:
        """Scroll ``pixels`` along ``axis``: positive is down or right (wl_pointer's sense)."""
        with self._lock:
            self.sent += 1
            self._input.axis(axis, float(pixels))
            self._display.roundtrip()

    def keys(self, events: list[tuple[int, bool]]) -> None:
        """Send evdev key presses and releases in order, in one roundtrip."""
        if not self.keys_supported:
            raise DisplayError("KWin's fake input is older than version 4 and cannot press keys")
        with self._lock:
            self.sent += 1
            for code, pressed in events:
                self._input.keyboard_key(code, 1 if pressed else 0)
            self._display.roundtrip()

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._display.disconnect()

"""One Wayland client connection to a wlroots compositor: its globals, outputs and seat, used from any thread.

pywayland's display is not thread-safe, and a run calls capture and input from more
than one thread (the loop, the settle poll), so every request and dispatch happens
under one lock. Nothing waits with a sleep: a reply is waited for by blocking on the
display's own dispatch (``roundtrip`` / ``dispatch(block=True)``).
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from agent.errors import DisplayError
from agent.geometry import Region

SCREENCOPY = "zwlr_screencopy_manager_v1"
VIRTUAL_POINTER = "zwlr_virtual_pointer_manager_v1"
VIRTUAL_KEYBOARD = "zwp_virtual_keyboard_manager_v1"
XDG_OUTPUT = "zxdg_output_manager_v1"
# What a compositor must offer for this backend to capture and act at all.
REQUIRED = (SCREENCOPY, VIRTUAL_POINTER, VIRTUAL_KEYBOARD)

SEAT_POINTER, SEAT_KEYBOARD = 1, 2  # wl_seat.capability bits


@dataclass
class Output:
    """One wl_output and where it sits in the compositor's layout (logical pixels)."""

    proxy: Any
    name: str = ""
    region: Region | None = None
    mode_size: tuple[int, int] = (0, 0)  # physical pixels, from wl_output.mode (current)
    position: tuple[int, int] = (0, 0)  # from wl_output.geometry, when there is no xdg-output


def import_pywayland() -> Any:
    """pywayland's client module, or a one-line DisplayError naming the package."""
    try:
        from pywayland import client
    except ImportError as err:
        raise DisplayError(f"the wlroots backend needs pywayland (pip install pywayland): {err}") from None
    return client


def offered_globals(name: str | None = None) -> set[str]:
    """The interfaces the compositor at ``WAYLAND_DISPLAY`` (or ``name``) offers; empty when none answers."""
    try:
        client = import_pywayland()
        display = client.Display(name)
        display.connect()
    except Exception:
        return set()
    try:
        found: set[str] = set()
        registry = display.get_registry()

        def on_global(_registry: Any, _name: int, interface: str, _version: int) -> None:
            found.add(interface)

        registry.dispatcher["global"] = on_global
        display.roundtrip()
        return found
    finally:
        display.disconnect()


_shared: dict[str, WaylandConnection] = {}
_shared_lock = threading.Lock()


def shared_connection(name: str | None = None) -> WaylandConnection:
    """This process's one connection to the compositor ``name`` (``WAYLAND_DISPLAY``), opened on first use.

    One per process, not per run: the tray runs many tasks, and each connection holds
    a virtual pointer and keyboard that the compositor shows every application.
    """
    key = name or os.environ.get("WAYLAND_DISPLAY", "wayland-0")
    with _shared_lock:
        found = _shared.get(key)
        if found is None or found.closed:
            found = _shared[key] = WaylandConnection(name)
        return found


def _primary_first(output: Output) -> tuple[bool, int, int]:
    region = output.region or Region(0, 0, 1, 1)
    return (region.left != 0 or region.top != 0, region.left, region.top)


class WaylandConnection:
    """The compositor's socket, its registry, outputs and seat; ``lock`` guards every use."""

    def __init__(self, name: str | None = None) -> None:
        client = import_pywayland()
        self.lock = threading.RLock()
        self._closed = False
        self.display = client.Display(name)
        try:
            self.display.connect()
        except Exception as err:
            where = name or os.environ.get("WAYLAND_DISPLAY", "wayland-0")
            raise DisplayError(f"cannot connect to the Wayland compositor at {where}: {err}") from None
        # pywayland frees proxies when they are collected; at interpreter exit that can
        # happen after the display is gone (a segfault). disconnect() destroys them first.
        atexit.register(self.close)
        self._globals: dict[str, tuple[int, int]] = {}  # interface -> (registry name, version)
        self.extra: dict[str, object] = {}  # what lives as long as the connection (the virtual devices)
        self._output_names: list[tuple[int, int]] = []
        self.seat_capabilities = 0
        self._registry = self.display.get_registry()
        self._registry.dispatcher["global"] = self._on_global
        self.display.roundtrip()
        missing = [i for i in REQUIRED if i not in self._globals]
        if missing:
            self.display.disconnect()
            raise DisplayError(
                f"this Wayland compositor offers no {', '.join(missing)}: it is not wlroots-based "
                "(sway, Hyprland, river...), so the wlroots backend cannot capture or act here"
            )
        from agent.computers.wlroots.protocols.wayland import WlSeat, WlShm

        self.shm = self.bind(WlShm, "wl_shm", 1)
        self.seat = self.bind(WlSeat, "wl_seat", 1)
        self.seat.dispatcher["capabilities"] = self._on_capabilities
        self.outputs = self._bind_outputs()

    # The registry handler must return None: pywayland passes a handler's return value
    # back to libwayland (a returned object raised "an integer is required").
    def _on_global(self, _registry: Any, name: int, interface: str, version: int) -> None:
        if interface == "wl_output":
            self._output_names.append((name, version))
        else:
            self._globals.setdefault(interface, (name, version))

    def _on_capabilities(self, _seat: Any, capabilities: int) -> None:
        self.seat_capabilities = capabilities

    def has(self, interface: str) -> bool:
        return interface in self._globals

    def bind(self, interface: Any, name: str, version: int) -> Any:
        """Bind the global ``name`` at ``bound_version``; DisplayError when it is not offered."""
        if name not in self._globals:
            raise DisplayError(f"the Wayland compositor offers no {name}")
        return self._registry.bind(self._globals[name][0], interface, self.bound_version(name, version))

    def bound_version(self, name: str, version: int) -> int:
        """The version ``bind`` uses: what we speak, or less when the compositor offers less."""
        return min(version, self._globals[name][1]) if name in self._globals else 0

    def _bind_outputs(self) -> list[Output]:
        from agent.computers.wlroots.protocols.wayland import WlOutput

        outputs: list[Output] = []
        for registry_name, version in self._output_names:
            proxy = self._registry.bind(registry_name, WlOutput, min(version, 3))
            output = Output(proxy)

            def on_mode(
                _o: Any, flags: int, width: int, height: int, _refresh: int, out: Output = output
            ) -> None:
                if flags & 1:  # WL_OUTPUT_MODE_CURRENT
                    out.mode_size = (width, height)

            def on_geometry(_o: Any, x: int, y: int, *_rest: Any, out: Output = output) -> None:
                out.position = (x, y)

            proxy.dispatcher["mode"] = on_mode
            proxy.dispatcher["geometry"] = on_geometry
            outputs.append(output)
        boxes: list[dict[str, int]] = [{"x": 0, "y": 0, "w": 0, "h": 0} for _ in outputs]
        if self.has(XDG_OUTPUT):
            # xdg-output gives the logical layout (scaled outputs); wl_output alone gives modes.
            from pywayland.protocol.xdg_output_unstable_v1 import ZxdgOutputManagerV1

            manager = self.bind(ZxdgOutputManagerV1, XDG_OUTPUT, 2)
            for output, box in zip(outputs, boxes, strict=True):
                xdg = manager.get_xdg_output(output.proxy)

                def on_position(_x: Any, x: int, y: int, box: dict[str, int] = box) -> None:
                    box.update(x=x, y=y)

                def on_size(_x: Any, w: int, h: int, box: dict[str, int] = box) -> None:
                    box.update(w=w, h=h)

                def on_name(_x: Any, name: str, out: Output = output) -> None:
                    out.name = name

                xdg.dispatcher["logical_position"] = on_position
                xdg.dispatcher["logical_size"] = on_size
                xdg.dispatcher["name"] = on_name
        self.display.roundtrip()
        self.display.roundtrip()  # xdg-output's events arrive after the objects exist
        for output, box in zip(outputs, boxes, strict=True):
            if box["w"] > 0 and box["h"] > 0:
                output.region = Region(box["x"], box["y"], box["w"], box["h"])
            elif output.mode_size[0] > 0:
                output.region = Region(*output.position, *output.mode_size)
        usable = [o for o in outputs if o.region is not None]
        if not usable:
            raise DisplayError("the Wayland compositor reports no output to capture")
        # Monitor 1 is the output at the layout's origin (the primary, as mss orders X11's).
        usable.sort(key=_primary_first)
        return usable

    def monitors(self) -> list[Region]:
        return [o.region for o in self.outputs if o.region is not None]

    def layout(self) -> Region:
        """The bounding box of every output: the space absolute pointer motion is relative to."""
        regions = self.monitors()
        left, top = min(r.left for r in regions), min(r.top for r in regions)
        right, bottom = max(r.right for r in regions), max(r.bottom for r in regions)
        return Region(left, top, right - left, bottom - top)

    def roundtrip(self) -> None:
        with self.lock:
            self.display.roundtrip()

    def dispatch_until(self, done: Callable[[], bool], timeout_s: float, what: str) -> None:
        """Block on the display until ``done()``; DisplayError after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self.lock:
            self.display.flush()
            while not done():
                if time.monotonic() >= deadline:
                    raise DisplayError(f"the Wayland compositor did not answer in {timeout_s:g} s ({what})")
                # dispatch(block=True) returns after at least one event; the compositor
                # answers every request we wait on, so this never blocks past the reply.
                self.display.dispatch(block=True)

    @contextmanager
    def using(self) -> Iterator[None]:
        """Hold the connection for a sequence of requests, flushed when the block ends."""
        with self.lock:
            try:
                yield
            finally:
                self.display.flush()  # what was decided before a stop still goes out, in order

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self.lock:
            self._closed = True
            try:
                self.display.disconnect()
            except Exception:  # already gone with the compositor: nothing left to close
                pass

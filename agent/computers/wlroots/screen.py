"""Capture on wlroots: ``wlr-screencopy`` into shared memory, in process (no grim, no PNG round trip)."""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent.computers.base import CaptureTarget, Frame
from agent.computers.wlroots.connection import SCREENCOPY, Output, WaylandConnection
from agent.errors import DisplayError
from agent.geometry import CaptureGeometry, Region
from agent.imaging import DEFAULT_THUMB_SIZE, box_reduce

if TYPE_CHECKING:
    from PIL.Image import Image

COPY_TIMEOUT_S = 5.0
# wl_shm formats with the byte order B, G, R, X/A in memory (little-endian 32-bit words).
_BGRX_FORMATS = {0: "BGRA", 1: "BGRX"}  # ARGB8888, XRGB8888
_FLAG_Y_INVERT = 1


class _ShmBuffer:
    """A memfd-backed wl_buffer of one size and format, reused across frames of the same output."""

    def __init__(self, shm: Any, fmt: int, width: int, height: int, stride: int) -> None:
        self.key = (fmt, width, height, stride)
        size = stride * height
        self._fd = os.memfd_create("deskpilot-screencopy", os.MFD_CLOEXEC)
        os.ftruncate(self._fd, size)
        self.map = mmap.mmap(self._fd, size)
        pool = shm.create_pool(self._fd, size)
        self.buffer = pool.create_buffer(0, width, height, stride, fmt)
        pool.destroy()  # the buffer keeps the memory alive

    def close(self) -> None:
        self.buffer.destroy()
        self.map.close()
        os.close(self._fd)


class ScreencopyScreen:
    """Captures a monitor, the monitor under the (remembered) pointer, or a region, from wlr-screencopy."""

    def __init__(
        self,
        connection: WaylandConnection,
        target: CaptureTarget = 1,
        pointer: Callable[[], tuple[int, int]] | None = None,
    ) -> None:
        self._wl = connection
        self._target = target
        self._pointer = pointer
        from agent.computers.wlroots.protocols.wlr_screencopy_unstable_v1 import ZwlrScreencopyManagerV1

        with connection.lock:
            self._manager = connection.bind(ZwlrScreencopyManagerV1, SCREENCOPY, 3)
        # Version 3 lists every buffer type, then buffer_done; older ones send only "buffer".
        self._lists_buffers = connection.bound_version(SCREENCOPY, 3) >= 3
        self._buffers: dict[int, _ShmBuffer] = {}  # per output, by index

    def monitors(self) -> list[Region]:
        return self._wl.monitors()

    def capture_region(self) -> Region:
        target, monitors = self._target, self.monitors()
        if isinstance(target, Region):
            return target
        if target == "cursor":
            if self._pointer is None:
                raise DisplayError("capturing the monitor under the pointer needs the remembered pointer")
            x, y = self._pointer()
            return next((m for m in monitors if m.contains(x, y)), monitors[0])
        if target == 0:
            return self._wl.layout()
        if not 1 <= target <= len(monitors):
            raise DisplayError(
                f"no monitor {target}: this display has monitors 1..{len(monitors)} "
                "(0 is all of them together)"
            )
        return monitors[target - 1]

    def capture(self) -> Frame:
        from PIL import Image

        region = self.capture_region()
        hits = [(i, o) for i, o in enumerate(self._wl.outputs) if o.region and _overlaps(o.region, region)]
        if not hits:
            raise DisplayError(f"the region {region} is on no monitor")
        if len(hits) == 1 and hits[0][1].region == region:
            image = self._grab(*hits[0])
        else:
            image = Image.new("RGB", (region.width, region.height))
            for index, output in hits:
                placed = output.region
                if placed is None:
                    continue
                shot = self._grab(index, output)
                if shot.size != (placed.width, placed.height):
                    shot = shot.resize((placed.width, placed.height))
                image.paste(shot, (placed.left - region.left, placed.top - region.top))
        return Frame(image=image, geometry=CaptureGeometry(region, image.width, image.height))

    def _grab(self, index: int, output: Output) -> Image:
        """One frame of ``output`` at its physical resolution, as RGB."""
        from PIL import Image

        state: dict[str, Any] = {}
        with self._wl.lock:
            frame = self._manager.capture_output(0, output.proxy)  # 0: without the cursor, as on X11

            def on_buffer(_f: Any, fmt: int, width: int, height: int, stride: int) -> None:
                if fmt in _BGRX_FORMATS and "shm" not in state:
                    state["shm"] = (fmt, width, height, stride)

            frame.dispatcher["buffer"] = on_buffer
            frame.dispatcher["buffer_done"] = lambda _f: state.__setitem__("described", True)
            frame.dispatcher["flags"] = lambda _f, flags: state.__setitem__("flags", flags)
            frame.dispatcher["ready"] = lambda _f, *_t: state.__setitem__("ready", True)
            frame.dispatcher["failed"] = lambda _f: state.__setitem__("failed", True)
            try:
                listed = self._lists_buffers
                self._wl.dispatch_until(
                    lambda: "failed" in state or ("described" in state if listed else "shm" in state),
                    COPY_TIMEOUT_S, "screencopy buffer",
                )
                if "failed" in state or "shm" not in state:
                    raise DisplayError("the compositor refused to copy the screen (no shared-memory format)")
                buffer = self._buffers.get(index)
                if buffer is None or buffer.key != state["shm"]:
                    if buffer is not None:
                        buffer.close()
                    buffer = self._buffers[index] = _ShmBuffer(self._wl.shm, *state["shm"])
                frame.copy(buffer.buffer)
                self._wl.dispatch_until(
                    lambda: "ready" in state or "failed" in state, COPY_TIMEOUT_S, "screencopy"
                )
                if "failed" in state:
                    raise DisplayError("the compositor failed to copy the screen")
                fmt, width, height, stride = state["shm"]
                # frombytes copies: the shared buffer is reused by the next frame.
                raw = memoryview(buffer.map)
                image = Image.frombytes("RGB", (width, height), raw, "raw", _BGRX_FORMATS[fmt], stride, 1)
                raw.release()
            finally:
                frame.destroy()
        if state.get("flags", 0) & _FLAG_Y_INVERT:
            image = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
        return image

    def poll(self, thumb_size: tuple[int, int] = DEFAULT_THUMB_SIZE) -> Image:
        """A small grey thumbnail of the target, for change detection."""
        return box_reduce(self.capture().image, thumb_size).convert("L")

    def close(self) -> None:
        with self._wl.lock:
            for buffer in self._buffers.values():
                buffer.close()
            self._buffers.clear()


def _overlaps(a: Region, b: Region) -> bool:
    return a.left < b.right and b.left < a.right and a.top < b.bottom and b.top < a.bottom

"""Frames from the screen cast's PipeWire stream (GStreamer ``pipewiresrc``), read only between inputs.

While a full-resolution stream is consumed, Mutter renders and copies every damaged
frame; on a machine without a GPU that made clicks take 90-880 ms
(``shared/wayland-facts.md`` §1a; 10 ms median but 500 ms peaks measured here even
with a lean consumer). So the stream is open only between inputs: a capture opens it
(or reuses it while no input came since, e.g. the settle polls after an action) and
the next input closes it first (``StreamReader.close``). Pausing the pipeline
instead was measured unreliable here: after a resume frames came late or not at all.

The first frame of a fresh connection can be stale: Mutter re-sends what it last
recorded, from before the latest input, and records the damage right after. So the
first frame is used only when no newer one follows within ``SETTLE_S``
(``pick_frame``): a pending damage shows up as a second frame in 120-190 ms here.

In process through PyGObject rather than a ``gst-launch-1.0`` per capture: a process
pays the interpreter, the plugin scan and the PNG round trip each time (200-730 ms measured).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.errors import DisplayError

if TYPE_CHECKING:
    from PIL.Image import Image

log = logging.getLogger(__name__)

_FIRST_FRAME_TIMEOUT_S = 10.0
# How long a fresh connection's first frame must stay the newest to be trusted.
SETTLE_S = 0.25


@dataclass(frozen=True)
class RawFrame:
    """One BGRx frame as it came off the stream, with when it arrived (monotonic)."""

    data: bytes
    width: int
    height: int
    stride: int
    arrived_at: float

    def image(self) -> Image:
        from PIL import Image

        return Image.frombuffer("RGB", (self.width, self.height), self.data, "raw", "BGRX", self.stride, 1)


def pick_frame(frames_since_open: int, newest_age_s: float, fresh_connection: bool) -> bool:
    """Whether the newest frame may be shown now (else wait for another, up to ``SETTLE_S``).

    On a stream that stayed open since the last input every frame is current. On a
    fresh connection the first frame may predate the last input, so it counts only
    once it has stayed the newest for ``SETTLE_S``; any later frame is current.
    """
    if frames_since_open == 0:
        return False
    if not fresh_connection or frames_since_open >= 2:
        return True
    return newest_age_s >= SETTLE_S


class StreamReader:
    """A ``pipewiresrc`` pipeline on one node: opened for captures, closed before input."""

    def __init__(self, node: int, fd: int | None = None) -> None:
        try:
            import gi

            gi.require_version("Gst", "1.0")
            from gi.repository import Gst
        except (ImportError, ValueError) as err:
            raise DisplayError(
                f"cannot load GStreamer for the screen cast: {err} "
                "(apt-get install gir1.2-gstreamer-1.0 gstreamer1.0-pipewire)"
            ) from None
        Gst.init(None)
        if Gst.ElementFactory.find("pipewiresrc") is None:
            raise DisplayError("GStreamer has no pipewiresrc (apt-get install gstreamer1.0-pipewire)")
        self._gst: Any = Gst
        self._node = node
        self._fd = fd
        self._pipeline: Any = None
        self._lock = threading.Lock()  # one capture or close at a time
        self._new = threading.Condition()
        self._latest: Any = None  # (sample, arrived_at)
        self._count = 0
        self._fresh = True

    @property
    def is_open(self) -> bool:
        return self._pipeline is not None

    def _open(self) -> None:
        Gst = self._gst
        source = f"pipewiresrc path={self._node} always-copy=true"
        if self._fd is not None:
            source += f" fd={os.dup(self._fd)}"
        # videoconvert passes Mutter's BGRx through untouched (it converts only when
        # another layout is offered); the sink keeps the newest buffer only.
        pipeline = Gst.parse_launch(
            f"{source} ! videoconvert ! video/x-raw,format=BGRx ! "
            "appsink name=sink max-buffers=1 drop=true sync=false emit-signals=true"
        )
        sink = pipeline.get_by_name("sink")
        sink.connect("new-sample", self._on_sample)
        with self._new:
            self._latest, self._count, self._fresh = None, 0, True
        if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            pipeline.set_state(Gst.State.NULL)
            raise DisplayError("the GNOME screen cast pipeline would not start")
        self._pipeline = pipeline

    def _on_sample(self, sink: Any) -> Any:
        # On GStreamer's streaming thread: keep the newest sample, wake a waiting capture.
        sample = sink.emit("pull-sample")
        with self._new:
            self._latest = (sample, time.monotonic())
            self._count += 1
            self._new.notify_all()
        return self._gst.FlowReturn.OK

    def _error(self) -> str:
        bus = self._pipeline.get_bus() if self._pipeline is not None else None
        message = bus.pop_filtered(self._gst.MessageType.ERROR) if bus is not None else None
        if message is None:
            return "no error reported"
        err, _debug = message.parse_error()
        return str(err.message)

    def frame(self) -> RawFrame:
        """The current screen: the open stream's newest frame, or a trusted one from a new connection."""
        with self._lock:
            if self._pipeline is None:
                self._open()
            deadline = time.monotonic() + _FIRST_FRAME_TIMEOUT_S
            with self._new:
                while True:
                    now = time.monotonic()
                    age = now - self._latest[1] if self._latest is not None else 0.0
                    if pick_frame(self._count, age, self._fresh):
                        sample, arrived = self._latest
                        break
                    if self._count == 0 and now >= deadline:
                        error = self._error()
                        self._close_locked()
                        raise DisplayError(
                            f"no frame from the GNOME screen cast in {_FIRST_FRAME_TIMEOUT_S:g} s ({error})"
                        )
                    wait = SETTLE_S - age if self._count else deadline - now
                    self._new.wait(max(wait, 0.001))
                self._fresh = False  # what follows on this connection is current
            return self._copy(sample, arrived)

    def _copy(self, sample: Any, arrived: float) -> RawFrame:
        caps = sample.get_caps().get_structure(0)
        width, height = caps.get_value("width"), caps.get_value("height")
        buffer = sample.get_buffer()
        ok, info = buffer.map(self._gst.MapFlags.READ)
        if not ok:
            raise DisplayError("could not read a screen cast buffer")
        try:
            data = bytes(info.data)
        finally:
            buffer.unmap(info)
        stride = len(data) // height if height else width * 4
        return RawFrame(data, width, height, stride, arrived)

    def close(self) -> None:
        """Stop reading (before any input, and at the end); the next capture reconnects."""
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        if self._pipeline is not None:
            self._pipeline.set_state(self._gst.State.NULL)
            self._pipeline = None
        with self._new:
            self._latest, self._count = None, 0

"""Frames from the screen cast's PipeWire stream (GStreamer ``pipewiresrc``), read only between inputs.

While a full-resolution stream is consumed, Mutter renders and copies every damaged
frame; on a machine without a GPU that made clicks take 90-880 ms
(``shared/wayland-facts.md`` §1a; 10 ms median but 500 ms peaks measured here even
with a lean consumer). So the stream is open only between inputs: a capture opens it
(or reuses it while no input came since, e.g. the settle polls after an action) and
the next input closes it first (``StreamReader.close``). Measured again on gnome-shell
43 (2 cores, llvmpipe): kept open across input, even capped at 10 frames a second,
a frame recorded after a click still often lacked the window's answer to it (the next
frame waits out the cap), and once a key was doubled (its release came late enough
for autorepeat). Pausing the pipeline instead: after a resume and a repaint, no frame
came within 1 s in 9 of 12 tries.

A fresh connection's first frame shows the stage as Mutter last painted it, which can
be from before the latest input, although Mutter records it after the connection (its
timestamp is no proof). So once that frame is in, the reader has Mutter paint again
(``MutterSession.nudge``: the pointer a pixel away and back; the cursor is drawn into
the frames) and takes the first frame recorded after that (``pick_frame``, by the
buffer's timestamp, which pipewiresrc carries from Mutter on the monotonic clock).
Should no such frame come, the newest is trusted after ``SETTLE_S`` without a newer
one. This replaced waiting for a second frame or ``SETTLE_S`` after the first: a
step's overhead (capture, perform, settle; scripts/bench_platforms.py) went from
240-338 ms to 121-207 ms beside X11's 60-80 ms in the same runs (2.0-2.7x, from
4.0-5.7x); with 2 CPU burners, 386 to 132 ms. What is left: closing (11-14 ms) and
opening (17-30 ms) the connection, its first frame (40-130 ms), and the repaint's
frame (70-100 ms from Mutter's timestamp to its arrival here).

In process through PyGObject rather than a ``gst-launch-1.0`` per capture: a process
pays the interpreter, the plugin scan and the PNG round trip each time (200-730 ms measured).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.errors import DisplayError

if TYPE_CHECKING:
    from PIL.Image import Image

log = logging.getLogger(__name__)

_FIRST_FRAME_TIMEOUT_S = 10.0
_START_TRIES, _START_RETRY_S = 3, 0.2
# How long the newest frame must stay the newest, after the last input and the
# connection too, to be trusted when it was not recorded after them (no repaint came).
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


@dataclass(frozen=True)
class Newest:
    """What is known of the newest frame: when Mutter recorded it, when it arrived (monotonic s)."""

    recorded_at: float | None  # None: the buffer carried no timestamp
    arrived_at: float


def pick_frame(newest: Newest | None, not_before: float, now: float) -> bool:
    """Whether the newest frame shows the screen as it is now (else wait for another).

    ``not_before`` is the latest of the last input (its D-Bus reply came back), the
    connection and the repaint asked for after the connection's first frame (which
    can show an older picture). A frame Mutter recorded after it is current. Anything
    else is trusted only once it stayed the newest for ``SETTLE_S`` after both its
    arrival and ``not_before``: a paint still to come shows up well before that.
    """
    if newest is None:
        return False
    if newest.recorded_at is not None and newest.recorded_at > not_before:
        return True
    return now - max(newest.arrived_at, not_before) >= SETTLE_S


class StreamReader:
    """A ``pipewiresrc`` pipeline on one node: opened for captures, closed before input.

    ``last_input`` says when Mutter last took an input (monotonic s): frames recorded
    before it are not handed out while a newer one may still come. ``repaint`` has
    Mutter paint again and returns a time after which a recorded frame is new.
    """

    def __init__(
        self,
        node: int,
        fd: int | None = None,
        *,
        last_input: Callable[[], float],
        repaint: Callable[[], float],
    ) -> None:
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
        self._last_input = last_input
        self._pipeline: Any = None
        self._lock = threading.Lock()  # one capture or close at a time
        self._new = threading.Condition()
        self._latest: Any = None  # (sample, Newest)
        self._opened_at = 0.0
        self._repaint = repaint
        self._repainted: tuple[float, float] | None = None  # (painted after, last input then)

    @property
    def is_open(self) -> bool:
        return self._pipeline is not None

    @property
    def newest(self) -> Newest | None:
        """What is known of the newest frame on the open stream (None before the first)."""
        with self._new:
            return self._latest[1] if self._latest is not None else None

    def _open(self) -> None:
        """Connect, trying again twice: PipeWire refused a fresh connection now and then.

        Seen about once in 15-20 runs of the GNOME tests, right after a session or the
        portal started (the pipeline's reason was not kept then; the error now says it).
        """
        for attempt in range(_START_TRIES):
            try:
                self._try_open()
                return
            except DisplayError as err:
                if attempt == _START_TRIES - 1:
                    raise
                log.info("%s; trying again", err)
                threading.Event().wait(_START_RETRY_S)

    def _try_open(self) -> None:
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
            self._latest, self._opened_at, self._repainted = None, time.monotonic(), None
        if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            message = pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
            why = str(message.parse_error()[0].message) if message is not None else "no error reported"
            pipeline.set_state(Gst.State.NULL)
            raise DisplayError(f"the GNOME screen cast pipeline would not start ({why})")
        self._pipeline = pipeline

    def _on_sample(self, sink: Any) -> Any:
        # On GStreamer's streaming thread: keep the newest sample, wake a waiting capture.
        sample = sink.emit("pull-sample")
        arrived = time.monotonic()
        recorded = self._recorded_at(sink, sample, arrived)
        with self._new:
            self._latest = (sample, Newest(recorded, arrived))
            self._new.notify_all()
        return self._gst.FlowReturn.OK

    def _recorded_at(self, sink: Any, sample: Any, now: float) -> float | None:
        """When Mutter recorded the frame, on ``time.monotonic``'s clock (None if unknown).

        pipewiresrc stamps a buffer with Mutter's own timestamp less the pipeline's base
        time; the pipeline clock's reading now gives the offset to our monotonic clock.
        """
        Gst = self._gst
        pts = sample.get_buffer().pts
        clock = sink.get_clock()
        if pts == Gst.CLOCK_TIME_NONE or clock is None:
            return None
        second = float(Gst.SECOND)
        on_clock = float(pts + sink.get_base_time()) / second
        return on_clock - float(clock.get_time()) / second + now

    def _error(self) -> str:
        bus = self._pipeline.get_bus() if self._pipeline is not None else None
        message = bus.pop_filtered(self._gst.MessageType.ERROR) if bus is not None else None
        if message is None:
            return "no error reported"
        err, _debug = message.parse_error()
        return str(err.message)

    def frame(self) -> RawFrame:
        """The current screen: the newest frame once it is known to postdate the last input (``pick_frame``).

        On a fresh connection, Mutter is asked to paint again once the first frame is in.
        """
        with self._lock:
            if self._pipeline is None:
                self._open()
            deadline = time.monotonic() + _FIRST_FRAME_TIMEOUT_S
            with self._new:
                while True:
                    newest = self._latest[1] if self._latest is not None else None
                    if newest is not None and self._repainted is None:
                        # A fresh connection's first frames can show the stage as last painted,
                        # before the input: have Mutter paint again, take a frame recorded after.
                        self._new.release()
                        try:
                            painted_after = self._repaint()
                        finally:
                            self._new.acquire()
                        self._repainted = (painted_after, self._last_input())
                        continue
                    now, not_before = time.monotonic(), self._not_before()
                    if pick_frame(newest, not_before, now):
                        sample, newest = self._latest
                        break
                    if newest is None and now >= deadline:
                        error = self._error()
                        self._close_locked()
                        raise DisplayError(
                            f"no frame from the GNOME screen cast in {_FIRST_FRAME_TIMEOUT_S:g} s ({error})"
                        )
                    # Woken by a new frame, or when the newest has been quiet long enough.
                    wait = max(newest.arrived_at, not_before) + SETTLE_S - now if newest else deadline - now
                    self._new.wait(max(wait, 0.001))
            return self._copy(sample, newest.arrived_at)

    def _not_before(self) -> float:
        """A frame recorded after this is current: after the connection, its repaint, and any input since."""
        last_input = self._last_input()
        if self._repainted is None:
            return max(last_input, self._opened_at)
        painted_after, input_then = self._repainted
        # The repaint's own second move (back) does not count as input: only a later one does.
        return max(self._opened_at, painted_after, last_input if last_input > input_then else painted_after)

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
        """Stop reading (at the end of the run, or after an error); a later capture reconnects."""
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        if self._pipeline is not None:
            self._pipeline.set_state(self._gst.State.NULL)
            self._pipeline = None
        with self._new:
            self._latest = None

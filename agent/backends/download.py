"""Downloading a snapshot with one progress line that a stop token or Ctrl+C can end.

``snapshot_download`` reports through a tqdm class; ``tqdm_class_for`` hands it a
stand-in that turns byte counts into ``ProgressUpdate`` lines (size, speed, time left)
and raises ``StoppedError`` inside the chunk loop once ``cancel`` is set, so the file in
flight is abandoned and its temporary file deleted by huggingface_hub. The download runs
on a worker thread while the caller only waits, which keeps Ctrl+C prompt.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agent.errors import StoppedError
from agent.progress import ProgressUpdate

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

# huggingface_hub reads the response in chunks of this many bytes and reports (and so
# lets us stop) only between chunks; its default of 10 MB is a second or more apart.
CHUNK_BYTES = 1024 * 1024
# How often the progress line may change; more is flicker, not information.
UPDATE_EVERY_S = 0.5
# A stopped download thread gets this long to leave its current chunk before we return.
STOP_GRACE_S = 5.0


def format_bytes(count: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{int(count)} B"


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def download_line(model: str, done: int, total: int | None, elapsed_s: float) -> str:
    """``downloading M: 1.2 GB of 17.5 GB (7%), 45.3 MB/s, 6 min 01 s left``."""
    # Under a second the rate is mostly connection set-up: no speed or time left yet.
    speed = done / elapsed_s if elapsed_s >= 1 else 0.0
    text = f"downloading {model}: {format_bytes(done)}"
    if total:
        text += f" of {format_bytes(total)} ({min(100, int(100 * done / total))}%)"
    if speed > 0:
        text += f", {format_bytes(speed)}/s"
        if total and total > done:
            text += f", {format_duration((total - done) / speed)} left"
    return text


def run_interruptibly(
    work: Callable[[], Any],
    cancel: threading.Event,
    deadline_s: float | None,
    name: str,
    on_stop: Callable[[], None] = lambda: None,
) -> tuple[bool, Any]:
    """Runs ``work`` on a daemon thread; returns (finished, result), re-raising its exception.

    The caller's thread only waits, so Ctrl+C (KeyboardInterrupt in the main thread) and
    the stop token end the wait at once; ``cancel`` is set either way so the work can
    notice. Not finished by the deadline: (False, None).
    """
    box: dict[str, Any] = {}
    done = threading.Event()

    def body() -> None:
        try:
            box["result"] = work()
        except BaseException as err:  # noqa: BLE001 - handed to the waiting thread
            box["error"] = err
        finally:
            done.set()

    thread = threading.Thread(target=body, name=name, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        while not done.wait(0.1):
            if cancel.is_set():
                raise StoppedError("stopped while getting the model")
            if deadline_s is not None and time.monotonic() - started > deadline_s:
                return False, None
    except (KeyboardInterrupt, StoppedError):
        cancel.set()
        on_stop()
        done.wait(STOP_GRACE_S)  # let a download leave its chunk and delete its temporary file
        raise StoppedError("stopped while getting the model") from None
    if "error" in box:
        raise box["error"]
    return True, box.get("result")


class DownloadTracker:
    """Shared state of one download: bytes written so far, the stop token, the progress line."""

    def __init__(self, model: str, total: int | None, progress: Progress, cancel: threading.Event) -> None:
        self.model = model
        self.total = total
        self.done = 0
        self.cancel = cancel
        self._progress = progress
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._last_said = 0.0

    def add(self, count: int) -> None:
        if self.cancel.is_set():
            # Raised inside huggingface_hub's chunk loop: the file in flight is abandoned
            # and its temporary file deleted; nothing half-written reaches the cache.
            raise StoppedError("download stopped")
        with self._lock:
            self.done += count
            now = time.monotonic()
            if now - self._last_said < UPDATE_EVERY_S:
                return
            self._last_said = now
            line = download_line(self.model, self.done, self.total, now - self._started)
        self._progress(ProgressUpdate(line))

    def file_done(self) -> None:
        if self.cancel.is_set():
            raise StoppedError("download stopped")

    def finish(self) -> None:
        """The final state, so the line does not stay at the last throttled update."""
        line = download_line(self.model, self.done, self.total or self.done, time.monotonic() - self._started)
        self._progress(ProgressUpdate(line))


def tqdm_class_for(tracker: DownloadTracker) -> type[Any]:
    """A class that stands in for tqdm in ``snapshot_download`` and reports to ``tracker``.

    snapshot_download makes three bars with it: files fetched (no unit), bytes received
    from the network ("Downloading bytes") and bytes written ("Reconstructing"); only
    the written bytes and finished files are reported, so nothing is counted twice.
    """

    class TrackerBar:
        def __init__(self, iterable: Any = None, *args: Any, **kwargs: Any) -> None:
            self.iterable = iterable
            self.n = kwargs.get("initial", 0) or 0
            self.total = kwargs.get("total")
            desc = str(kwargs.get("desc") or "")
            if kwargs.get("unit") != "B":
                self.role = "files"
            elif desc.startswith("Downloading bytes"):
                self.role = "transfer"
            else:
                self.role = "bytes"
            self.format_dict: dict[str, Any] = {"rate": None}

        def update(self, n: float | None = 1) -> None:
            count = int(n or 0)
            self.n += count
            if self.role == "bytes":
                tracker.add(count)
            elif self.role == "files":
                tracker.file_done()

        def __iter__(self) -> Iterator[Any]:
            for item in self.iterable or ():
                yield item
                self.update(1)

        def __enter__(self) -> TrackerBar:
            return self

        def __exit__(self, *exc: object) -> None:
            self.close()

        def close(self) -> None:
            pass

        def refresh(self, *args: Any, **kwargs: Any) -> None:
            pass

        def set_description(self, *args: Any, **kwargs: Any) -> None:
            pass

        def set_description_str(self, *args: Any, **kwargs: Any) -> None:
            pass

        def set_postfix_str(self, *args: Any, **kwargs: Any) -> None:
            pass

    return TrackerBar


@contextmanager
def _chunk_size(size: int) -> Iterator[None]:
    from huggingface_hub import constants

    before = constants.DOWNLOAD_CHUNK_SIZE
    constants.DOWNLOAD_CHUNK_SIZE = size
    try:
        yield
    finally:
        constants.DOWNLOAD_CHUNK_SIZE = before


def download(
    repo_id: str,
    total_bytes: int | None,
    *,
    progress: Progress,
    cancel: threading.Event,
    allow_patterns: list[str],
    cache_dir: str | None = None,
    endpoint: str | None = None,
) -> Path:
    """Fetches the main revision of ``repo_id`` into the cache, reporting and checking ``cancel``.

    A stop raises ``StoppedError``; any other failure is huggingface_hub's own exception.
    """
    from huggingface_hub import constants, snapshot_download

    tracker = DownloadTracker(repo_id, total_bytes, progress, cancel)
    where = cache_dir or constants.HF_HUB_CACHE
    size = format_bytes(total_bytes) if total_bytes else "size unknown"
    progress(f"downloading {repo_id} ({size}) into {where}")

    def work() -> str:
        with _chunk_size(CHUNK_BYTES):
            return str(
                # The branch, not a commit: only then does the cache record refs/main,
                # which is how the next run finds this snapshot without the network.
                snapshot_download(
                    repo_id,
                    cache_dir=cache_dir,
                    endpoint=endpoint,
                    allow_patterns=allow_patterns,
                    tqdm_class=tqdm_class_for(tracker),
                )
            )

    _, folder = run_interruptibly(work, cancel, None, "hub-download", on_stop=_abort_xet)
    tracker.finish()
    return Path(folder)


def _abort_xet() -> None:
    """Ends Xet transfers now; what huggingface_hub itself does on KeyboardInterrupt.

    Xet-stored files (most large repos) are fetched by hf_xet's Rust threads, whose
    progress callback may not pass our StoppedError on; without this a stop would
    wait for the shard in flight (gigabytes). A private helper, hence the guard.
    """
    try:
        from huggingface_hub.utils._xet import abort_xet_session
    except ImportError:
        return
    try:
        abort_xet_session()  # type: ignore[no-untyped-call]
    except Exception as err:  # noqa: BLE001 - best effort; the chunk check still applies
        log.debug("could not abort the Xet session: %s", err)

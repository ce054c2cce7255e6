"""Where a model's files are: a local folder, the Hugging Face cache, or a download with progress.

``from_pretrained`` on a hub id retries the network for about 25 s before it says the
model is missing, and shows no progress of its own through our callback. So the local
backend first resolves the model to a folder here, and only then loads from that
folder: a folder or a complete cached snapshot needs no network at all; offline (or with
the Hub unreachable) a missing model fails in seconds with one line that names the
``hf download`` command; online, ``snapshot_download`` fetches it while a tqdm stand-in
turns its byte counts into one updating progress line and checks the stop token.

Files are only ever published into the cache complete (huggingface_hub downloads to a
uniquely named ``.incomplete`` file and renames it when its size checks out), and a
snapshot counts as usable only when every weight shard its index names is present, so
a stopped download is never mistaken for a model.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from agent.errors import BackendError, StoppedError
from agent.progress import ProgressUpdate

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

# The Hub answers a metadata request in well under a second; waiting longer than this
# only delays the "not on this machine" line (a hanging DNS lookup is not bounded by
# httpx's own timeout, hence the thread and the deadline around the probe).
PROBE_TIMEOUT_S = 4.0
# What a Qwen3-VL checkpoint needs; leaves out READMEs, pickled *.bin weights, GGUF and
# ONNX variants some repos carry next to the safetensors.
ALLOW_PATTERNS = ["*.json", "*.safetensors", "*.jinja", "*.txt", "*.model", "*.tiktoken"]
# huggingface_hub reads the response in chunks of this many bytes and reports (and so
# lets us stop) only between chunks; its default of 10 MB is a second or more apart.
CHUNK_BYTES = 1024 * 1024
# How often the progress line may change; more is flicker, not information.
UPDATE_EVERY_S = 0.5
# A stopped download thread gets this long to leave its current chunk before we return.
STOP_GRACE_S = 5.0

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class ModelSource(StrEnum):
    LOCAL = "local folder"
    CACHE = "Hugging Face cache"
    DOWNLOADED = "downloaded"


@dataclass(frozen=True)
class ModelLocation:
    """A model as the user named it, and the local folder ``from_pretrained`` is given."""

    model: str
    path: Path
    source: ModelSource


# ---------------------------------------------------------------------------- pure parts


def looks_like_path(model: str) -> bool:
    """A hub id is ``owner/name``; anything else that names a file system place is a path."""
    return model.startswith((".", "/", "~")) or model.count("/") > 1 or "\\" in model


def is_hub_id(model: str) -> bool:
    return bool(_HUB_ID.match(model)) and ".." not in model


def hf_command(executable: str = sys.executable, exists: Callable[[Path], bool] = Path.is_file) -> str:
    """The ``hf`` CLI next to this Python (the venv's), since the venv is rarely on PATH."""
    candidate = Path(executable).parent / "hf"
    return str(candidate) if exists(candidate) else "hf"


def is_wanted(name: str) -> bool:
    """Whether a repo file is one ``ALLOW_PATTERNS`` selects (fnmatch, as huggingface_hub does)."""
    return any(fnmatch.fnmatch(name, pattern) for pattern in ALLOW_PATTERNS)


def missing_files(present: Collection[str], index_text: str | None) -> list[str]:
    """What a checkpoint folder still lacks for ``from_pretrained``: config and every weight shard.

    ``present`` are the folder's relative file names; ``index_text`` the content of
    ``model.safetensors.index.json`` when it is there (its ``weight_map`` names the shards).
    """
    missing = [] if "config.json" in present else ["config.json"]
    if index_text is not None:
        try:
            shards = sorted(set(json.loads(index_text)["weight_map"].values()))
        except (ValueError, KeyError, TypeError, AttributeError):
            return [*missing, "model.safetensors.index.json (unreadable)"]
        missing += [shard for shard in shards if shard not in present]
    elif "model.safetensors" not in present:
        missing.append("model.safetensors")
    return missing


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


def not_here_message(model: str, why: str, hf: str, missing: Collection[str] = ()) -> str:
    """The one line for a model that is not on this machine and cannot be fetched now."""
    what = (
        f"the cached copy of {model} is incomplete (missing {', '.join(list(missing)[:2])})"
        if missing
        else f"{model} is not on this machine"
    )
    return f"{what} and {why}: get it with `{hf} download {model}`, or pass a local folder with --model"


# ---------------------------------------------------------------------------- side effects


def _folder_missing(folder: Path) -> list[str]:
    present = {
        str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()
    }  # is_file follows the cache's symlinks: a dangling one does not count
    index = folder / "model.safetensors.index.json"
    return missing_files(present, index.read_text(encoding="utf-8") if index.is_file() else None)


def cached_snapshot(repo_id: str, cache_dir: str | None = None) -> tuple[Path | None, list[str]]:
    """The cached snapshot folder of ``repo_id`` (main revision) and what it lacks; no network.

    huggingface_hub itself knows a snapshot is incomplete when it kept the file list of
    the download (IncompleteSnapshotError); our own check also covers caches filled
    file by file (by ``from_pretrained`` on a hub id), which keep no such list.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import IncompleteSnapshotError

    try:
        folder = Path(snapshot_download(repo_id, cache_dir=cache_dir, local_files_only=True))
    except IncompleteSnapshotError as err:
        folder = Path(err.snapshot_path)
        return folder, _folder_missing(folder) or ["files the Hub listed"]
    except Exception as err:  # noqa: BLE001 - any other reason it is not usable means "not cached"
        log.debug("no usable cached snapshot of %s: %s", repo_id, err)
        return None, []
    return folder, _folder_missing(folder)


@dataclass(frozen=True)
class RemoteModel:
    sha: str
    size: int | None  # bytes of the files ALLOW_PATTERNS selects, when the Hub lists sizes


def _run_bounded(
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


def probe(repo_id: str, *, endpoint: str | None, cancel: threading.Event) -> RemoteModel:
    """The model's current commit and size on the Hub; a one-line ``BackendError`` otherwise."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

    api = HfApi(endpoint=endpoint)
    hf = hf_command()
    try:
        finished, info = _run_bounded(
            lambda: api.model_info(repo_id, files_metadata=True, timeout=PROBE_TIMEOUT_S),
            cancel,
            PROBE_TIMEOUT_S + 0.5,
            "hub-probe",
        )
    except GatedRepoError:
        raise BackendError(
            f"{repo_id} is gated: accept its terms on its Hub page, then log in with `{hf} auth login`"
        ) from None
    except RepositoryNotFoundError:
        raise BackendError(
            f"{repo_id} is not a model on the Hugging Face Hub (check the name; a private one needs "
            f"`{hf} auth login`), and it is not on this machine"
        ) from None
    except HfHubHTTPError as err:
        raise BackendError(not_here_message(repo_id, f"the Hub answered {_first_line(err)}", hf)) from None
    except StoppedError:
        raise
    except Exception as err:  # noqa: BLE001 - connection failures of every kind read the same
        why = f"the Hub cannot be reached ({_first_line(err)})"
        raise BackendError(not_here_message(repo_id, why, hf)) from None
    if not finished:
        raise BackendError(
            not_here_message(repo_id, f"the Hub did not answer within {PROBE_TIMEOUT_S:.0f} s", hf)
        )
    if not info.sha:
        raise BackendError(f"the Hub sent no revision for {repo_id}")
    sizes = {s.rfilename: s.size for s in info.siblings or []}
    wanted = [name for name in sizes if is_wanted(name)]
    known = bool(wanted) and all(sizes[f] is not None for f in wanted)
    size = sum(sizes[f] or 0 for f in wanted) if known else None
    return RemoteModel(sha=str(info.sha), size=size)


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
    remote: RemoteModel,
    *,
    progress: Progress,
    cancel: threading.Event,
    cache_dir: str | None = None,
    endpoint: str | None = None,
) -> Path:
    """Fetches the main revision into the cache, reporting progress and checking ``cancel``."""
    from huggingface_hub import snapshot_download

    tracker = DownloadTracker(repo_id, remote.size, progress, cancel)
    where = cache_dir or _cache_root()
    progress(
        f"downloading {repo_id} ({format_bytes(remote.size) if remote.size else 'size unknown'}) into {where}"
    )

    def work() -> str:
        with _chunk_size(CHUNK_BYTES):
            return str(
                # The branch, not remote.sha: only then does the cache record refs/main,
                # which is how the next run finds this snapshot without the network.
                snapshot_download(
                    repo_id,
                    cache_dir=cache_dir,
                    endpoint=endpoint,
                    allow_patterns=ALLOW_PATTERNS,
                    tqdm_class=tqdm_class_for(tracker),
                )
            )

    try:
        _, folder = _run_bounded(work, cancel, None, "hub-download", on_stop=_abort_xet)
    except StoppedError:
        raise
    except Exception as err:  # noqa: BLE001 - every download failure is one line for the user
        raise BackendError(
            f"downloading {repo_id} failed: {_first_line(err)}; run it again to resume, or use "
            f"`{hf_command()} download {repo_id}`"
        ) from None
    tracker.finish()
    return Path(folder)


def find_local(
    model: str, *, offline: bool | None = None, cache_dir: str | None = None
) -> ModelLocation | None:
    """``model`` as a local folder or a complete cached snapshot, with no network; None: fetch it.

    ``offline`` defaults to huggingface_hub's own setting (``HF_HUB_OFFLINE``); offline,
    a model that would need fetching is a one-line ``BackendError`` right here.
    """
    expanded = Path(os.path.expanduser(model))
    if looks_like_path(model) or expanded.is_dir():
        if not expanded.is_dir():
            raise BackendError(f"model folder {model} does not exist")
        return ModelLocation(model, expanded.resolve(), ModelSource.LOCAL)
    if not is_hub_id(model):
        raise BackendError(f"{model!r} is neither a folder nor a Hugging Face model id (owner/name)")
    from huggingface_hub import constants

    snapshot, missing = cached_snapshot(model, cache_dir)
    if snapshot is not None and not missing:
        return ModelLocation(model, snapshot, ModelSource.CACHE)
    if offline if offline is not None else constants.is_offline_mode():
        why = "downloads are off (HF_HUB_OFFLINE=1)"
        raise BackendError(not_here_message(model, why, hf_command(), missing))
    return None


def fetch(
    model: str,
    *,
    progress: Progress,
    cancel: threading.Event | None = None,
    cache_dir: str | None = None,
    endpoint: str | None = None,
    remote: RemoteModel | None = None,
) -> ModelLocation:
    """Downloads hub id ``model`` into the cache (resuming what an earlier try left) and checks it.

    ``remote`` is what an earlier ``probe`` found; without it the Hub is asked first.
    """
    cancel = cancel or threading.Event()
    remote = remote or probe(model, endpoint=endpoint, cancel=cancel)
    folder = download(model, remote, progress=progress, cancel=cancel, cache_dir=cache_dir, endpoint=endpoint)
    still_missing = _folder_missing(folder)
    if still_missing:
        raise BackendError(
            f"{model} on the Hub has no loadable checkpoint (missing {', '.join(still_missing[:2])})"
        )
    return ModelLocation(model, folder, ModelSource.DOWNLOADED)


def resolve_model(
    model: str,
    *,
    progress: Progress,
    cancel: threading.Event | None = None,
    offline: bool | None = None,
    cache_dir: str | None = None,
    endpoint: str | None = None,
) -> ModelLocation:
    """The folder to load ``model`` from: a local folder, a complete cached snapshot, or a download.

    Every failure is a one-line ``BackendError``; a stop (token or Ctrl+C) is ``StoppedError``.
    """
    found = find_local(model, offline=offline, cache_dir=cache_dir)
    if found is not None:
        return found
    return fetch(model, progress=progress, cancel=cancel, cache_dir=cache_dir, endpoint=endpoint)


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


def _cache_root() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__

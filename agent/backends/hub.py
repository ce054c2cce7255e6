"""Where a model's files are: a local folder, the Hugging Face cache, or a download with progress.

``from_pretrained`` on a hub id retries the network for about 25 s before it says the
model is missing, and shows no progress of its own through our callback. So the local
backend first resolves the model to a folder here, and only then loads from that
folder: a folder or a complete cached snapshot needs no network at all; offline (or with
the Hub unreachable) a missing model fails in seconds with one line that names the
``hf download`` command; online, ``agent.backends.download`` fetches it with one
updating progress line, stoppable by the stop token or Ctrl+C.

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
from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from agent.backends.download import download, run_interruptibly
from agent.errors import BackendError, ModelMissingError, StoppedError

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

# The Hub answers a metadata request in well under a second; waiting longer than this
# only delays the "not on this machine" line (a hanging DNS lookup is not bounded by
# httpx's own timeout, hence the thread and the deadline around the probe).
PROBE_TIMEOUT_S = 4.0
# What a Qwen3-VL checkpoint needs; leaves out READMEs, pickled *.bin weights, GGUF and
# ONNX variants some repos carry next to the safetensors.
ALLOW_PATTERNS = ["*.json", "*.safetensors", "*.jinja", "*.txt", "*.model", "*.tiktoken"]

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


def not_here_message(model: str, why: str, hf: str, missing: Collection[str] = ()) -> str:
    """The one line for a model that is not on this machine and cannot be fetched now."""
    what = _not_here(model, why, missing)
    return f"{what}: get it with `{hf} download {model}`, or pass a local folder with --model"


def _not_here(model: str, why: str, missing: Collection[str] = ()) -> str:
    what = (
        f"the cached copy of {model} is incomplete (missing {', '.join(list(missing)[:2])})"
        if missing
        else f"{model} is not on this machine"
    )
    return f"{what} and {why}"


def _missing(model: str, why: str, hf: str, missing: Collection[str] = ()) -> ModelMissingError:
    return ModelMissingError(not_here_message(model, why, hf, missing), model, _not_here(model, why, missing))


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


def probe(repo_id: str, *, endpoint: str | None, cancel: threading.Event) -> RemoteModel:
    """The model's current commit and size on the Hub; a one-line ``BackendError`` otherwise."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

    api = HfApi(endpoint=endpoint)
    hf = hf_command()
    try:
        finished, info = run_interruptibly(
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
        why = f"the Hub answered {_first_line(err)}"
        raise _missing(repo_id, why, hf) from None
    except StoppedError:
        raise
    except Exception as err:  # noqa: BLE001 - connection failures of every kind read the same
        why = f"the Hub cannot be reached ({_first_line(err)})"
        raise _missing(repo_id, why, hf) from None
    if not finished:
        raise _missing(repo_id, f"the Hub did not answer within {PROBE_TIMEOUT_S:.0f} s", hf)
    if not info.sha:
        raise BackendError(f"the Hub sent no revision for {repo_id}")
    sizes = {s.rfilename: s.size for s in info.siblings or []}
    wanted = [name for name in sizes if is_wanted(name)]
    known = bool(wanted) and all(sizes[f] is not None for f in wanted)
    size = sum(sizes[f] or 0 for f in wanted) if known else None
    return RemoteModel(sha=str(info.sha), size=size)


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
            raise ModelMissingError(f"model folder {model} does not exist", model)
        return ModelLocation(model, expanded.resolve(), ModelSource.LOCAL)
    if not is_hub_id(model):
        raise BackendError(f"{model!r} is neither a folder nor a Hugging Face model id (owner/name)")
    from huggingface_hub import constants

    snapshot, missing = cached_snapshot(model, cache_dir)
    if snapshot is not None and not missing:
        return ModelLocation(model, snapshot, ModelSource.CACHE)
    if offline if offline is not None else constants.is_offline_mode():
        why = "downloads are off (HF_HUB_OFFLINE=1)"
        raise _missing(model, why, hf_command(), missing)
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
    try:
        folder = download(
            model,
            remote.size,
            progress=progress,
            cancel=cancel,
            allow_patterns=ALLOW_PATTERNS,
            cache_dir=cache_dir,
            endpoint=endpoint,
        )
    except StoppedError:
        raise
    except Exception as err:  # noqa: BLE001 - every download failure is one line for the user
        raise BackendError(
            f"downloading {model} failed: {_first_line(err)}; run it again to resume, or use "
            f"`{hf_command()} download {model}`"
        ) from None
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


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__

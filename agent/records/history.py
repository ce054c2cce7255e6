"""Run history on disk: one private folder per run with run.json, steps.jsonl and screenshots.

Layout, under a root such as ``~/.local/share/deskpilot/runs`` (every folder 0700,
every file 0600, since screenshots and typed text may be private)::

    20250102-130405-open-the-notes-app/
        run.json        RunInfo, rewritten atomically when the run ends
        steps.jsonl     one StepRecord per line, appended and fsynced as each step ends
        step-0001.png   the screenshot the model saw at that step, when kept

A run killed mid-way (SIGKILL, power cut) keeps outcome "running" in run.json and
every step that finished; readers count the steps from steps.jsonl, and call it
"interrupted" once the process that wrote it (pid, host and boot in run.json) is gone.

A run's harness queues its steps (``queue_step``): a writer thread encodes the PNG
(about 0.1 s for a text-heavy full-HD screen) and appends the line while the next step
captures and asks the model, and ``flush`` (called before the next action is
performed) waits for it, so a finished step is still on disk before anything else
happens on the screen.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import logging
import os
import queue
import re
import socket
import tempfile
import threading
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from pydantic import ValidationError

from agent.errors import ConfigError, HistoryError
from agent.records.files import open_private, save_image_private, write_private_atomic
from agent.records.schema import Outcome, RunInfo, StepRecord
from agent.validation import one_line

if TYPE_CHECKING:
    from PIL.Image import Image


log = logging.getLogger(__name__)

RUN_FILE = "run.json"
STEPS_FILE = "steps.jsonl"
LATEST = "latest"
SLUG_CHARS = 30
_MAX_SUFFIX = 1000
_ID_TIME = "%Y%m%d-%H%M%S"


def default_history_dir() -> Path:
    """Where runs are kept unless the caller says otherwise (``--history-dir``)."""
    return platformdirs.user_data_path("deskpilot") / "runs"


def ensure_history_root(root: Path) -> None:
    """Make the history folder (0700) and prove a file can be written there, before a run starts.

    Permission bits do not stop root, a read-only or full file system does: so a real
    write is tried. HistoryError (one line) when it fails.
    """
    _make_private_dirs(root)
    try:
        fd, name = tempfile.mkstemp(dir=root, prefix=".probe-")
    except OSError as err:
        raise HistoryError(f"cannot write to the history folder {root}: {err.strerror}") from None
    try:
        os.write(fd, b"deskpilot")
    except OSError as err:
        raise HistoryError(f"cannot write to the history folder {root}: {err.strerror}") from None
    finally:
        os.close(fd)
        Path(name).unlink(missing_ok=True)


class RunRecorder:
    """Writes one run as it happens; every method leaves the folder readable if the process dies."""

    def __init__(self, run_dir: Path, info: RunInfo) -> None:
        self._run_dir = run_dir
        self._info = info
        self._steps = 0
        self._jobs: queue.Queue[Callable[[], object] | None] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._failed: HistoryError | None = None  # what the writer thread could not write
        self._told = False  # whether ``flush`` raised ``_failed`` to someone already
        self._encoder: concurrent.futures.ThreadPoolExecutor | None = None
        self._encoded: dict[int, tuple[Image, concurrent.futures.Future[bytes]]] = {}

    @classmethod
    def start(cls, root: Path, info: RunInfo) -> RunRecorder:
        """Create the run's folder under ``root`` and write run.json with outcome "running".

        The id in ``info`` is replaced by a new one, ``YYYYMMDD-HHMMSS-<task slug>`` from
        ``info.started_at`` in UTC (now, when it is empty), with ``-2``, ``-3``... when a
        run with that id exists already.
        """
        if not info.started_at:
            info = info.model_copy(update={"started_at": _now()})
        _make_private_dirs(root)
        base = f"{_id_time(info.started_at)}-{_slug(info.task)}"
        run_dir = _make_run_dir(root, base)
        writer = {"pid": os.getpid(), "host": socket.gethostname(), "boot_id": _boot_id()}
        recorder = cls(run_dir, info.model_copy(update={"id": run_dir.name, "outcome": "running", **writer}))
        recorder._write_info()
        return recorder

    @property
    def run_dir(self) -> Path:
        return self._run_dir

    @property
    def info(self) -> RunInfo:
        return self._info

    def record_step(self, step: StepRecord, screenshot: Image | None = None) -> StepRecord:
        """Keep ``screenshot`` as step-NNNN.png and append ``step`` to steps.jsonl, on disk on return.

        Returns the record as stored: a copy of ``step`` naming its screenshot file.
        """
        self.flush()  # queued steps first: the file keeps the steps' order
        return self._write_step(step, screenshot)

    def queue_step(self, step: StepRecord, screenshot: Image | None = None) -> StepRecord:
        """``record_step`` on the writer thread: returns at once, on disk by the next ``flush``.

        Returns the record as it will be stored (naming its screenshot file). A write that
        fails is raised by the next ``flush``; later steps are not written after it.
        """
        step = step.model_copy(deep=True)  # the caller may go on changing its record; this one is written
        stored = step.model_copy(update={"screenshot": _screenshot_name(step.number)}) if screenshot else step
        if self._writer is None:
            self._writer = threading.Thread(target=self._work, name="history-writer", daemon=True)
            self._writer.start()
        self._jobs.put(functools.partial(self._write_step, step, screenshot))
        return stored

    def flush(self) -> None:
        """Wait until every queued step is on disk; HistoryError when the writer could not write one."""
        if self._writer is not None:
            self._jobs.join()
        if self._failed is not None:
            self._told = True
            raise self._failed

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                if self._failed is None:  # after a failed step, none after it is written
                    job()
            except HistoryError as err:
                self._failed = err
            except Exception as err:  # a bug must not hang flush() or pass silently
                log.exception("the history writer failed")
                self._failed = HistoryError(f"cannot write the step record: {err}")
            finally:
                self._jobs.task_done()
        self._jobs.task_done()

    def _stop_writer(self) -> None:
        if self._writer is not None:
            self._jobs.put(None)
            self._writer.join()
            self._writer = None
        if self._encoder is not None:
            self._encoder.shutdown(wait=True)
            self._encoder = None
            self._encoded.clear()

    def prepare_screenshot(self, number: int, screenshot: Image) -> None:
        """Start encoding step ``number``'s screenshot now, on the encoder thread.

        The harness calls this as soon as the frame is captured, so the PNG (the costly
        part of a step's record) is made while the step plans, acts and settles; the step's
        ``queue_step`` or ``record_step`` with the same image then only writes the bytes.
        """
        if self._encoder is None:
            self._encoder = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="history-encoder")
        self._encoded[number] = (screenshot, self._encoder.submit(_png_bytes, screenshot))

    def _write_step(self, step: StepRecord, screenshot: Image | None) -> StepRecord:
        prepared = self._encoded.pop(step.number, None)
        if screenshot is not None:
            name = _screenshot_name(step.number)
            try:
                if prepared is not None and prepared[0] is screenshot:
                    _write_private(prepared[1].result(), self._run_dir / name)
                else:
                    save_image_private(screenshot, self._run_dir / name)
            except (OSError, ConfigError) as err:
                reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
                raise HistoryError(f"cannot save the screenshot {self._run_dir / name}: {reason}") from None
            step = step.model_copy(update={"screenshot": name})
        path = self._run_dir / STEPS_FILE
        created = not path.exists()
        line = (step.model_dump_json() + "\n").encode("utf-8")
        try:
            fd = open_private(path, "ab")
        except OSError as err:
            raise HistoryError(f"cannot write {path}: {err.strerror}") from None
        try:
            _append_line(fd, line, path)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(self._run_dir)  # so the new file's name survives a power cut too
        self._steps += 1
        return step

    def finish(self, outcome: Outcome, detail: str = "") -> None:
        """Rewrite run.json, atomically, with how the run ended and its step count (see ``info``).

        Queued steps are written first. A queued step that could not be written, and that
        no ``flush`` reported, makes the run an error: raised after run.json says so.
        """
        self._stop_writer()
        untold = self._failed if self._failed is not None and not self._told else None
        if untold is not None and outcome != "stopped":
            outcome, detail = "error", f"{detail}; and {untold}" if detail else str(untold)
        self._info = self._info.model_copy(
            update={"ended_at": _now(), "outcome": outcome, "detail": detail, "steps": self._steps}
        )
        try:
            self._write_info()
        except HistoryError:
            # A full disk has no room for the temporary copy an atomic rewrite needs, but
            # run.json's own blocks hold the new header: without this, a run that ended
            # because the disk filled up would say "running" for ever.
            self._write_info_in_place()
        if untold is not None:
            self._told = True
            raise untold

    def _write_info_in_place(self) -> None:
        path = self._run_dir / RUN_FILE
        try:
            fd = open_private(path)
        except OSError as err:
            raise HistoryError(f"cannot write {path}: {err.strerror}") from None
        try:
            _append_line(fd, (self._info.model_dump_json(indent=2) + "\n").encode(), path)
        finally:
            os.close(fd)

    def _write_info(self) -> None:
        _write_atomic(self._run_dir / RUN_FILE, (self._info.model_dump_json(indent=2) + "\n").encode())


def _screenshot_name(number: int) -> str:
    return f"step-{number:04d}.png"


def _png_bytes(image: Image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _write_private(data: bytes, path: Path) -> None:
    """``data`` as the private file ``path``; nothing left behind when the write fails."""
    fd = open_private(path)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except OSError:
        path.unlink(missing_ok=True)  # a half-written picture is worse than none
        raise
    finally:
        os.close(fd)


def list_runs(root: Path) -> list[RunInfo]:
    """Every run under ``root``, newest first; a run with a broken run.json has outcome "error"."""
    runs = [_read_info_or_error(run_dir) for run_dir in _run_dirs(root)]
    runs.sort(key=_sort_key, reverse=True)
    return runs


def load_run(root: Path, run_id: str) -> tuple[RunInfo, list[StepRecord]]:
    """The run named by a full id, a unique prefix of one, or "latest", with its steps."""
    run_dir = root / _resolve_id(root, run_id)
    try:
        info = _read_info(run_dir)
    except _BrokenRun as err:
        raise ConfigError(f"run {run_dir.name}: {err}") from None
    steps = read_steps(run_dir / STEPS_FILE)
    if info.outcome == "running":
        # Killed runs never wrote their count; the steps file is the truth.
        info = _interrupted_if_gone(info.model_copy(update={"steps": len(steps)}))
    return info, steps


# Backends whose runs a model planned: the runs fine-tuning and from-run can use.
MODEL_BACKENDS = frozenset({"local", "openai", "script"})


def latest_agent_run(root: Path) -> RunInfo:
    """The newest run a model planned; clicks by name ("ocr") and macro replays are not such runs."""
    for info in list_runs(root):
        if info.backend in MODEL_BACKENDS:
            return info
    raise ConfigError(f"no agent run yet in {root} (clicks by name and macro replays are not agent runs)")


def read_steps(path: Path) -> list[StepRecord]:
    """The steps in a steps.jsonl; a line that is no valid step (a torn write) is skipped, with a warning."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from None
    lines = data.split(b"\n")
    # Every record ends in a newline, so the piece after the last one is either empty
    # or a record the writer did not get to finish.
    tail = lines.pop()
    steps: list[StepRecord] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            steps.append(_parse_step(raw))
        except ValueError as err:
            # A torn or hand-damaged line costs that step, never the rest of the run.
            log.warning("%s: skipped line %d, not a valid step (%s)", path, number, err)
    if tail.strip():
        try:
            steps.append(_parse_step(tail))
        except ValueError as err:
            log.warning("%s: skipped the cut-off last line %d (%s)", path, len(lines) + 1, err)
    return steps


class _BrokenRun(Exception):
    """run.json is missing or unreadable; the message says which, in one line."""


def _parse_step(raw: bytes) -> StepRecord:
    try:
        return StepRecord.model_validate_json(raw)
    except ValidationError as err:
        raise ValueError(one_line(err)) from None


def _read_info(run_dir: Path) -> RunInfo:
    path = run_dir / RUN_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _BrokenRun(f"{RUN_FILE} is missing") from None
    except OSError as err:
        raise _BrokenRun(f"cannot read {RUN_FILE}: {err.strerror}") from None
    try:
        info = RunInfo.model_validate_json(raw)
    except ValidationError as err:
        raise _BrokenRun(f"{RUN_FILE} is not a valid run record: {one_line(err)}") from None
    # The folder name is what users type and what lookups match, so it wins over a copied id.
    return info.model_copy(update={"id": run_dir.name})


def _read_info_or_error(run_dir: Path) -> RunInfo:
    try:
        info = _read_info(run_dir)
    except _BrokenRun as err:
        return RunInfo(
            id=run_dir.name,
            task="",
            backend="",
            model="",
            started_at=_time_from_id(run_dir.name),
            outcome="error",
            detail=str(err),
            steps=_count_lines(run_dir / STEPS_FILE),
        )
    if info.outcome == "running":
        info = _interrupted_if_gone(info.model_copy(update={"steps": _count_lines(run_dir / STEPS_FILE)}))
    return info


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip() or None
    except OSError:
        return None  # not Linux: the pid alone has to do


def writer_gone(info: RunInfo) -> bool:
    """True when the process that wrote this "running" run surely no longer runs.

    Unknown (an older run without a pid, or one written on another host sharing the
    folder) counts as alive: a live run must never be called interrupted.
    """
    if info.pid is None or info.host != socket.gethostname():
        return False
    boot = _boot_id()
    if info.boot_id is not None and boot is not None and info.boot_id != boot:
        return True  # written before this boot: its pid number means another process now
    try:
        os.kill(info.pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # it exists, owned by someone else
    return False


def _interrupted_if_gone(info: RunInfo) -> RunInfo:
    if not writer_gone(info):
        return info
    detail = "its process ended without finishing the run (a crash or a kill)"
    return info.model_copy(update={"outcome": "interrupted", "detail": detail})


def _count_lines(path: Path) -> int:
    """Finished records in a steps.jsonl: each ends in a newline, a cut-off one does not."""
    try:
        return path.read_bytes().count(b"\n")
    except OSError:
        return 0


def prune_runs(root: Path, keep: int) -> list[str]:
    """Delete the oldest finished runs so at most ``keep`` remain; 0 keeps everything.

    Runs still marked "running" are never deleted (one may be in progress in another
    process). Returns the ids removed.
    """
    if keep <= 0:
        return []
    import shutil

    removed: list[str] = []
    for info in list_runs(root)[keep:]:
        if info.outcome == "running":
            continue
        shutil.rmtree(root / info.id, ignore_errors=True)
        removed.append(info.id)
    return removed


def _run_dirs(root: Path) -> list[Path]:
    try:
        entries = list(root.iterdir())
    except FileNotFoundError:
        return []
    except NotADirectoryError:
        raise ConfigError(f"the history folder {root} is not a folder") from None
    except OSError as err:
        raise ConfigError(f"cannot read the history folder {root}: {err.strerror}") from None
    # Dot-folders are not runs (and a crashed editor's or sync tool's files may live there).
    return [entry for entry in entries if entry.is_dir() and not entry.name.startswith(".")]


def _resolve_id(root: Path, run_id: str) -> str:
    if not run_id:
        raise ConfigError("give a run id, a unique start of one, or 'latest'")
    if run_id == LATEST:
        runs = list_runs(root)
        if not runs:
            raise ConfigError(f"no runs yet in {root}")
        return runs[0].id
    names = sorted(entry.name for entry in _run_dirs(root))
    if run_id in names:
        return run_id
    matches = [name for name in names if name.startswith(run_id)]
    if not matches:
        raise ConfigError(f"no run {run_id} in {root}")
    if len(matches) > 1:
        shown = ", ".join(matches[:5]) + (", …" if len(matches) > 5 else "")
        raise ConfigError(f"{run_id} matches several runs: {shown}")
    return matches[0]


def _sort_key(info: RunInfo) -> tuple[datetime, str]:
    try:
        started = _parse_time(info.started_at)
    except ValueError:
        started = datetime.min.replace(tzinfo=UTC)
    return (started, info.id)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    # Records are written in UTC; a time without a zone is read the same way.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _id_time(started_at: str) -> str:
    return _parse_time(started_at).strftime(_ID_TIME)


def _time_from_id(run_id: str) -> str:
    try:
        return datetime.strptime(run_id[:15], _ID_TIME).replace(tzinfo=UTC).isoformat()
    except ValueError:
        return ""


def _slug(task: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", task).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:SLUG_CHARS].rstrip("-") or "run"


def _make_private_dirs(path: Path) -> None:
    """Create ``path`` and any missing parents as 0700; folders that exist are left as they are."""
    if path.is_dir():
        return
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue  # another run made it first; it is not ours to change
        except OSError as err:
            raise HistoryError(f"cannot create the history folder {folder}: {err.strerror}") from None
        os.chmod(folder, 0o700)  # mkdir's mode passes through the umask
    if not path.is_dir():
        raise HistoryError(f"the history folder {path} is not a folder")


def _make_run_dir(root: Path, base: str) -> Path:
    for n in range(1, _MAX_SUFFIX + 1):
        run_dir = root / (base if n == 1 else f"{base}-{n}")
        try:
            # mkdir fails on an existing name, so two recorders never share a folder.
            run_dir.mkdir(mode=0o700)
        except FileExistsError:
            continue
        except OSError as err:
            raise HistoryError(f"cannot create {run_dir}: {err.strerror}") from None
        os.chmod(run_dir, 0o700)
        return run_dir
    raise HistoryError(f"cannot create a run folder in {root}: {base} is taken {_MAX_SUFFIX} times")


def _append_line(fd: int, line: bytes, path: Path) -> None:
    start = os.fstat(fd).st_size
    try:
        view = memoryview(line)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except OSError as err:
        # Take back a half-written line (disk full), or the next step would be glued to it.
        try:
            os.ftruncate(fd, start)
        except OSError:
            log.warning("%s: could not take back a half-written step", path)
        raise HistoryError(f"cannot write {path}: {err.strerror}") from None


def _write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so a reader sees the old file or the new one, never half."""
    try:
        write_private_atomic(path, data)
    except OSError as err:
        raise HistoryError(f"cannot write {path}: {err.strerror}") from None
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a new or renamed name in ``folder`` durable; best effort where folders cannot be opened."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        # Some file systems refuse fsync on folders; the file's own data is synced already.
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)

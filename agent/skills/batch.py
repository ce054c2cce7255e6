"""Batch runs: one skill over every image in a folder, one JSON line per image, resumable.

Each finished image is appended, flushed and fsynced as one line before the next is
counted, so Ctrl+C or a crash keeps every finished line; a torn last line is left
alone and ends with a newline before anything is appended after it. The last line
for an image wins, so ``--resume`` redoes only what is missing or failed; when it
ends, the file is rewritten atomically with that one line per image.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import BackendError, ConfigError, StoppedError
from agent.records.files import open_private, write_private_atomic
from agent.skills.progress import Tally
from agent.skills.runner import SkillJob, SkillOutputError, SkillResult, run_job
from agent.skills.unit import Lang, Skill

if TYPE_CHECKING:
    from agent.backends.base import Backend, ChatRequest, Completion

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"})
OnTally = Callable[[Tally], None]


def list_images(folder: Path) -> list[Path]:
    """The images directly in ``folder``, by name."""
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def finished_images(out: Path) -> set[str]:
    """Images whose last line in ``out`` is a result (not an error); unreadable lines are ignored."""
    if not out.exists():
        return set()
    last: dict[str, bool] = {}
    with out.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by a kill: that image is redone
            if isinstance(item, dict) and isinstance(item.get("image"), str):
                last[item["image"]] = "error" not in item
    return {name for name, ok in last.items() if ok}


def keep_last_lines(out: Path) -> None:
    """Rewrite ``out`` atomically (0600) with one line per image: its last, where its first was.

    A line that is not JSON (torn by a kill) goes: its image was redone or is still pending.
    """
    kept: dict[str, str] = {}  # image -> its last line, in the order images first appeared
    others: list[str] = []
    with out.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue
            text = line if line.endswith("\n") else line + "\n"
            if isinstance(item, dict) and isinstance(item.get("image"), str):
                kept[item["image"]] = text
            else:
                others.append(text)
    write_private_atomic(out, "".join([*kept.values(), *others]).encode("utf-8"))


class LineLog:
    """Appends JSON lines to a private file, each flushed and fsynced; safe from many threads."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        fd = open_private(path, "ab")
        self._handle = os.fdopen(fd, "ab")
        if path.stat().st_size:
            with path.open("rb") as reader:
                reader.seek(-1, os.SEEK_END)
                if reader.read(1) != b"\n":  # a torn line from a kill: keep it on its own line
                    self._write(b"\n")

    def _write(self, data: bytes) -> None:
        self._handle.write(data)
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def append(self, item: dict[str, Any]) -> None:
        data = (json.dumps(item, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            self._write(data)

    def close(self) -> None:
        self._handle.close()


@dataclass(frozen=True)
class BatchSpec:
    skill: Skill
    folder: Path
    out: Path
    options: dict[str, str]
    lang: Lang
    max_pixels: int
    workers: int = 1
    resume: bool = False


@dataclass(frozen=True)
class BatchSummary:
    total: int
    skipped: int  # already finished before this run (--resume)
    done: int
    failed: int
    stopped: bool


def result_line(name: str, result: SkillResult) -> dict[str, Any]:
    v = result.validated
    line: dict[str, Any] = {"image": name, "result": v.data if v.data is not None else v.text}
    if v.markdown is not None:
        line["markdown"] = v.markdown
    line["attempts"] = result.attempts
    return line


def error_line(name: str, err: Exception) -> dict[str, Any]:
    line: dict[str, Any] = {"image": name, "error": str(err)}
    if isinstance(err, SkillOutputError):
        line["raw"] = err.raw  # the model's own words, for a person to look at
    return line


def _job(spec: BatchSpec, path: Path) -> SkillJob:
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        return SkillJob(spec.skill, (image.convert("RGB"),), spec.options, spec.lang, spec.max_pixels)


def _one(spec: BatchSpec, path: Path, complete: Callable[[ChatRequest], Completion]) -> dict[str, Any]:
    try:
        job = _job(spec, path)
    except OSError as err:
        return error_line(path.name, ConfigError(f"cannot read the image: {err}"))
    try:
        return result_line(path.name, run_job(job, complete))
    except (SkillOutputError, BackendError) as err:
        return error_line(path.name, err)


def pending(spec: BatchSpec) -> tuple[list[Path], int]:
    images = list_images(spec.folder)
    if not images:
        raise ConfigError(f"no images (png, jpg, webp, bmp, gif) in {spec.folder}")
    if not spec.resume:
        return images, 0
    done = finished_images(spec.out)
    todo = [p for p in images if p.name not in done]
    return todo, len(images) - len(todo)


def run_batch(
    spec: BatchSpec,
    backend: Backend,
    cancel: threading.Event,
    on_tally: OnTally | None = None,
) -> BatchSummary:
    """Every pending image through the skill: ``workers`` requests at a time (threads), or, for an
    in-process model with ``complete_batch``, ``workers`` images per generate call."""
    todo, skipped = pending(spec)
    if not spec.resume and spec.out.exists():
        spec.out.unlink()  # a fresh run starts a fresh file; --resume appends
    log = LineLog(spec.out)
    started = time.monotonic()
    counts = {"done": 0, "failed": 0}
    total = len(todo) + skipped

    def record(line: dict[str, Any]) -> None:
        log.append(line)
        counts["failed" if "error" in line else "done"] += 1
        if on_tally is not None:
            on_tally(Tally(total, counts["done"] + skipped, counts["failed"], time.monotonic() - started))

    stopped = False
    try:
        if hasattr(backend, "complete_batch"):
            stopped = _in_batches(spec, todo, backend, cancel, record)
        else:
            stopped = _threaded(spec, todo, backend, cancel, record)
    finally:
        log.close()
        if spec.resume:
            keep_last_lines(spec.out)  # the README promises one line per image
    return BatchSummary(total, skipped, counts["done"], counts["failed"], stopped or cancel.is_set())


def _threaded(
    spec: BatchSpec,
    todo: Sequence[Path],
    backend: Backend,
    cancel: threading.Event,
    record: Callable[[dict[str, Any]], None],
) -> bool:
    def complete(request: ChatRequest) -> Completion:
        return backend.complete(request, cancel)

    stopped = False
    with ThreadPoolExecutor(max_workers=spec.workers, thread_name_prefix="skill-batch") as pool:
        waiting: set[Future[dict[str, Any]]] = {pool.submit(_one, spec, p, complete) for p in todo}
        try:
            while waiting:
                finished, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                for future in finished:
                    try:
                        record(future.result())
                    except StoppedError:
                        stopped = True  # not an error line: --resume does it again
        finally:
            cancel_all(waiting)
            if cancel.is_set():
                stopped = True
    return stopped


def cancel_all(futures: Iterable[Future[Any]]) -> None:
    for future in futures:
        future.cancel()


def _in_batches(
    spec: BatchSpec,
    todo: Sequence[Path],
    backend: Any,
    cancel: threading.Event,
    record: Callable[[dict[str, Any]], None],
) -> bool:
    """Batched generation in process: one generate call per ``workers`` images, then one for the retries."""
    size = max(1, spec.workers)
    for start in range(0, len(todo), size):
        if cancel.is_set():
            return True
        jobs: list[tuple[Path, SkillJob]] = []
        for path in todo[start : start + size]:
            try:
                jobs.append((path, _job(spec, path)))
            except OSError as err:
                record(error_line(path.name, ConfigError(f"cannot read the image: {err}")))
        try:
            lines = _batch_round(jobs, backend, cancel)
        except BackendError as err:
            lines = [error_line(path.name, err) for path, _ in jobs]
        except StoppedError:
            return True
        for line in lines:
            record(line)
    return False


def _batch_round(
    jobs: list[tuple[Path, SkillJob]], backend: Any, cancel: threading.Event
) -> list[dict[str, Any]]:
    from agent.skills.runner import attempt, build_request, failure
    from agent.skills.unit import Validated

    firsts = backend.complete_batch([build_request(job) for _, job in jobs], cancel)
    lines: dict[int, dict[str, Any]] = {}
    retry: list[tuple[int, str, str]] = []
    for index, ((path, job), completion) in enumerate(zip(jobs, firsts, strict=True)):
        outcome = attempt(job, completion.text)
        if isinstance(outcome, Validated):
            lines[index] = result_line(path.name, SkillResult(outcome, completion.text, 1))
        else:
            retry.append((index, completion.text, outcome))
    if retry:
        requests = [build_request(jobs[i][1], (text, problem)) for i, text, problem in retry]
        seconds = backend.complete_batch(requests, cancel)
        for (index, text, _), completion in zip(retry, seconds, strict=True):
            path, job = jobs[index]
            outcome = attempt(job, completion.text)
            if isinstance(outcome, Validated):
                lines[index] = result_line(path.name, SkillResult(outcome, completion.text, 2))
            else:
                lines[index] = error_line(path.name, failure(job, (text, completion.text), outcome))
    return [lines[i] for i in sorted(lines)]

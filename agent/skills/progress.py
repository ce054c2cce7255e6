"""The batch progress line: done, failed, rate and time left, as pure formatting."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tally:
    total: int
    done: int = 0
    failed: int = 0
    elapsed_s: float = 0.0


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def progress_line(tally: Tally, width: int = 24) -> str:
    """``[######----] 10/12: 9 done, 1 failed, 2.50 img/s, 1s left``; rate over finished images."""
    finished = tally.done + tally.failed
    filled = width * finished // tally.total if tally.total else width
    bar = "#" * filled + "-" * (width - filled)
    rate = finished / tally.elapsed_s if tally.elapsed_s > 0 else 0.0
    left = f"{_duration((tally.total - finished) / rate)} left" if rate > 0 else "time left unknown"
    return (
        f"[{bar}] {finished}/{tally.total}: {tally.done} done, {tally.failed} failed, {rate:.2f} img/s, "
        + (left if finished < tally.total else f"took {_duration(tally.elapsed_s)}")
    )

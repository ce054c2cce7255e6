"""Waiting, after an action, until the screen stops changing (or a cap runs out)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.errors import StoppedError
from agent.imaging import DEFAULT_THUMB_SIZE, DEFAULT_TOLERANCE, changed_fraction, thumbnail

if TYPE_CHECKING:
    from PIL.Image import Image


@dataclass(frozen=True)
class SettleResult:
    """How a wait for a still screen ended."""

    settled: bool  # False: still changing when the timeout ran out
    waited_s: float
    polls: int  # captures taken, the first included
    since_last_change_s: float  # quiet time seen at the end
    # What was waited on: "screen" (captures compared) or "tree" (accessibility events)
    source: str = "screen"


def wait_until_settled(
    grab: Callable[[], Image],
    cancel: threading.Event,
    *,
    quiet_s: float = 0.1,
    poll_s: float = 0.02,
    timeout_s: float = 3.0,
    thumb_size: tuple[int, int] = DEFAULT_THUMB_SIZE,
    tolerance: float = DEFAULT_TOLERANCE,
    clock: Callable[[], float] = time.monotonic,
    wait: Callable[[float], bool] | None = None,
) -> SettleResult:
    """Poll ``grab`` until nothing changed for ``quiet_s`` (settled) or ``timeout_s`` passed.

    Raises StoppedError as soon as ``cancel`` is set: every pause is ``cancel.wait``.
    ``clock`` and ``wait`` (returns True when cancelled) let tests run on a fake clock.
    """
    pause = cancel.wait if wait is None else wait
    if cancel.is_set():
        raise StoppedError("stopped while waiting for the screen to settle")
    start = clock()
    deadline = start + timeout_s
    previous = thumbnail(grab(), thumb_size)
    polls = 1
    last_change = start
    while True:
        now = clock()
        quiet_at = last_change + quiet_s
        if now >= quiet_at:
            return SettleResult(True, now - start, polls, now - last_change)
        if now >= deadline:
            return SettleResult(False, now - start, polls, now - last_change)
        # Never sleep past the quiet point or the deadline: both end the wait.
        if pause(min(poll_s, quiet_at - now, deadline - now)) or cancel.is_set():
            raise StoppedError("stopped while waiting for the screen to settle")
        current = thumbnail(grab(), thumb_size)
        polls += 1
        if changed_fraction(previous, current) > tolerance:
            # The change happened at some point since the last poll; dating it at this
            # capture errs on the side of waiting a little longer.
            last_change = clock()
        previous = current

"""Read the screen aloud: capture, OCR row by row, each line out (and spoken) as soon as it is read."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.access.layout import row_text
from agent.errors import DisplayError, StoppedError
from agent.geometry import Region
from agent.imaging import is_blank

if TYPE_CHECKING:
    from agent.access.ocr import RapidReader
    from agent.computers.base import CaptureTarget, Frame
    from agent.computers.platform import Platform
    from agent.ports import Speech

BLANK = "the screen is blank"


@dataclass
class ReadResult:
    lines: list[str] = field(default_factory=list)
    blank: bool = False
    timings: dict[str, float] = field(default_factory=dict)  # seconds from the start: first_line, done


def capture(target: CaptureTarget, platform: Platform | None = None) -> Frame:
    """One frame of ``target``; a region must lie on the desktop (mss would return black for the rest).

    ``platform`` defaults to this session's (``agent.computers.selection``).
    """
    from agent.computers.selection import select_platform

    screens = platform if platform is not None else select_platform()
    if isinstance(target, Region):
        desktop = screens.screen(0).capture_region()
        inside = (
            desktop.left <= target.left
            and desktop.top <= target.top
            and target.right <= desktop.right
            and target.bottom <= desktop.bottom
        )
        if not inside:
            raise DisplayError(f"the region {target} is not inside the desktop ({desktop})")
    return screens.screen(target).capture()


def read_frame(
    frame: Frame,
    reader: RapidReader,
    on_line: Callable[[str], None],
    speech: Speech | None = None,
    started: float | None = None,
    stop: threading.Event | None = None,
) -> ReadResult:
    """OCR ``frame`` in reading order; every line goes to ``on_line`` (and ``speech``) as it is read.

    ``stop`` (the kill hotkey, Ctrl+C) is looked at between rows: a stop raises StoppedError.
    """
    started = time.perf_counter() if started is None else started
    result = ReadResult()
    if is_blank(frame.image):
        result.blank = True
        return result
    for row in reader.rows(frame.image):
        if stop is not None and stop.is_set():
            raise StoppedError("stopped while reading")
        line = row_text(row)
        if not result.lines:
            result.timings["first_line_s"] = time.perf_counter() - started
        result.lines.append(line)
        on_line(line)
        if speech is not None:
            speech.say(line)
    result.timings["done_s"] = time.perf_counter() - started
    return result

"""Read the screen from the accessibility tree where the active window has one, OCR only for the rest."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent.access.reading import ReadResult, capture, read_frame
from agent.errors import DeskpilotError, StoppedError
from agent.geometry import Region
from agent.imaging import is_blank

if TYPE_CHECKING:
    from agent.access.ocr import RapidReader
    from agent.computers.base import Frame
    from agent.ports import AccessibleTree, Element, Speech, TreeWindow

TREE, OCR = "tree", "OCR"  # the source of each line, as --verbose names it
SourcedLine = Callable[[str, str], None]  # (line, source)


def _overlaps(box: Region | None, area: Region) -> bool:
    if box is None:
        return False
    return box.left < area.right and area.left < box.right and box.top < area.bottom and area.top < box.bottom


def tree_window(tree: AccessibleTree | None, area: Region) -> TreeWindow | None:
    """The active window's tree when it has text inside ``area``; None sends the whole read to OCR."""
    if tree is None or not tree.available():
        return None
    try:
        window = tree.active_window()
    except DeskpilotError:  # the tree broke mid-read: the pixels still work
        return None
    if window is None or not any(_overlaps(e.box, area) and e.text.strip() for e in window.elements):
        return None
    return window


def _masked(frame: Frame, box: Region) -> Frame:
    """``frame`` with ``box`` (screen units) painted over: OCR finds no text where the tree already read."""
    from PIL import ImageDraw

    image = frame.image.copy()
    g = frame.geometry
    left, top = (box.left - g.region.left) * g.scale_x, (box.top - g.region.top) * g.scale_y
    right, bottom = left + box.width * g.scale_x, top + box.height * g.scale_y
    ImageDraw.Draw(image).rectangle((left, top, right - 1, bottom - 1), fill=(0, 0, 0))
    return dataclasses.replace(frame, image=image)


def _covers(box: Region | None, area: Region) -> bool:
    return box is not None and box.left <= area.left and box.top <= area.top and (
        area.right <= box.right and area.bottom <= box.bottom
    )


def read_with_tree(
    window: TreeWindow,
    area: Region,
    target_for_ocr: Callable[[], Frame] | None,
    reader: Callable[[], RapidReader],
    on_line: SourcedLine,
    speech: Speech | None = None,
    started: float | None = None,
    stop: threading.Event | None = None,
) -> ReadResult:
    """The tree's lines inside ``area`` in its order (page order, or position order for toolkit
    windows), then OCR of what lies outside the window (``target_for_ocr`` captures it; None skips)."""
    started = time.perf_counter() if started is None else started
    result = ReadResult()
    lines: list[Element] = [e for e in window.elements if _overlaps(e.box, area) and e.text.strip()]
    for element in lines:
        if stop is not None and stop.is_set():
            raise StoppedError("stopped while reading")
        if not result.lines:
            result.timings["first_line_s"] = time.perf_counter() - started
        result.lines.append(element.text)
        on_line(element.text, TREE)
        if speech is not None:
            speech.say(element.text)
    result.timings["tree_s"] = time.perf_counter() - started
    if target_for_ocr is not None and not _covers(window.box, area):
        frame = target_for_ocr()
        if window.box is not None:
            frame = _masked(frame, window.box)
        if not is_blank(frame.image):
            rest = read_frame(frame, reader(), lambda line: on_line(line, OCR), speech, started, stop)
            result.lines.extend(rest.lines)
    result.timings["done_s"] = time.perf_counter() - started
    return result


def capture_target(target: int | Region) -> Callable[[], Frame]:
    return lambda: capture(target)

"""An agent run's performed actions as a macro: anchors cut from the run's own step screenshots,
their text read by the OCR reader given (``agent.macros.anchors``).

Each step record says where its screenshot sat (``StepRecord.capture``: the monitor's
origin and size in input units, captured pixels per unit), so a run on any monitor, at
any scale, maps its screen points to the right screenshot pixels. Runs recorded before
that field have none: their screenshots are taken to cover the primary monitor from
(0, 0) at one pixel per input unit, which is what those runs recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import ConfigError
from agent.imaging import Haystack
from agent.macros.anchors import AnchorMaker
from agent.macros.schema import Macro, MacroStep, Monitor, literal_text
from agent.records.history import load_run
from agent.records.schema import CapturedArea, StepRecord

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.ports import TextReader

# Actions that end or answer a task touch nothing; a macro has no use for them.
_NOT_REPLAYED = ("terminate", "answer")


def macro_from_run(
    root: Path,
    run_id: str,
    progress: Callable[[str], None] | None = None,
    *,
    reader: TextReader | None = None,
) -> Macro:
    """The macro of run ``run_id`` under ``root``.

    Each step's screenshot shows the screen the action was aimed at, so the anchor is
    cut there, at the pixel the step's recorded capture area maps the screen point to.
    The macro's monitor is the first anchored step's area. When the model named the
    element it acted on (``element_description``), that becomes the anchor's
    description, for replay's model tier (d). With a ``reader``, each anchor keeps
    the text under or beside its point; one that cannot load is said once, and the
    anchors are kept without text.
    """
    info, steps = load_run(root, run_id)
    run_dir = root / info.id
    out: list[MacroStep] = []
    monitor: Monitor | None = None
    previous: datetime | None = None
    maker = AnchorMaker(reader, progress)
    for step in steps:
        started = _time(step.started_at)
        delay = max(0.0, (started - previous).total_seconds()) if previous and started else 0.0
        previous = started or previous
        shot: tuple[Image, Haystack, CapturedArea] | None = None  # read at the first anchored action
        for record in step.actions:
            if not record.performed or record.screen.get("action") in _NOT_REPLAYED:
                continue
            screen = dict(record.screen)
            # --marks: a marked element's number means nothing on another screen; the step
            # replays as a click at its point, anchored like any other.
            screen.pop("element", None)
            screen.pop("element_words", None)
            if screen.get("action") == "type" and isinstance(screen.get("text"), str):
                screen["text"] = literal_text(screen["text"])  # the agent typed braces, not variables
            anchor = None
            if screen.get("x") is not None and screen.get("y") is not None:
                if shot is None:
                    shot = _screenshot(run_dir, info.id, step)
                    monitor = monitor or Monitor(**shot[2].model_dump())
                image, haystack, area = shot
                screen_point = (int(screen["x"]), int(screen["y"]))
                point = (
                    int((screen_point[0] - area.left) * area.scale),
                    int((screen_point[1] - area.top) * area.scale),
                )
                if not (0 <= point[0] < image.width and 0 <= point[1] < image.height):
                    raise ConfigError(
                        f"step {step.number}: the point {screen_point} is outside its screenshot"
                    )
                if progress is not None:
                    reading = " and reading its text" if maker.reads_text else ""
                    progress(f"cutting the anchor of step {step.number} of {len(steps)}{reading}")
                anchor = maker(image, point, haystack=haystack)
                anchor.description = record.element_description.strip() or _marked(record.mark)
            out.append(MacroStep(action=screen, delay_s=round(delay, 3), anchor=anchor))
            delay = 0.0
    if not out:
        raise ConfigError(f"run {info.id} performed no actions to make a macro of")
    if monitor is None:
        monitor = Monitor(width=1920, height=1080)  # no pointer step: the monitor is never used
    return Macro(
        name=info.task, created_at=info.started_at, source="run", run_id=info.id, monitor=monitor, steps=out
    )


def _screenshot(run_dir: Path, run_id: str, step: StepRecord) -> tuple[Image, Haystack, CapturedArea]:
    from PIL import Image as PILImage

    if not step.screenshot:
        raise ConfigError(f"step {step.number} of run {run_id} has no screenshot to cut its anchor from")
    try:
        image = PILImage.open(run_dir / step.screenshot).convert("RGB")
    except OSError as err:
        raise ConfigError(f"cannot read {run_dir / step.screenshot}: {err}") from None
    return image, Haystack.of(image), step.capture or _old_run_area(image)


def _old_run_area(image: Image) -> CapturedArea:
    """A step recorded without its capture area: the primary monitor, one pixel per unit."""
    return CapturedArea(left=0, top=0, width=image.width, height=image.height, scale=1.0)


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _marked(mark: dict[str, Any] | None) -> str:
    """The marked element a click named by number, as a description for replay's model tier."""
    if not mark or not mark.get("name"):
        return ""
    return f"{mark['name']} {mark.get('role', '')}".strip()  # "Save push button"

"""The replay report: one HTML page, per step the recorded anchor beside where it was found, boxed.

Images are inline data URLs, so the page is one private (0600) file a person can open
anywhere; it holds screen crops, so it is never written world-readable.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from agent.errors import ConfigError
from agent.records.files import open_private

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.imaging import Box
    from agent.macros.player import StepReport

# Pixels of the current screen shown around a found box.
_CONTEXT = 60
_AMBER = (240, 160, 0)


def _data_url(image: Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def boxed_view(image: Image, box: Box, colour: tuple[int, int, int] = (230, 30, 30)) -> Image:
    """The part of ``image`` around ``box`` with the box drawn on it."""
    from PIL import ImageDraw

    left, top = max(0, box.left - _CONTEXT), max(0, box.top - _CONTEXT)
    right = min(image.width, box.left + box.width + _CONTEXT)
    bottom = min(image.height, box.top + box.height + _CONTEXT)
    view = image.convert("RGB").crop((left, top, right, bottom))
    ImageDraw.Draw(view).rectangle(
        (box.left - left, box.top - top, box.left - left + box.width - 1, box.top - top + box.height - 1),
        outline=colour,
        width=2,
    )
    return view


def render(title: str, outcome: str, steps: Sequence[StepReport]) -> str:
    """One row per step, those a failure left unplayed too ("not reached"); the action as played."""
    rows: list[str] = []
    for step in steps:
        recorded = (
            f'<img alt="recorded anchor" src="data:image/png;base64,{step.anchor_png}">'
            if step.anchor_png
            else "-"
        )
        where, tier, score, seconds = "-", "-", "-", f"{step.seconds * 1000:.0f} ms"
        if step.found is not None and step.frame is not None:
            where = f'<img alt="found here" src="{_data_url(boxed_view(step.frame.image, step.found.box))}">'
            tier, score = step.found.tier, f"{step.found.score:.3f}"
            seconds = f"{step.found.seconds * 1000:.0f} ms find, {step.seconds * 1000:.0f} ms step"
        elif step.miss is not None:
            tier = "not found"
            if step.miss.best is not None and step.frame is not None:
                view = boxed_view(step.frame.image, step.miss.best.box, _AMBER)
                where = f'<img alt="best candidate" src="{_data_url(view)}"><br>best candidate (rejected)'
                score = f"{step.miss.best.score:.3f}"
            # The whole wait for the anchor, not the last look's time.
            seconds = f"{step.seconds * 1000:.0f} ms"
        elif step.status == "not reached":
            seconds = "-"
        action = html.escape(step.words)
        if step.recorded and step.recorded != step.words:
            action += f"<br><small>recorded: {html.escape(step.recorded)}</small>"
        # An element-tier step's confirmation: what showed the input did something, or that nothing did.
        effect = f"<br><small>{html.escape(step.effect)}</small>" if step.effect else ""
        rows.append(
            "<tr>"
            f"<td>{step.number}</td><td>{action}</td><td>{recorded}</td><td>{where}</td>"
            f'<td class="tier">{html.escape(tier)}</td><td>{score}</td><td>{html.escape(seconds)}</td>'
            f"<td>{html.escape(step.status)}{effect}</td></tr>"
        )
    return (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif}td{border:1px solid #999;padding:4px;vertical-align:top}"
        "table{border-collapse:collapse}img{max-width:360px}</style>"
        f"<h1>{html.escape(title)}</h1><p>Outcome: {html.escape(outcome)}</p>"
        "<table><tr><th>step</th><th>action</th><th>recorded anchor</th><th>found on screen</th>"
        "<th>tier</th><th>score</th><th>time</th><th>status</th></tr>" + "".join(rows) + "</table></html>\n"
    )


def write_report(path: Path, title: str, outcome: str, steps: Sequence[StepReport]) -> None:
    """Write the report to ``path`` (0600); ConfigError when the folder is missing or unwritable."""
    text = render(title, outcome, steps).encode("utf-8")
    try:
        fd = open_private(path)
    except OSError as err:
        raise ConfigError(f"cannot write the report {path}: {err.strerror}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(text)

"""Rows for bench_access.py: how many model clicks land on their element, with and without snapping.

A fake model aims at each named, clickable element of a real window (its real boxes,
read from the accessibility tree) with a fixed error of 10, 20 and 30 px in each of
16 directions, and names it as a model does ("Save button"). A click hits when the
smallest element box under the landing point is the target, and is wrong when it is
another element. Three ways: the raw point, snapping by name (``choose_snap``, what
the loop does), and blind snapping to the nearest element within the radius (the way
issue 21 warns against), for comparison.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.ports import Element

ERRORS_PX = (10, 20, 30)
DIRECTIONS = 16
# What a model calls each role when it describes its target.
_ROLE_WORD = {
    "push button": "button", "toggle button": "button", "link": "link", "entry": "field", "text": "field",
    "password text": "field", "check box": "checkbox", "radio button": "radio button", "combo box": "dropdown",
    "menu item": "menu item", "page tab": "tab", "spin button": "field", "list item": "item",
}


@dataclass(frozen=True)
class Tally:
    clicks: int = 0
    hits: int = 0
    wrong: int = 0

    def add(self, hit: bool, wrong: bool) -> Tally:
        return Tally(self.clicks + 1, self.hits + hit, self.wrong + wrong)

    def words(self) -> str:
        n = max(1, self.clicks)
        return f"{100 * self.hits / n:.1f}% hit, {100 * self.wrong / n:.1f}% wrong element ({self.clicks} clicks)"


def under(elements: Sequence[Element], x: int, y: int) -> Element | None:
    """The smallest element whose box holds the point: what a click there reaches."""
    inside = [e for e in elements if e.box is not None and e.box.contains(x, y)]
    return min(inside, key=lambda e: e.box.width * e.box.height if e.box else 0) if inside else None


def _nearest(elements: Sequence[Element], x: int, y: int, radius: float) -> tuple[int, int] | None:
    from agent.computer_use.snapping import box_distance

    scored = [(box_distance(e.box, x, y), e) for e in elements if e.box is not None]
    scored = [s for s in scored if s[0] <= radius]
    if not scored:
        return None
    return min(scored, key=lambda s: s[0])[1].center


def simulate(elements: Sequence[Element], error_px: int) -> dict[str, Tally]:
    """The three ways' tallies for every named target with a box, at ``error_px`` in each direction."""
    from agent.computer_use.snapping import SNAP_RADIUS_PX, choose_snap

    tallies = {"raw": Tally(), "snap by name": Tally(), "blind nearest": Tally()}
    targets = [e for e in elements if e.box is not None and e.name.strip()]
    for target in targets:
        centre = target.center
        assert centre is not None
        description = f"{target.name} {_ROLE_WORD.get(target.role, '')}".strip()
        for k in range(DIRECTIONS):
            angle = 2 * math.pi * k / DIRECTIONS
            x = round(centre[0] + error_px * math.cos(angle))
            y = round(centre[1] + error_px * math.sin(angle))
            snap = choose_snap((x, y), description, elements)
            blind = _nearest(elements, x, y, SNAP_RADIUS_PX)
            for way, landing in (
                ("raw", (x, y)),
                ("snap by name", snap.snapped_to or (x, y)),
                ("blind nearest", blind or (x, y)),
            ):
                reached = under(elements, *landing)
                hit = reached is not None and reached.box == target.box
                tallies[way] = tallies[way].add(hit, reached is not None and not hit)
    return tallies


def rows(label: str, elements: Sequence[Element]) -> tuple[list[list[object]], dict[str, object]]:
    """Table rows (case, -, result) and JSON for one app's elements."""
    out: list[list[object]] = []
    results: dict[str, object] = {}
    for error in ERRORS_PX:
        for way, tally in simulate(elements, error).items():
            out.append([f"{label}: model click {error} px off, {way}", "-", tally.words()])
            results[f"{error}px {way}"] = {"clicks": tally.clicks, "hits": tally.hits, "wrong": tally.wrong}
    return out, results

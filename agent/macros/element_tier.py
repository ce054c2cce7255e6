"""The element tier: a recorded step's accessible element, found again in the active window's tree.

Tried before every picture tier (a look, in milliseconds): a restyle, another scale or
a moved window changes the pixels, not the element's role and name. The element is
looked up by role and name; its recorded path breaks ties. Several candidates and no
path to choose between them, an element under another window, or one off the monitor
is a Miss, never a guess; the picture tiers then go on as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.errors import DisplayError
from agent.imaging import Box
from agent.macros.tiers import Cost, Found, Miss, Near, TierName
from agent.scaling import screen_to_image

if TYPE_CHECKING:
    from agent.computers.base import Frame
    from agent.macros.schema import Anchor, ElementRef
    from agent.ports import AccessibleTree, Element


def pick(recorded: ElementRef, candidates: list[Element]) -> Element | str:
    """The candidate that is the recorded element, or why none is (pure)."""
    if not candidates:
        return "not in the active window"
    if len(candidates) == 1:
        return candidates[0]
    same_path = [e for e in candidates if list(e.path) == recorded.path]
    if len(same_path) == 1:
        return same_path[0]
    return f"{len(candidates)} elements have that role and name"


class ElementTier:
    """Finds the anchor's recorded element in the active window's accessibility tree."""

    name = TierName.ELEMENT
    cost = Cost.LOOK

    def __init__(self, tree: AccessibleTree) -> None:
        self.tree = tree

    def applies(self, anchor: Anchor) -> bool:
        return anchor.element is not None

    def find(self, frame: Frame, anchor: Anchor, near: Near) -> Found | Miss:
        recorded = anchor.element
        if recorded is None:
            return Miss(None, 0.0, "")
        what = f"{recorded.role} {recorded.name!r}" if recorded.name else recorded.role
        try:
            chosen = pick(recorded, self.tree.find((recorded.role,), recorded.name))
            if isinstance(chosen, str):
                return Miss(None, 0.0, f"the {what}: {chosen}")
            if self.tree.covered(chosen):
                return Miss(None, 0.0, f"the {what} is under another window")
        except DisplayError as err:
            return Miss(None, 0.0, f"the accessibility tree did not answer: {err}")
        point, box = chosen.center, chosen.box
        if point is None or box is None or not frame.region.contains(*point):
            return Miss(None, 0.0, f"the {what} is not on the monitor")
        geometry, region = frame.geometry, frame.region
        # The part of the box on the monitor, by its first and last pixels (both on the capture).
        left, top = screen_to_image((max(box.left, region.left), max(box.top, region.top)), geometry)
        right, bottom = screen_to_image(
            (min(box.right, region.right) - 1, min(box.bottom, region.bottom) - 1), geometry
        )
        image_box = Box(left, top, max(1, right - left + 1), max(1, bottom - top + 1))
        return Found(point, image_box, self.name, 1.0, 0.0, element=chosen)

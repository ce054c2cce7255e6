"""Grounding a model's click in the accessibility tree: snap to the nearby element it named, not the nearest.

A model's point is often a few dozen pixels off its target. Where the active window
has a tree, the elements within ``SNAP_RADIUS_PX`` of the point are compared by name
with what the model said it aimed at (the action's ``element_description``, else the
target its reply named: "click the Save button"). Only a named match moves the
click, to the centre of that element's box; a point already on it stays. Blind
snapping to the nearest element sent a fifth of clicks to the wrong element at 30 px
of error (issue 21), so no description, no match, or two equally near matches leave
the point where the model put it. The maths is pure (``choose_snap``); ``Snapper``
asks the tree.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.actions import CLICK_NAMES, ScreenAction
from agent.errors import DisplayError

if TYPE_CHECKING:
    from agent.geometry import Region
    from agent.ports import AccessibleTree, Element

log = logging.getLogger(__name__)

SNAP_RADIUS_PX = 40  # issue 21: about the error of a small model's click on a 1080p screen
# Two matching elements whose distances differ by less are a guess: neither is snapped to.
TIE_PX = 4
# Roles a model's click may be snapped onto (what a person clicks), as AT-SPI names them.
SNAP_ROLES = (
    "push button", "toggle button", "check box", "radio button", "link", "menu item", "check menu item",
    "radio menu item", "page tab", "combo box", "entry", "text", "password text", "spin button",
    "list item", "tree item", "menu", "slider", "icon",
)
# Words a description uses for the kind or look of a target, not its name.
_FILLER = frozenset(
    "the a an this that on at in of to for with button buttons link links field fields box input entry text "
    "textbox icon tab menu item option checkbox check radio label labelled labeled named called titled "
    "says saying which element control dropdown drop down select combo area bar".split()
)
_TOKEN = re.compile(r"\w+")
_VERB = re.compile(
    r"\b(?:click|press|tap|select|choose|hit|open|toggle|check|activate)(?:s|es|ed|ing)?\s+"
    r"(?:on\s+|at\s+|onto\s+)?(.{1,100}?)(?=[.;:!?\n]|,\s|\s(?:to|so|and then|in order)\s|$)",
    re.IGNORECASE,
)


def tokens(text: str) -> list[str]:
    """Words of ``text``: NFKC, casefolded, letters and digits only (pure)."""
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold().replace("_", " "))


def _contains_run(words: Sequence[str], run: Sequence[str]) -> bool:
    n = len(run)
    return n > 0 and any(list(words[i : i + n]) == list(run) for i in range(len(words) - n + 1))


def name_match(name: str, description: str) -> int | None:
    """How well an element's ``name`` fits a ``description`` (pure): 3 the same words, 2 the name
    inside the description ("Save" in "the blue Save button"), 1 the description's words inside the
    name ("Save" for "Save changes"), None when it is not the element described."""
    name_words, said = tokens(name), tokens(description)
    if not name_words or not said:
        return None
    content = [w for w in said if w not in _FILLER]
    if content == name_words or said == name_words:
        return 3
    if len("".join(name_words)) < 2:
        return None  # "X" or "+" inside a sentence is too weak a sign
    if _contains_run(said, name_words):
        return 2
    if content and len("".join(content)) >= 3 and _contains_run(name_words, content):
        return 1
    return None


def described_target(element_description: str | None, thought: str = "") -> str:
    """What the model said it aims at: its ``element_description``, else the last "click X" of its prose."""
    if element_description and element_description.strip():
        return element_description.strip()
    found = _VERB.findall(thought or "")
    return found[-1].strip() if found else ""


def box_distance(box: Region, x: int, y: int) -> float:
    """Pixels from (x, y) to the nearest pixel of ``box``; 0 inside it (pure)."""
    dx = max(box.left - x, 0, x - (box.right - 1))
    dy = max(box.top - y, 0, y - (box.bottom - 1))
    return math.hypot(dx, dy)


def element_words(element: Element) -> str:
    """An element as the record and narration name it: its role and name ("push button 'Save'")."""
    return f"{element.role} {element.name!r}" if element.name else element.role


@dataclass(frozen=True)
class Snap:
    """What grounding decided for one click: moved or not, onto what, and why (kept in the step)."""

    point: tuple[int, int]  # where the model put the click, screen input units
    snapped_to: tuple[int, int] | None  # the element's centre when the click moved there
    reason: str
    description: str = ""
    element: Element | None = None  # the matched element, moved to or already under the point
    distance_px: float = 0.0

    @property
    def moved(self) -> bool:
        return self.snapped_to is not None

    def to_record(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "snapped": self.moved,
            "from": list(self.point),
            "reason": self.reason,
            "description": self.description,
        }
        if self.snapped_to is not None:
            out["to"] = list(self.snapped_to)
        if self.element is not None:
            out["element"] = {"role": self.element.role, "name": self.element.name}
            out["distance_px"] = round(self.distance_px, 1)
        return out


def choose_snap(
    point: tuple[int, int],
    description: str,
    elements: Sequence[Element],
    radius: float = SNAP_RADIUS_PX,
) -> Snap:
    """Where a click described as ``description`` at ``point`` should land among ``elements`` (pure).

    The best name match within ``radius`` wins (a better fit before a nearer one); a
    match under the point keeps the point; two equally good and equally near matches
    (within ``TIE_PX``) are a guess and move nothing.
    """
    if not description.strip():
        return Snap(point, None, "the model did not say what it aimed at", description)
    x, y = point
    scored: list[tuple[int, float, Element]] = []
    seen: set[tuple[str, str, tuple[int, int, int, int]]] = set()
    for element in elements:
        box = element.box
        if box is None:
            continue
        key = (element.role, element.name, (box.left, box.top, box.width, box.height))
        if key in seen:
            continue
        seen.add(key)
        distance = box_distance(box, x, y)
        if distance > radius:
            continue
        fit = name_match(element.name, description)
        if fit is not None:
            scored.append((fit, distance, element))
    if not scored:
        why = f"no element within {radius:.0f} px is named like {description!r}"
        return Snap(point, None, why, description)
    scored.sort(key=lambda s: (-s[0], s[1]))
    fit, distance, best = scored[0]
    if distance == 0:
        return Snap(point, None, f"already on the {element_words(best)}", description, best, 0.0)
    rivals = [s for s in scored[1:] if s[0] == fit and s[1] - distance < TIE_PX]
    if rivals:
        other = rivals[0][2]
        return Snap(
            point, None,
            f"two elements fit {description!r} about as near: the {element_words(best)} and the "
            f"{element_words(other)}",
            description,
        )
    centre = best.center
    if centre is None:  # unreachable: elements without a box were skipped
        return Snap(point, None, "the element has no box", description)
    reason = f"moved {distance:.0f} px onto the {element_words(best)}, named as the model described it"
    return Snap(point, centre, reason, description, best, distance)


def snappable(action: ScreenAction) -> bool:
    """A model's click aimed at a point: the only action grounding may move."""
    return action.from_model and action.name in CLICK_NAMES and action.screen_xy is not None


class Snapper:
    """Grounds model clicks in the active window's accessibility tree before they are performed."""

    def __init__(self, tree: AccessibleTree, radius: float = SNAP_RADIUS_PX) -> None:
        self.tree = tree
        self.radius = radius

    def snap(self, action: ScreenAction, thought: str = "") -> tuple[ScreenAction, Snap | None]:
        """``action``, moved onto the element it described where the tree shows one; and what was decided.

        Not a model click at a point: unchanged, and None. A tree that does not answer
        leaves the click as the model put it (the reason says so).
        """
        point = action.screen_xy
        if not snappable(action) or point is None:
            return action, None
        description = described_target(action.action.element_description, thought)
        if not description:
            return action, Snap(point, None, "the model did not say what it aimed at")
        try:
            under = self.tree.element_at(*point)
            nearby = self.tree.find(SNAP_ROLES)
        except DisplayError as err:
            return action, Snap(point, None, f"the accessibility tree did not answer: {err}", description)
        # The element under the point counts where it is a target itself; a label beside
        # a field ("Username") must not keep a click the model meant for the field.
        elements = [*([under] if under is not None and under.role in SNAP_ROLES else []), *nearby]
        decision = choose_snap(point, description, elements, self.radius)
        if decision.snapped_to is None or decision.element is None:
            return action, decision
        if self.tree.covered(decision.element):
            return action, Snap(
                point, None, f"the {element_words(decision.element)} is under another window", description
            )
        x, y = decision.snapped_to
        log.debug("snapped %s from %s to %s", action.name, point, decision.snapped_to)
        return action.model_copy(update={"x": x, "y": y}), decision

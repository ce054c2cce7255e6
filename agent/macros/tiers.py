"""The healing tier seam: what a tier is, what it costs and what it returns (no tier lives here)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from agent.computers.base import Frame
    from agent.imaging import Box, Match
    from agent.macros.schema import Anchor
    from agent.ports import Element


class TierName(StrEnum):
    """How an anchor was found, as the report, the step record and --update-anchors name it."""

    ELEMENT = "element"  # the recorded accessible element, by role, name and path (the tree)
    A_NEAR = "a-near"  # the recorded crop, near where it was recorded
    A_SCREEN = "a-screen"  # the recorded crop, anywhere on the monitor
    A_VARIANT = "a-variant"  # a look kept by --update-anchors
    B_SCALE = "b-scale"  # the crop at another scale (grey)
    B_EDGES = "b-edges"  # edge maps: the colour or theme changed
    C_OCR = "c-ocr"  # the anchor's text, read by OCR
    D_MODEL = "d-model"  # the model grounding the anchor's description
    E_USER = "e-user"  # the user pointed at it (or accepted the best candidate)


# Finds of the recorded picture itself: nothing new to keep as another look of the target.
EXACT_LOOKS = frozenset({TierName.A_NEAR, TierName.A_SCREEN, TierName.A_VARIANT})


class Cost(StrEnum):
    """What trying a tier costs, cheapest first; the order of the members is the order tiers run in.

    The player's timing follows from it (``MacroPlayer``): looks on every retry of the
    wait, reads after its first second, the model once after the whole wait, asking last.
    """

    LOOK = "look"  # milliseconds: compare pictures
    READ = "read"  # tenths of a second: OCR, and a label is looser than a look
    MODEL = "model"  # seconds to minutes: a model call
    ASK = "ask"  # the user's attention

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {cost: rank for rank, cost in enumerate(Cost)}


@dataclass(frozen=True)
class Near:
    """The recorded place in the current frame's pixels, and the current/recorded scale ratio."""

    box: Box
    ratio: float


@dataclass(frozen=True)
class Found:
    """Where the anchor is now: the screen point to act on, the image box, and how it was found."""

    point: tuple[int, int]
    box: Box
    tier: TierName
    score: float
    seconds: float
    scale: float = 1.0
    element: Element | None = None  # the element tier's: its effect is confirmed after the action

    @property
    def is_new_look(self) -> bool:
        """Whether the target looked other than its recorded pictures (--update-anchors keeps it)."""
        # An element find says nothing about the picture: the crop there may be anything.
        return self.tier not in EXACT_LOOKS and self.tier is not TierName.ELEMENT


@dataclass(frozen=True)
class Miss:
    """No tier found the anchor with confidence; ``best`` is the closest candidate seen.

    ``refused``: the best-scoring candidate that scored well enough but was turned down,
    and why. A tier's own Miss may leave ``reason`` empty when its best score says it
    all; the healer words the whole step's Miss.
    """

    best: Match | None
    seconds: float
    reason: str
    refused: tuple[float, str] | None = None


class Tier(Protocol):
    """One way of finding a recorded anchor on a frame; the healer tries tiers in cost order."""

    @property
    def name(self) -> TierName:
        """The tier's name (a tier with several ways of looking may name each Found finer)."""
        ...

    @property
    def cost(self) -> Cost: ...

    def applies(self, anchor: Anchor) -> bool:
        """Whether the anchor carries what this tier needs (a text, a description)."""
        ...

    def find(self, frame: Frame, anchor: Anchor, near: Near) -> Found | Miss:
        """The anchor on ``frame`` (``seconds`` is filled in by the healer), or why not.

        Never a guess: a tier that is not confident returns a Miss. Raises
        ``StoppedError`` when the stop token is set while it works.
        """
        ...


def in_cost_order(tiers: Iterable[Tier]) -> list[Tier]:
    """``tiers`` cheapest first; tiers of one cost keep the order they were listed in (pure)."""
    return sorted(tiers, key=lambda tier: tier.cost.rank)

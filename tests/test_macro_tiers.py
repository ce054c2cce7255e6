"""The healing tier seam: the healer tries its listed tiers cheapest first, and the wait's timing follows the costs."""

from __future__ import annotations

import pytest
from PIL import Image

from agent.computers.base import Frame
from agent.geometry import Region
from agent.imaging import Box
from agent.macros.anchors import make_anchor
from agent.macros.healing import Healer, PictureTier
from agent.macros.player import FALLBACK_AFTER_S, costs_due
from agent.macros.schema import Anchor, Monitor
from agent.macros.tiers import Cost, Found, Miss, Near, TierName
from agent.testing.fake import FakeComputer

MONITOR = Monitor(width=640, height=480)


class RecordingTier:
    """A tier written for this test: it notes when it is tried and finds what it is told to."""

    def __init__(self, name: TierName, cost: Cost, tried: list[TierName], *, finds: bool = False) -> None:
        self.name = name
        self.cost = cost
        self.tried = tried
        self.finds = finds

    def applies(self, anchor: Anchor) -> bool:
        return True

    def find(self, frame: Frame, anchor: Anchor, near: Near) -> Found | Miss:
        self.tried.append(self.name)
        if self.finds:
            return Found((1, 2), near.box, self.name, 0.99, 0.0)
        return Miss(None, 0.0, f"{self.name} saw nothing")


def _nothing_there() -> tuple[Frame, Anchor]:
    """A frame the anchor's picture is not on, so every tier listed is tried."""
    recorded = Image.new("RGB", (640, 480), (250, 250, 250))
    recorded.paste((30, 90, 200), (300, 200, 360, 230))
    anchor = make_anchor(recorded, (330, 215))
    frame = FakeComputer(region=Region(0, 0, 640, 480), image=Image.new("RGB", (640, 480), (250, 250, 250))).capture()
    return frame, anchor


def test_a_tier_added_to_the_list_is_tried_in_cost_order_not_list_order() -> None:
    frame, anchor = _nothing_there()
    tried: list[TierName] = []
    # Listed most expensive first: the healer must still look before it reads, and never
    # call the model during a look.
    healer = Healer(
        tiers=[
            RecordingTier(TierName.D_MODEL, Cost.MODEL, tried),
            RecordingTier(TierName.C_OCR, Cost.READ, tried),
            RecordingTier(TierName.B_SCALE, Cost.LOOK, tried),
            PictureTier(),
        ]
    )
    miss = healer.locate(frame, anchor, MONITOR)
    assert tried == [TierName.B_SCALE, TierName.C_OCR]
    assert isinstance(miss, Miss) and miss.reason.endswith("; b-scale saw nothing; c-ocr saw nothing"), miss
    tried.clear()
    assert isinstance(healer.locate(frame, anchor, MONITOR, costs=(Cost.LOOK,)), Miss)
    assert tried == [TierName.B_SCALE]  # reading is not due yet: looks only
    tried.clear()
    assert healer.can_ground(anchor)
    grounded = healer.ground(frame, anchor, miss)
    assert tried == [TierName.D_MODEL]  # the model runs apart, once, after the wait
    assert isinstance(grounded, Miss) and grounded.reason == "d-model saw nothing"


def test_the_first_tier_that_finds_wins_and_the_costlier_ones_are_not_tried() -> None:
    frame, anchor = _nothing_there()
    tried: list[TierName] = []
    healer = Healer(
        tiers=[
            RecordingTier(TierName.C_OCR, Cost.READ, tried),
            RecordingTier(TierName.B_EDGES, Cost.LOOK, tried, finds=True),
        ]
    )
    found = healer.locate(frame, anchor, MONITOR)
    assert isinstance(found, Found) and found.tier is TierName.B_EDGES and found.is_new_look
    assert tried == [TierName.B_EDGES]
    assert not healer.can_ground(anchor)  # no model tier listed


@pytest.mark.parametrize(
    ("elapsed_s", "timeout_s", "costs"),
    [
        (0.0, 30.0, (Cost.LOOK,)),  # the first second belongs to the looks
        (FALLBACK_AFTER_S - 0.01, 30.0, (Cost.LOOK,)),
        (FALLBACK_AFTER_S, 30.0, (Cost.LOOK, Cost.READ)),
        (0.0, 0.0, (Cost.LOOK, Cost.READ)),  # one look only (dry run): it has every tier of the wait
        (0.3, 0.3, (Cost.LOOK, Cost.READ)),  # a wait shorter than a second reads at its deadline
    ],
)
def test_the_wait_reads_after_its_first_second_and_never_asks_the_model(
    elapsed_s: float, timeout_s: float, costs: tuple[Cost, ...]
) -> None:
    assert costs_due(elapsed_s, timeout_s) == costs


def test_finds_of_the_recorded_picture_are_not_new_looks() -> None:
    box = Box(0, 0, 1, 1)
    assert [t for t in TierName if Found((0, 0), box, t, 1.0, 0.0).is_new_look] == [
        TierName.B_SCALE, TierName.B_EDGES, TierName.C_OCR, TierName.D_MODEL, TierName.E_USER
    ]
    assert [c.rank for c in (Cost.LOOK, Cost.READ, Cost.MODEL, Cost.ASK)] == [0, 1, 2, 3]

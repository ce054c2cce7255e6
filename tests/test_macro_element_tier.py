"""Replay by element: the recorded accessible element is found before any picture, and never guessed."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from agent.geometry import Region
from agent.macros.anchors import make_anchor
from agent.macros.element_tier import ElementTier
from agent.macros.healing import Healer
from agent.macros.schema import (
    ElementRef,
    Macro,
    MacroStep,
    Monitor,
    describe_macro_step,
    load_macro,
    save_macro,
)
from agent.macros.tiers import Found, Miss, TierName
from agent.ports import Element
from agent.testing.fake import FakeComputer
from agent.testing.tree import FakeTree

MONITOR = Monitor(width=640, height=480)
FIELD = Element("entry", "Email", Region(200, 300, 160, 24), path=(0, 3, 1), window="Form")


def _restyled() -> tuple[object, object]:
    """The anchor of a blue box at (330, 215), and a frame where nothing looks like it any more."""
    recorded = Image.new("RGB", (640, 480), (250, 250, 250))
    recorded.paste((30, 90, 200), (300, 200, 360, 230))
    anchor = make_anchor(recorded, (330, 215))
    anchor.element = ElementRef(role="entry", name="Email", path=[0, 3, 1], window="Form")
    frame = FakeComputer(region=Region(0, 0, 640, 480), image=Image.new("RGB", (640, 480), (20, 20, 20))).capture()
    return frame, anchor


def test_a_restyled_target_is_found_by_its_element_first() -> None:
    frame, anchor = _restyled()
    found = Healer(tree=FakeTree([FIELD])).locate(frame, anchor, MONITOR)  # type: ignore[arg-type]
    assert isinstance(found, Found)
    assert found.tier == TierName.ELEMENT and found.point == (280, 312)
    assert not found.is_new_look  # --update-anchors keeps no crop from an element find
    without_tree = Healer().locate(frame, anchor, MONITOR)  # type: ignore[arg-type]
    assert isinstance(without_tree, Miss)  # the picture tiers alone cannot find it


def test_two_candidates_are_told_apart_by_path_else_refused() -> None:
    frame, anchor = _restyled()
    other = Element("entry", "Email", Region(200, 400, 160, 24), path=(0, 5, 1), window="Form")
    found = ElementTier(FakeTree([other, FIELD])).find(frame, anchor, None)  # type: ignore[arg-type]
    assert isinstance(found, Found) and found.point == (280, 312)
    moved = Element("entry", "Email", Region(200, 300, 160, 24), path=(0, 4, 1), window="Form")
    miss = ElementTier(FakeTree([other, moved])).find(frame, anchor, None)  # type: ignore[arg-type]
    assert isinstance(miss, Miss) and "2 elements have that role and name" in miss.reason


def test_a_covered_or_missing_element_is_a_miss() -> None:
    frame, anchor = _restyled()
    covered = ElementTier(FakeTree([FIELD], covered_names=["Email"])).find(frame, anchor, None)  # type: ignore[arg-type]
    assert isinstance(covered, Miss) and "under another window" in covered.reason
    gone = ElementTier(FakeTree([Element("entry", "Name", Region(0, 0, 9, 9))])).find(frame, anchor, None)  # type: ignore[arg-type]
    assert isinstance(gone, Miss) and "not in the active window" in gone.reason


def test_the_element_is_kept_in_the_file_shown_and_old_macros_still_load(tmp_path: Path) -> None:
    _frame, anchor = _restyled()
    macro = Macro(monitor=MONITOR, steps=[MacroStep(action={"action": "left_click", "x": 330, "y": 215},
                                                    anchor=anchor)])  # type: ignore[arg-type]
    path = tmp_path / "m.json"
    save_macro(macro, path)
    again = load_macro(path)
    assert again.steps[0].anchor is not None and again.steps[0].anchor.element == anchor.element  # type: ignore[attr-defined]
    assert "element entry 'Email'" in describe_macro_step(1, again.steps[0])
    data = json.loads(path.read_text())
    del data["steps"][0]["anchor"]["element"]  # as written before the field existed
    path.write_text(json.dumps(data))
    assert load_macro(path).steps[0].anchor.element is None  # type: ignore[union-attr]

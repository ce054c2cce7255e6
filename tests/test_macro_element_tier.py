"""Replay by element: the recorded accessible element is found before any picture, and never guessed."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from PIL import Image

from agent.geometry import Region
from agent.macros.anchors import make_anchor
from agent.macros.element_tier import ElementTier
from agent.macros.healing import Healer
from agent.macros.player import MacroPlayer, PlaySettings
from agent.macros.report import render
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
from agent.ports import Effect, Element
from agent.records.history import RunRecorder, load_run
from agent.records.schema import RunInfo
from agent.run.capture import Capture, SettleSettings
from agent.run.executor import GuardedExecutor
from agent.run.harness import RunHarness
from agent.run.policy import ConfirmMode, Policy, PolicyConfig
from agent.testing.fake import FakeComputer
from agent.testing.operator import FakeOperator
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


def _replay(tree: FakeTree, tmp_path: Path) -> tuple[object, MacroPlayer, FakeComputer, list[str]]:
    """Play a one-click macro whose target only the element tier finds; the run recorded under tmp_path."""
    frame, anchor = _restyled()
    computer = FakeComputer(region=Region(0, 0, 640, 480), image=frame.image)  # type: ignore[attr-defined]
    recorder = RunRecorder.start(tmp_path, RunInfo(id="", task="macro", backend="macro", model="none", started_at=""))
    harness = RunHarness(computer, recorder=recorder)
    executor = GuardedExecutor(
        computer, Policy(PolicyConfig(confirm=ConfirmMode.NEVER)), FakeOperator(), computer.cancel, harness.emit
    )
    capture = Capture(computer, computer.cancel, SettleSettings(quiet_s=0.0, timeout_s=0.1), tree=tree)
    said: list[str] = []
    player = MacroPlayer(
        executor, capture, harness, Healer(tree=tree), PlaySettings(anchor_timeout_s=0.0), say=said.append, tree=tree
    )
    macro = Macro(monitor=MONITOR, steps=[MacroStep(action={"action": "left_click", "x": 330, "y": 215},
                                                    anchor=anchor)])  # type: ignore[arg-type]
    return player.play(macro, [{}], "macro"), player, computer, said


def test_a_replayed_element_step_records_what_confirmed_it(tmp_path: Path) -> None:
    tree = FakeTree([FIELD])
    result, player, computer, _said = _replay(tree, tmp_path)
    assert result.outcome == "success" and [a.screen_xy for a in computer.performed] == [(280, 312)]  # type: ignore[attr-defined]
    assert tree.watched == [("entry", "Email", 0)]
    [step] = player.log.steps
    assert step.effect == "confirmed: focus moved"
    assert "confirmed: focus moved" in render("replay", "success", player.log.steps)
    _info, records = load_run(tmp_path, "latest")
    assert records[0].actions[0].effect == "event object:state-changed:focused"


def test_a_replayed_step_without_effect_is_said_and_fails_only_on_a_disabled_element(tmp_path: Path) -> None:
    tree = FakeTree([FIELD])
    tree.effect = Effect("", "", 1.0)
    result, player, computer, said = _replay(tree, tmp_path / "enabled")
    assert result.outcome == "success" and len(computer.performed) == 1  # type: ignore[attr-defined]
    assert player.log.steps[0].effect == "no effect seen within 1 s"
    assert any("saw no effect within 1 s (not retried)" in line for line in said)
    locked = replace(FIELD, states=frozenset({"showing", "visible"}))
    tree = FakeTree([locked])
    tree.effect = Effect("", "", 1.0)
    result, _player, computer, _said = _replay(tree, tmp_path / "disabled")
    assert result.outcome == "failure" and "is disabled and showed no effect" in result.detail
    assert len(computer.performed) == 1  # type: ignore[attr-defined]  # not retried

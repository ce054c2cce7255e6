"""Grounding a model's click in the accessibility tree: named matches snap, anything else stays put."""

from __future__ import annotations

import pytest

from agent.actions import ACTION_ADAPTER, ScreenAction
from agent.computer_use.snapping import Snapper, choose_snap, described_target, name_match
from agent.geometry import Region
from agent.ports import Element
from agent.run.events import StepFinished
from agent.testing.tree import FakeTree
from tests.support import call
from tests.test_loop import DONE, make_loop

SAVE = Element("push button", "Save", Region(900, 500, 80, 30))
SAVE_AS = Element("push button", "Save As", Region(1000, 500, 90, 30))
CANCEL = Element("push button", "Cancel", Region(900, 560, 80, 30))
USER_LABEL = Element("label", "Username", Region(700, 300, 90, 20))
USER_FIELD = Element("entry", "Username", Region(800, 296, 200, 28))


@pytest.mark.parametrize(
    ("name", "description", "fit"),
    [
        ("Save", "Save", 3),
        ("Save", "the Save button", 3),
        ("Save", "blue 'Save' button at the bottom", 2),
        ("Save changes", "Save", 1),
        ("Save As", "Save button", 1),
        ("Save", "Save As button", 2),
        ("Cancel", "the Save button", None),
        ("Save", "Saved items list", None),
        ("X", "the X in the corner", None),  # a one-letter name inside a sentence is no sign
        ("X", "X", 3),
        ("", "Save", None),
        ("Username", "username text field", 3),
    ],
)
def test_name_match_table(name: str, description: str, fit: int | None) -> None:
    assert name_match(name, description) == fit


@pytest.mark.parametrize(
    ("description", "thought", "target"),
    [
        ("Save button", "I click Cancel.", "Save button"),
        (None, "The form is filled. I will click the Save button.", "the Save button"),
        (None, "Action: Press on 'Submit', then wait", "'Submit'"),
        (None, "Let me look at the screen", ""),
        ("  ", "", ""),
    ],
)
def test_the_target_comes_from_the_description_else_the_reply(
    description: str | None, thought: str, target: str
) -> None:
    assert described_target(description, thought) == target


def test_a_click_25_px_off_a_button_described_as_it_snaps_to_its_centre() -> None:
    snap = choose_snap((915, 490 - 25), "Save button", [SAVE, SAVE_AS, CANCEL])
    assert snap.snapped_to == (940, 515)
    assert snap.element == SAVE
    assert "Save" in snap.reason


def test_a_click_described_as_something_else_is_not_snapped() -> None:
    snap = choose_snap((915, 465), "Search field", [SAVE, SAVE_AS, CANCEL])
    assert snap.snapped_to is None
    assert "no element within 40 px is named like 'Search field'" in snap.reason


def test_never_the_nearest_when_another_nearby_one_has_the_name() -> None:
    # Nearer to Save, but the model described Cancel, 35 px below the point.
    snap = choose_snap((940, 536), "Cancel", [SAVE, CANCEL])
    assert snap.snapped_to == (940, 575)


def test_an_element_farther_than_the_radius_is_not_snapped_to() -> None:
    assert choose_snap((940, 440), "Save", [SAVE]).snapped_to is None  # 60 px above it


def test_a_point_already_on_the_element_stays() -> None:
    snap = choose_snap((905, 505), "Save", [SAVE])
    assert snap.snapped_to is None and snap.element == SAVE and snap.reason.startswith("already on")


def test_two_equally_near_matches_are_a_guess() -> None:
    left = Element("push button", "Delete", Region(800, 500, 60, 30))
    right = Element("push button", "Delete", Region(900, 500, 60, 30))
    snap = choose_snap((880, 515), "Delete button", [left, right])
    assert snap.snapped_to is None and "two elements" in snap.reason


def test_no_description_no_snap() -> None:
    assert choose_snap((915, 465), "", [SAVE]).snapped_to is None


def click(x: int, y: int, description: str | None = None) -> ScreenAction:
    args: dict[str, object] = {"action": "left_click", "coordinate": (x, y)}
    if description is not None:
        args["element_description"] = description
    return ScreenAction(action=ACTION_ADAPTER.validate_python(args), x=x, y=y)


def test_the_snapper_asks_the_tree_and_moves_the_action() -> None:
    tree = FakeTree([SAVE, CANCEL, USER_LABEL, USER_FIELD])
    action, snap = Snapper(tree).snap(click(915, 465, "Save button"))
    assert (action.x, action.y) == (940, 515) and snap is not None and snap.moved
    # The label under the point does not hold a click meant for the field beside it.
    action, snap = Snapper(tree).snap(click(760, 310, "the Username field"))
    assert (action.x, action.y) == (900, 310)


def test_the_snapper_reads_the_target_from_the_reply_and_leaves_covered_elements() -> None:
    tree = FakeTree([SAVE], covered_names=["Save"])
    action, snap = Snapper(tree).snap(click(915, 465), "I will click the Save button.")
    assert (action.x, action.y) == (915, 465)
    assert snap is not None and "under another window" in snap.reason
    macro_step = ScreenAction.at_screen_point(click(915, 465, "Save").action, 915, 465)
    assert Snapper(FakeTree([SAVE])).snap(macro_step) == (macro_step, None)  # only model clicks


def test_the_loop_performs_the_snapped_click_and_records_why() -> None:
    # rel1000 (490, 444) is screen (940, 479) on the fake 1920x1080 computer: 21 px above Save.
    reply = call('{"action": "left_click", "coordinate": [490, 444], "element_description": "Save button"}')
    loop, computer, _backend, events, _settled = make_loop([reply, DONE], confirm="never")
    loop.snapper = Snapper(FakeTree([SAVE, CANCEL]))
    assert loop.run("save").outcome == "success"
    assert [a.screen_xy for a in computer.performed] == [(940, 515)]
    record = next(e.record for e in events if isinstance(e, StepFinished))
    snap = record.actions[0].snap
    assert snap is not None and snap["snapped"] and snap["to"] == [940, 515]
    assert snap["element"] == {"role": "push button", "name": "Save"}


def test_the_loop_leaves_a_click_described_as_something_else() -> None:
    reply = call('{"action": "left_click", "coordinate": [490, 444], "element_description": "Help link"}')
    loop, computer, _backend, events, _settled = make_loop([reply, DONE], confirm="never")
    loop.snapper = Snapper(FakeTree([SAVE, CANCEL]))
    loop.run("help")
    assert [a.screen_xy for a in computer.performed] == [(940, 479)]
    record = next(e.record for e in events if isinstance(e, StepFinished))
    assert record.actions[0].snap is not None and record.actions[0].snap["snapped"] is False

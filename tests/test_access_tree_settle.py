"""Settling on the accessibility tree's events where the window has a tree; targets named in narration."""

from __future__ import annotations

import pytest

from agent.access.narration import Narrator
from agent.access.roles import element_phrase
from agent.actions import ACTION_ADAPTER, ScreenAction
from agent.errors import StoppedError
from agent.geometry import Region
from agent.ports import Element
from agent.run.capture import Capture
from agent.run.events import ActionDecided, StepFinished
from agent.run.policy import Verdict
from agent.testing.fake import FakeComputer
from agent.testing.speech import FakeSpeech
from agent.testing.tree import FakeTree
from tests.test_loop import CLICK, DONE, make_loop

SAVE = Element("push button", "Save", Region(900, 500, 80, 30))


def test_a_window_with_a_tree_settles_on_its_events_without_a_capture() -> None:
    computer = FakeComputer()
    tree = FakeTree([SAVE])
    result = Capture(computer, computer.cancel, tree=tree).settle()
    assert (result.source, result.settled, result.polls) == ("tree", True, 0)
    assert tree.waits == [0.15]


def test_a_window_without_a_tree_settles_on_the_screen() -> None:
    computer = FakeComputer()
    tree = FakeTree([SAVE])
    tree.quiet = None
    result = Capture(computer, computer.cancel, tree=tree).settle()
    assert result.source == "screen" and result.polls >= 1
    assert Capture(computer, computer.cancel).settle().source == "screen"


def test_a_stop_during_the_wait_raises() -> None:
    computer = FakeComputer()
    computer.cancel.set()
    with pytest.raises(StoppedError):
        Capture(computer, computer.cancel, tree=FakeTree([SAVE])).settle()


def test_the_step_record_says_what_settling_waited_on() -> None:
    loop, _computer, _backend, events, _settled = make_loop([CLICK, DONE], confirm="never")
    loop.capture = Capture(loop.capture.computer, loop.capture.stop, tree=FakeTree([SAVE]))
    loop.run("click")
    records = [e.record for e in events if isinstance(e, StepFinished)]
    assert records[0].settled_by == "tree"


@pytest.mark.parametrize(
    ("role", "name", "phrase"),
    [
        ("push button", "Save", "the Save button"),
        ("entry", "Email", "the Email field"),
        ("check box", "Remember  me", "the Remember me checkbox"),
        ("link", "Pricing", "the Pricing link"),
        ("panel", "Sidebar", "the Sidebar panel"),
        ("push button", "", ""),
    ],
)
def test_element_phrase(role: str, name: str, phrase: str) -> None:
    assert element_phrase(role, name) == phrase


def _decided(x: int, y: int) -> ActionDecided:
    action = ACTION_ADAPTER.validate_python({"action": "left_click", "coordinate": (x, y)})
    return ActionDecided(1, ScreenAction(action=action, x=x, y=y), Verdict("allow"))


def test_narration_names_the_target_by_its_accessible_name_and_role() -> None:
    speech = FakeSpeech()
    narrator = Narrator(speech, FakeTree([SAVE]))
    narrator(_decided(940, 515))
    narrator(_decided(100, 100))  # nothing there: the place in words, as without a tree
    assert speech.texts == ["Clicking the Save button", "Clicking in the screen"]

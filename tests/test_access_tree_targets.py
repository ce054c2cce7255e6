"""Click by name on the accessibility tree, with the fake tree: which element a name means, and what is done."""

from __future__ import annotations

import pytest

from agent.access.clicking import ClickByName, ClickRequest
from agent.access.tree_targets import tree_matches
from agent.geometry import Region
from agent.ports import Element, TextBox
from agent.run.capture import Capture, SettleSettings
from agent.run.executor import GuardedExecutor
from agent.run.harness import RunHarness
from agent.run.policy import ConfirmMode, Policy, PolicyConfig
from agent.run.ports import ConfirmResult
from agent.testing.fake import FakeComputer
from agent.testing.operator import FakeOperator
from agent.testing.reader import FakeReader
from agent.testing.tree import FakeTree
from tests.test_access_click import Recorded


def el(role: str, name: str, left: int, top: int, *, page: bool = False) -> Element:
    return Element(role, name, Region(left, top, 60, 20), in_document=page)


UI_CLOSE = el("push button", "Close", 900, 10)  # Chromium's tab close: ends the browser
PAGE_CLOSE = el("push button", "Close", 300, 300, page=True)
SAVE = el("push button", "Save", 100, 100)
SAVE_AS = el("push button", "Save as…", 200, 100)
DELETE_LOW = el("push button", "Delete", 100, 400)
DELETE_HIGH = el("push button", "Delete", 400, 200)


@pytest.mark.parametrize(
    ("name", "elements", "expected"),
    [
        ("save", [SAVE_AS, SAVE], [SAVE]),  # exact beats loose
        ("save as", [SAVE_AS, SAVE], [SAVE_AS]),
        ("Close", [UI_CLOSE, PAGE_CLOSE], [PAGE_CLOSE]),  # the page before the browser's own UI
        ("Close", [UI_CLOSE], [UI_CLOSE]),
        ("Delete", [DELETE_LOW, DELETE_HIGH], [DELETE_HIGH, DELETE_LOW]),  # reading order
        ("Germany", [el("menu item", "Germany", 10, 10, page=True)], []),  # a closed select's option
        ("  ", [SAVE], []),
        ("Open", [SAVE], []),
    ],
)
def test_which_elements_a_name_means(name: str, elements: list[Element], expected: list[Element]) -> None:
    assert tree_matches(name, elements) == expected


def clicker(tree: FakeTree, confirm: str = "never") -> tuple[ClickByName, FakeComputer, FakeReader]:
    computer = FakeComputer(region=Region(0, 0, 960, 540))
    harness = RunHarness(computer, recorder=Recorded(), observers=[])
    operator = FakeOperator(default=ConfirmResult("rejected"), resume_default=False)
    executor = GuardedExecutor(
        computer, Policy(PolicyConfig(confirm=ConfirmMode(confirm))), operator, computer.cancel, harness.emit
    )
    capture = Capture(computer, computer.cancel, SettleSettings(quiet_s=0.0, timeout_s=0.1))
    reader = FakeReader([TextBox("Save", 10, 10, 50, 30)])
    return ClickByName(reader, executor, capture, harness, tree=tree), computer, reader


def test_the_tree_is_asked_before_ocr_and_the_centre_is_clicked() -> None:
    click, computer, reader = clicker(FakeTree([SAVE]))
    outcome = click.run(ClickRequest("Save"))
    assert outcome.exit_code == 0 and outcome.found.source == "the accessibility tree"
    assert [a.screen_xy for a in computer.performed] == [(130, 110)]
    assert reader.reads == 0


def test_no_pointer_presses_through_the_executor_and_moves_nothing() -> None:
    tree = FakeTree([SAVE])
    click, computer, _ = clicker(tree)
    assert click.run(ClickRequest("Save", no_pointer=True)).exit_code == 0
    assert tree.actions == [("push button", "Save", None)] and computer.performed == []


def test_a_covered_element_is_refused() -> None:
    tree = FakeTree([SAVE], covered_names={"Save"})
    click, computer, _ = clicker(tree)
    outcome = click.run(ClickRequest("Save"))
    assert outcome.exit_code == 1 and "covered" in outcome.result.detail
    assert computer.performed == [] and tree.actions == []


def test_no_tree_match_falls_back_to_ocr() -> None:
    click, computer, reader = clicker(FakeTree([DELETE_LOW]))
    outcome = click.run(ClickRequest("Save"))
    assert outcome.exit_code == 0 and outcome.found.source == "OCR" and reader.reads == 1


def test_no_pointer_still_asks_and_a_refusal_presses_nothing() -> None:
    tree = FakeTree([SAVE])
    click, computer, _ = clicker(tree, confirm="always")  # the fake operator rejects
    outcome = click.run(ClickRequest("Save", no_pointer=True))
    assert outcome.exit_code == 1 and "rejected" in outcome.result.detail
    assert tree.actions == [] and computer.performed == []

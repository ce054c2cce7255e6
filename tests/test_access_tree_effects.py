"""Confirming a tree-found click or press: what counts as its effect, and what seeing none means (fake tree)."""

from __future__ import annotations

import threading

import pytest

from agent.access.clicking import ClickByName, ClickRequest
from agent.effects import CONFIRM_TIMEOUT_S, counts_as_effect, effect_words, event_words, reading_change
from agent.geometry import Region
from agent.ports import Effect, Element, Reading, TextBox
from agent.run.capture import Capture, SettleSettings
from agent.run.executor import GuardedExecutor
from agent.run.harness import RunHarness
from agent.run.policy import ConfirmMode, Policy, PolicyConfig
from agent.run.ports import ConfirmResult
from agent.testing.fake import FakeComputer
from agent.testing.operator import FakeOperator
from agent.testing.reader import FakeReader
from agent.testing.tree import FakeTree, FakeWatch
from tests.test_access_click import Recorded

ENABLED = frozenset({"enabled", "sensitive", "showing", "visible", "focusable"})
SAVE = Element("push button", "Save", Region(100, 100, 60, 20), states=ENABLED)
LOCKED = Element("push button", "Locked", Region(200, 100, 60, 20), states=frozenset({"showing", "visible"}))
NOTHING = Effect("", "", CONFIRM_TIMEOUT_S)

BUTTON = Reading("push button", "Save", frozenset({"enabled", "sensitive"}))


@pytest.mark.parametrize(
    ("after", "change"),
    [
        (BUTTON, ""),
        (None, "the element is gone"),
        (Reading("push button", "Save", frozenset({"enabled", "sensitive", "checked"})), "states +checked"),
        (Reading("push button", "Save", frozenset({"enabled"})), "states -sensitive"),
        (Reading("push button", "Saved", BUTTON.states), "name 'Save' → 'Saved'"),
        (Reading("push button", "Save", BUTTON.states, text="x"), "text changed"),
        (Reading("push button", "Save", BUTTON.states, value=2.0), "value None → 2.0"),
        (Reading("invalid", "Save", frozenset()), "role push button → invalid; states -enabled -sensitive"),
    ],
)
def test_what_a_second_reading_counts_as_a_change(after: Reading | None, change: str) -> None:
    assert reading_change(BUTTON, after) == change


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("object:state-changed:focused", "focus moved"),
        ("object:state-changed:checked", "a check state changed"),
        ("object:state-changed:armed", "a state changed"),
        ("object:text-changed:insert", "text changed"),
        ("object:property-change:accessible-name", "a name changed"),
        ("window:create", "a window opened"),
        ("document:load-complete", "a page loaded"),
        ("object:bounds-changed", "object:bounds-changed"),  # unknown kinds are said as they are
    ],
)
def test_events_in_words(kind: str, words: str) -> None:
    assert event_words(kind) == words


@pytest.mark.parametrize(
    ("kind", "role", "counts"),
    [
        ("object:state-changed:focused", "push button", True),
        ("object:text-changed:insert", "label", True),
        ("window:create", "frame", True),
        # GTK3 sends these for live objects some ms after they were read: no action's doing.
        ("object:state-changed:defunct", "push button", False),
        ("object:property-change:accessible-role", "filler", False),
        ("object:state-changed:showing", "tool tip", False),  # hovering shows it, clicked or not
    ],
)
def test_which_events_can_confirm_an_action(kind: str, role: str, counts: bool) -> None:
    assert counts_as_effect(kind, role) is counts


def test_the_record_and_the_words_say_what_confirmed_it() -> None:
    focus = Effect("event", "object:state-changed:focused", 0.01)
    assert (focus.to_record(), effect_words(focus)) == ("event object:state-changed:focused", "focus moved")
    reread = Effect("re-read", "states +checked", 1.0)
    assert (reread.to_record(), effect_words(reread)) == ("re-read: states +checked", "re-read: states +checked")
    assert (NOTHING.to_record(), NOTHING.seen) == ("none", False)


def clicker(tree: FakeTree, confirm: str = "never") -> tuple[ClickByName, FakeComputer, Recorded, list[str]]:
    computer = FakeComputer(region=Region(0, 0, 960, 540))
    recorder = Recorded()
    harness = RunHarness(computer, recorder=recorder, observers=[])
    operator = FakeOperator(default=ConfirmResult("rejected"), resume_default=False)
    executor = GuardedExecutor(
        computer, Policy(PolicyConfig(confirm=ConfirmMode(confirm))), operator, computer.cancel, harness.emit
    )
    capture = Capture(computer, computer.cancel, SettleSettings(quiet_s=0.0, timeout_s=0.1), tree=tree)
    lines: list[str] = []
    click = ClickByName(
        FakeReader([TextBox("Save", 10, 10, 50, 30)]), executor, capture, harness, tree=tree, on_line=lines.append
    )
    return click, computer, recorder, lines


def test_a_confirmed_click_says_and_records_what_confirmed_it() -> None:
    tree = FakeTree([SAVE])
    click, computer, recorder, lines = clicker(tree)
    outcome = click.run(ClickRequest("Save"))
    assert outcome.exit_code == 0
    assert lines[-1] == outcome.result.detail == (
        "clicked the push button Save, top left (found by the accessibility tree; confirmed: focus moved)"
    )
    assert len(computer.performed) == 1
    assert tree.watched == [("push button", "Save", 0)] and tree.effect_waits == [CONFIRM_TIMEOUT_S]
    [action] = recorder.steps[0].actions
    assert action.effect == "event object:state-changed:focused"
    assert recorder.steps[0].timings["effect_s"] == 0.01


def test_a_press_is_watched_before_it_is_performed() -> None:
    tree = FakeTree([SAVE])
    click, _, recorder, _ = clicker(tree)
    tree.effect = Effect("re-read", "states +checked", 1.0)
    outcome = click.run(ClickRequest("Save", no_pointer=True))
    assert outcome.exit_code == 0 and "confirmed: re-read: states +checked" in outcome.result.detail
    assert tree.watched == [("push button", "Save", 0)] and tree.actions == [("push button", "Save", None)]
    assert recorder.steps[0].actions[0].effect == "re-read: states +checked"


def test_a_press_with_no_effect_fails_and_is_not_retried() -> None:
    tree = FakeTree([SAVE])
    tree.effect = NOTHING
    click, computer, recorder, lines = clicker(tree)
    outcome = click.run(ClickRequest("Save", no_pointer=True))
    assert outcome.exit_code == 1
    assert outcome.result.detail == (
        "pressed the push button Save, top left but saw no effect within 1 s "
        "(found by the accessibility tree; not retried: it may have acted)"
    )
    assert tree.actions == [("push button", "Save", None)] and computer.performed == []
    assert recorder.steps[0].actions[0].effect == "none"
    assert lines[-1] == "No effect seen"


def test_a_click_with_no_effect_on_an_enabled_element_succeeds_saying_so() -> None:
    tree = FakeTree([SAVE])
    tree.effect = NOTHING
    click, computer, _, lines = clicker(tree)
    outcome = click.run(ClickRequest("Save"))
    assert outcome.exit_code == 0 and len(computer.performed) == 1
    assert "but saw no effect within 1 s" in outcome.result.detail
    assert outcome.result.detail.endswith("not retried: the click reached its box)")
    assert lines[-1] == outcome.result.detail  # the result line is shown, not only recorded


def test_a_click_with_no_effect_on_a_disabled_element_fails() -> None:
    tree = FakeTree([LOCKED])
    tree.effect = NOTHING
    click, computer, _, _ = clicker(tree)
    outcome = click.run(ClickRequest("Locked"))
    assert outcome.exit_code == 1 and len(computer.performed) == 1
    assert outcome.result.detail.endswith("not retried: the tree says it is disabled)")


class _StoppedWhileWaiting(FakeWatch):
    def wait(self, timeout_s: float, stop: threading.Event) -> Effect:
        stop.set()  # the kill hotkey, pressed while the effect is awaited
        return super().wait(timeout_s, stop)


def test_a_stop_while_waiting_for_the_effect_ends_the_run_before_settling() -> None:
    tree = FakeTree([SAVE])
    tree.watch = lambda element: _StoppedWhileWaiting(tree, element)  # type: ignore[method-assign]
    click, _, recorder, _ = clicker(tree)
    outcome = click.run(ClickRequest("Save", no_pointer=True))
    assert outcome.result.outcome == "stopped" and outcome.exit_code == 3
    assert tree.waits == []  # never settled after the stop
    assert tree.actions == [("push button", "Save", None)]


def test_a_dry_run_and_an_ocr_click_watch_nothing() -> None:
    tree = FakeTree([SAVE])
    click, _, _, _ = clicker(tree)
    click.executor.dry_run = True
    assert click.run(ClickRequest("Save")).exit_code == 0 and tree.watched == []
    ocr_tree = FakeTree([LOCKED])
    ocr_click, computer, recorder, _ = clicker(ocr_tree)
    outcome = ocr_click.run(ClickRequest("Save"))
    assert outcome.found.source == "OCR" and len(computer.performed) == 1
    assert ocr_tree.watched == [] and recorder.steps[0].actions[0].effect == ""


def test_an_element_gone_before_the_action_is_not_acted_on() -> None:
    tree = FakeTree([SAVE])
    click, computer, _, _ = clicker(tree)
    original = tree.watch

    def gone(element: Element) -> FakeWatch:
        tree.elements = []  # it went between the lookup and the action
        return original(element)

    tree.watch = gone  # type: ignore[method-assign]
    outcome = click.run(ClickRequest("Save"))
    assert outcome.exit_code == 1 and "gone from the window" in outcome.result.detail
    assert computer.performed == []


class _Source:
    """An event's source as AT-SPI gives it; every one hashes alike, as a collected object's
    hash (its pointer) may come back as a new object's."""

    def __init__(self, pid: int, role: str) -> None:
        self.pid, self.role, self.asked = pid, role, 0

    def __hash__(self) -> int:
        return 1

    def get_process_id(self) -> int:
        self.asked += 1
        return self.pid

    def get_role_name(self) -> str:
        return self.role


def test_an_event_source_is_known_by_itself_not_by_a_hash_another_had() -> None:
    from agent.computers.atspi.events import Heard
    from agent.computers.atspi.tree import _AtspiWatch

    before = Reading("push button", "Count", frozenset(), "", None)
    watch = _AtspiWatch(None, None, None, 7, before, 0, 0.0)  # type: ignore[arg-type]
    other, watched = _Source(99, "label"), _Source(7, "label")
    assert not watch._counts(Heard(1, 0.0, "object:text-changed:insert", other))  # another application's
    assert watch._counts(Heard(2, 0.0, "object:text-changed:insert", watched))  # the watched one's
    assert watch._counts(Heard(3, 0.0, "object:text-changed:insert", watched))
    assert (other.asked, watched.asked) == (1, 1)  # each source asked once

"""--marks: the numbered list, the drawing, 'click element N' parsed, resolved, refused, and judged by the policy."""

from __future__ import annotations

import pytest
from PIL import Image

from agent.actions import ACTION_ADAPTER, ScreenAction, is_pointer_click
from agent.computer_use.marks import (
    MAX_MARKS,
    NO_ELEMENTS,
    NO_TREE,
    Marker,
    MarkRefused,
    MarkSet,
    choose_marks,
    draw_marks,
    image_box,
    marks_text,
    resolve,
)
from agent.computer_use.parsing import parse_reply
from agent.computer_use.prompts import PromptSettings, build_request, computer_use_tool
from agent.computer_use.snapping import Snapper
from agent.errors import ReplyError
from agent.geometry import CaptureGeometry, Region
from agent.ports import Element
from agent.run.events import StepFinished
from agent.run.policy import ConfirmMode, Policy, PolicyConfig
from agent.run.ports import ConfirmResult
from agent.scaling import FrameKind, ModelFrame
from agent.testing.operator import FakeOperator
from agent.testing.tree import FakeTree
from agent.wording import describe_action
from tests.support import call
from tests.test_loop import DONE, make_loop

SCREEN = Region(0, 0, 1920, 1080)
SAVE = Element("push button", "Save", Region(900, 500, 80, 30))
CANCEL = Element("push button", "Cancel", Region(1000, 500, 80, 30))
NAME = Element("entry", "Name", Region(100, 200, 300, 28))
LABEL = Element("label", "Name:", Region(20, 200, 60, 28))  # not a target
OFF = Element("push button", "Hidden", Region(2000, 500, 80, 30))  # off the captured monitor
EDGE = Element("link", "Half", Region(1880, 1000, 100, 200))  # partly on it


def click(args: str) -> str:
    return call(args)


# -- parsing -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["left_click", "right_click", "double_click", "middle_click", "triple_click"])
def test_a_click_may_name_a_marked_element_instead_of_a_point(name: str) -> None:
    [action] = parse_reply(click(f'{{"action": "{name}", "element": 7}}')).actions
    assert (action.action, getattr(action, "element", None), action.point) == (name, 7, None)


def test_a_number_as_a_string_is_still_the_number() -> None:
    [action] = parse_reply(click('{"action": "left_click", "element": "12"}')).actions
    assert getattr(action, "element", None) == 12


@pytest.mark.parametrize("value", ["null", '"Save"', "0", "-3", "true", "2.5", "[7]"])
def test_an_element_that_is_not_a_number_is_a_clear_error(value: str) -> None:
    with pytest.raises(ReplyError, match="'element': must be the number of an element on the marked list"):
        parse_reply(click(f'{{"action": "left_click", "element": {value}}}'))


def test_a_point_and_an_element_together_are_refused() -> None:
    with pytest.raises(ReplyError, match="left_click: give either 'coordinate' or 'element', not both"):
        parse_reply(click('{"action": "left_click", "element": 7, "coordinate": [10, 20]}'))


def test_typing_takes_no_element() -> None:
    with pytest.raises(ReplyError, match="type takes no argument 'element'"):
        parse_reply(click('{"action": "type", "text": "hi", "element": 7}'))


# -- choosing and listing --------------------------------------------------------------


def test_marks_are_targets_on_screen_in_reading_order_one_per_box() -> None:
    marks = choose_marks([CANCEL, SAVE, LABEL, OFF, NAME, SAVE, EDGE], SCREEN)
    assert [(m.number, m.element.name) for m in marks] == [(1, "Name"), (2, "Save"), (3, "Cancel"), (4, "Half")]
    assert marks[3].visible == Region(1880, 1000, 40, 80)  # clipped to the monitor
    assert marks_text(marks) == "1: entry 'Name'\n2: push button 'Save'\n3: push button 'Cancel'\n4: link 'Half'"


def test_the_list_is_capped_keeping_the_top_of_the_screen() -> None:
    many = [Element("push button", f"B{i}", Region(10, 10 + 12 * i, 40, 10)) for i in range(MAX_MARKS + 15)]
    marks = choose_marks(list(reversed(many)), SCREEN)
    assert len(marks) == MAX_MARKS
    assert [m.element.name for m in marks[:2]] == ["B0", "B1"] and marks[-1].element.name == f"B{MAX_MARKS - 1}"


def test_a_long_name_is_clipped_in_the_list_but_not_in_the_record() -> None:
    long = Element("link", "Read the whole terms and conditions of this service here", Region(0, 0, 50, 10))
    [mark] = choose_marks([long], SCREEN)
    assert mark.words == "link 'Read the whole terms and conditions of …'"
    assert mark.to_record()["name"] == long.name


# -- drawing -------------------------------------------------------------------------


def test_image_box_maps_screen_boxes_onto_a_resized_or_hidpi_capture() -> None:
    geometry = CaptureGeometry(Region(1920, 0, 1920, 1080), 3840, 2160)  # second monitor, scale 2
    assert image_box(Region(2020, 100, 50, 20), geometry, (3840, 2160)) == (200, 200, 300, 240)
    assert image_box(Region(2020, 100, 50, 20), geometry, (960, 540)) == (50, 50, 75, 60)


def test_drawing_outlines_each_box_and_labels_it_on_a_copy() -> None:
    image = Image.new("RGB", (400, 300), (255, 255, 255))
    drawn = draw_marks(image, [(7, (100, 100, 200, 140)), (12, (10, 0, 60, 30))])
    assert image.getpixel((100, 120)) == (255, 255, 255)  # the input is untouched
    red = (230, 20, 60)
    assert drawn.getpixel((100, 120)) == red and drawn.getpixel((199, 120)) == red  # left and right edges
    assert drawn.getpixel((150, 139)) == red  # bottom edge
    assert drawn.getpixel((150, 120)) == (255, 255, 255)  # the control itself stays visible
    assert drawn.getpixel((101, 96)) == red  # the label above the top-left corner
    assert drawn.getpixel((11, 2)) == red  # at the image's top edge the label goes inside the box
    untouched = [drawn.getpixel((x, y)) for x in range(250, 400, 10) for y in range(160, 300, 10)]
    assert set(untouched) == {(255, 255, 255)}


# -- resolving -----------------------------------------------------------------------


def screen_click(number: int, name: str = "left_click") -> ScreenAction:
    return ScreenAction(action=ACTION_ADAPTER.validate_python({"action": name, "element": number}))


def test_a_listed_number_resolves_to_the_visible_centre() -> None:
    marks = MarkSet(choose_marks([SAVE, EDGE], SCREEN), CaptureGeometry.unscaled(SCREEN))
    action, mark = resolve(screen_click(2), marks)
    assert action.screen_xy == (1900, 1040) and mark.element is EDGE  # the centre of the part on screen
    action, _ = resolve(screen_click(1), marks)
    assert action.screen_xy == (940, 515)
    assert describe_action(action.to_json_dict()) == "Click element 1 (push button 'Save') at (940, 515)"


@pytest.mark.parametrize("number", [0, 3, 99])
def test_a_number_not_on_the_list_is_refused_never_guessed(number: int) -> None:
    marks = MarkSet(choose_marks([SAVE, CANCEL], SCREEN), CaptureGeometry.unscaled(SCREEN))
    action = ScreenAction.model_construct(action=ACTION_ADAPTER.validate_python({"action": "left_click"}))
    object.__setattr__(action.action, "element", number)
    with pytest.raises(MarkRefused, match=f"element {number} is not on the list .the marked elements are 1 to 2."):
        resolve(action, marks)


def test_without_marks_a_number_is_refused() -> None:
    with pytest.raises(MarkRefused, match="no numbered elements"):
        resolve(screen_click(1), None)


def test_an_element_click_is_never_a_click_at_the_pointer() -> None:
    assert is_pointer_click(screen_click(4).action) is False
    assert is_pointer_click(ACTION_ADAPTER.validate_python({"action": "left_click"})) is True


def test_an_unresolved_element_click_is_denied_by_the_policy_never_sent_to_the_pointer() -> None:
    policy = Policy(PolicyConfig(confirm=ConfirmMode.NEVER), pointer_at=lambda: (5, 5))
    verdict = policy.decide(screen_click(4), SCREEN)
    assert (verdict.decision, verdict.reason) == ("deny", "element 4 was not found on the screen")


# -- the marker ----------------------------------------------------------------------


def test_the_marker_says_once_when_there_is_no_tree() -> None:
    said: list[str] = []
    marker = Marker(None, said.append)
    geometry = CaptureGeometry.unscaled(SCREEN)
    assert marker.marks(geometry) is None and marker.marks(geometry) is None
    assert said == [NO_TREE]
    assert Marker(FakeTree([SAVE]), said.append).marks(geometry) is not None
    assert said == [NO_TREE]
    said.clear()
    assert Marker(FakeTree([]), said.append).marks(geometry) is None  # a bus, but no window with a tree
    assert said == [NO_TREE]


def test_the_marker_says_once_when_the_window_has_a_tree_but_nothing_clickable_on_screen() -> None:
    said: list[str] = []
    tree = FakeTree([LABEL, OFF])  # a tree: a label, and a button off the captured monitor
    marker = Marker(tree, said.append)
    geometry = CaptureGeometry.unscaled(SCREEN)
    assert marker.marks(geometry) is None and marker.marks(geometry) is None
    assert said == [NO_ELEMENTS]
    tree.elements = []  # then a window without a tree: that is said too, once
    assert marker.marks(geometry) is None and marker.marks(geometry) is None
    assert said == [NO_ELEMENTS, NO_TREE]


# -- the prompt ----------------------------------------------------------------------


FRAME = ModelFrame.for_image(FrameKind.REL1000, 1920, 1080)


def test_without_marks_the_tool_and_prompt_are_the_cookbooks() -> None:
    plain = build_request("save", [], [Image.new("RGB", (64, 36))], FRAME)
    assert plain.tools == [computer_use_tool(FRAME)]
    assert "element" not in plain.tools[0]["function"]["parameters"]["properties"]
    assert "umbered" not in str(plain.messages)


def test_with_marks_the_tool_takes_an_element_and_the_list_follows_the_screenshot() -> None:
    settings = PromptSettings(marks=True)
    request = build_request("save", [], [Image.new("RGB", (64, 36))], FRAME, settings=settings,
                            marks="1: push button 'Save'")
    properties = request.tools[0]["function"]["parameters"]["properties"]
    assert properties["element"]["type"] == "integer"
    parts = request.messages[1]["content"]
    assert [p["type"] for p in parts] == ["text", "image", "text"]
    assert '"element": 7' in parts[0]["text"]
    assert parts[2]["text"].endswith("Numbered elements:\n1: push button 'Save'")
    empty = build_request("save", [], [Image.new("RGB", (64, 36))], FRAME, settings=settings)
    assert empty.tools == request.tools  # the system prompt stays the same on a step without marks
    assert "No element is numbered" in empty.messages[1]["content"][2]["text"]


# -- the loop ------------------------------------------------------------------------


def marked_loop(replies: list[str], elements: list[Element], *, confirm: str = "never", operator=None):
    loop, computer, backend, events, _ = make_loop(replies, confirm=confirm, operator=operator)
    computer.colour = (255, 255, 255)
    loop.planner.settings = PromptSettings(marks=True)
    tree = FakeTree(elements)
    loop.marker = Marker(tree)
    loop.snapper = Snapper(tree)
    return loop, computer, backend, events


def steps(events: list[object]):
    return [e.record for e in events if isinstance(e, StepFinished)]


def test_the_loop_clicks_the_listed_element_and_records_it() -> None:
    loop, computer, backend, events = marked_loop([click('{"action": "left_click", "element": 2}'), DONE],
                                                  [SAVE, CANCEL])
    assert loop.run("cancel").outcome == "success"
    assert [a.screen_xy for a in computer.performed] == [(1040, 515)]
    first = steps(events)[0]
    assert first.marks is not None and [m["name"] for m in first.marks] == ["Save", "Cancel"]
    action = first.actions[0]
    assert action.screen["element_words"] == "element 2 (push button 'Cancel')"
    assert action.mark == {"number": 2, "role": "push button", "name": "Cancel", "box": [1000, 500, 80, 30]}
    parts = backend.requests[0].messages[1]["content"]
    assert parts[2]["text"].endswith("1: push button 'Save'\n2: push button 'Cancel'")
    assert parts[1]["image"].getpixel((1000, 515)) == (230, 20, 60)  # the model's image is marked


def test_an_unknown_number_clicks_nothing_and_tells_the_model() -> None:
    loop, computer, backend, events = marked_loop([click('{"action": "left_click", "element": 9}'), DONE],
                                                  [SAVE, CANCEL])
    loop.run("cancel")
    assert computer.performed == [] and computer.clicked == []
    action = steps(events)[0].actions[0]
    assert (action.decision, action.performed) == ("deny", False)
    assert "element 9 is not on the list" in action.reason
    note = backend.requests[1].messages[1]["content"][2]["text"]
    assert "was refused (element 9 is not on the list (the marked elements are 1 to 2)" in note


def test_an_element_click_goes_through_the_policy_and_the_confirmation() -> None:
    operator = FakeOperator(default=ConfirmResult("rejected"))
    loop, computer, _backend, _events = marked_loop(
        [click('{"action": "left_click", "element": 1}'), DONE], [SAVE], confirm="always", operator=operator
    )
    loop.run("save")
    assert computer.performed == []
    assert operator.asked == ["every action is confirmed (confirm=always)"]
    assert operator.questions[0].action.screen_xy == (940, 515)  # the user is asked about the real point


def test_a_covered_element_is_refused() -> None:
    loop, computer, _backend, events = marked_loop([click('{"action": "left_click", "element": 1}'), DONE], [SAVE])
    assert loop.marker is not None
    loop.marker.tree = FakeTree([SAVE], covered_names=["Save"])
    loop.run("save")
    assert computer.performed == []
    assert "is under another window" in steps(events)[0].actions[0].reason

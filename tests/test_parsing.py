"""Model text → actions: the shapes real Qwen replies take, and every way they go wrong."""

from __future__ import annotations

import pytest

from agent.actions import (
    Answer,
    DoubleClick,
    HScroll,
    Key,
    LeftClick,
    LeftClickDrag,
    MiddleClick,
    MouseMove,
    RightClick,
    ScreenAction,
    Scroll,
    Terminate,
    TripleClick,
    Type,
    Wait,
)
from agent.computer_use.parsing import parse_reply
from agent.errors import ReplyError
from agent.wording import describe_action


def call(args: str) -> str:
    return f'<tool_call>\n{{"name": "computer_use", "arguments": {args}}}\n</tool_call>'


VALID = [
    # (reply text, expected actions)
    (call('{"action": "left_click", "coordinate": [512, 300]}'), [LeftClick(coordinate=(512, 300))]),
    (
        "Thought: the Save button is at the top left.\nAction: click Save.\n"
        + call('{"action": "left_click", "coordinate": [40, 20]}'),
        [LeftClick(coordinate=(40, 20))],
    ),
    (call('{"action": "type", "text": "打开浏览器"}'), [Type(text="打开浏览器")]),
    (call('{"action": "key", "keys": ["Return"]}'), [Key(keys=("enter",))]),
    (  # the last block lost its closing tag (generation stopped on it)
        '<tool_call>\n{"name": "computer_use", "arguments": {"action": "double_click", "coordinate": [1, 2]}}',
        [DoubleClick(coordinate=(1, 2))],
    ),
    (call('{"action": "right_click", "coordinate": [7, 8]}'), [RightClick(coordinate=(7, 8))]),
    (call('{"action": "mouse_move", "coordinate": [5, 6]}'), [MouseMove(coordinate=(5, 6))]),
    (
        'I will scroll.\n```json\n{"name": "computer_use", "arguments": {"action": "scroll", "pixels": -5}}\n```',
        [Scroll(pixels=-5)],
    ),
    ('{"action": "hscroll", "pixels": 3, "coordinate": [100, 100]}', [HScroll(pixels=3, coordinate=(100, 100))]),
    ('{"action_type": "click", "coordinates": [250, 750]}', [LeftClick(coordinate=(250, 750))]),
    ('{"action_type": "type", "text": "héllo"}', [Type(text="héllo")]),
    (call('{"action": "left_click", "coordinate": ["512", "300"]}'), [LeftClick(coordinate=(512, 300))]),
    (call('{"action": "left_click", "coordinate": "[512, 300]"}'), [LeftClick(coordinate=(512, 300))]),
    (call('{"action": "left_click", "coordinate": [512, 300],}'), [LeftClick(coordinate=(512, 300))]),
    (call('{"action": "left_click", "coordinate": [0, 0]}'), [LeftClick(coordinate=(0, 0))]),
    (call('{"action": "key", "keys": ["control", "shift", "ESC"]}'), [Key(keys=("ctrl", "shift", "escape"))]),
    (call('{"action": "key", "keys": ["ctrl+alt+t"]}'), [Key(keys=("ctrl", "alt", "t"))]),
    (call('{"action": "key", "keys": ["cmd", "space"]}'), [Key(keys=("super", "space"))]),
    (call('{"action": "key", "keys": ["win"]}'), [Key(keys=("super",))]),
    (call('{"action": "left_click_drag", "coordinate": [9, 9]}'), [LeftClickDrag(coordinate=(9, 9))]),
    (call('{"action": "middle_click", "coordinate": [3, 4]}'), [MiddleClick(coordinate=(3, 4))]),
    (call('{"action": "triple_click", "coordinate": [3, 4]}'), [TripleClick(coordinate=(3, 4))]),
    (call('{"action": "wait", "time": 2.5}'), [Wait(time=2.5)]),
    (call('{"action": "terminate", "status": "success"}'), [Terminate(status="success")]),
    (call('{"action": "answer", "text": "42"}'), [Answer(text="42")]),
    (call('{"action": "type", "text": "a, }"}'), [Type(text="a, }")]),  # comma repair spares strings
    (  # OpenAI servers send arguments as a JSON string
        '<tool_call>{"name": "computer_use", "arguments": "{\\"action\\": \\"wait\\", \\"time\\": 1}"}</tool_call>',
        [Wait(time=1)],
    ),
    ('Sure.\n{"name": "computer_use", "arguments": {"action": "wait", "time": 1}} Done.', [Wait(time=1)]),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid_replies_parse_to_actions(text: str, expected: list[object]) -> None:
    assert list(parse_reply(text).actions) == expected


def test_thought_is_kept_apart_from_the_call() -> None:
    reply = parse_reply("Thought: open the menu\n" + call('{"action": "wait", "time": 1}'))
    assert reply.thought == "Thought: open the menu"
    assert reply.no_action_reason is None


@pytest.mark.parametrize(
    "text",
    [
        "I would click at (512, 300) to open the menu.",
        "Click the button at [512, 300].",
        "coordinate: 512, 300",
        "   ",
        "```python\nprint('hi')\n```",
    ],
)
def test_prose_is_never_scraped_for_coordinates(text: str) -> None:
    reply = parse_reply(text)
    assert reply.actions == ()
    assert reply.no_action_reason


INVALID = [
    # (reply text, a fragment the message must contain)
    (call('{"action": "left_click", "coordinate": [512, 300]'), "not valid JSON"),
    ("<tool_call>\n</tool_call>", "tool call 1 is empty"),
    (call('{"action": "left_click", "coordinate": [100 + 20, 30]}'), "not valid JSON"),
    (call('{"action": "left_click", "coordinate": ["100+20", 30]}'), "'coordinate' must be two numbers"),
    (call('{"action": "left_click", "coordinate": [NaN, 30]}'), "NaN"),
    (call('{"action": "left_click", "coordinate": [Infinity, 30]}'), "Infinity"),
    (call('{"action": "left_click", "coordinate": ["inf", 30]}'), "'coordinate' must be two numbers"),
    (call('{"action": "left_click", "coordinate": ["left", "top"]}'), "'coordinate' must be two numbers"),
    (call('{"action": "left_click", "coordinate": [1, 2, 3]}'), "'coordinate' must be two numbers"),
    (call('{"action": "left_click", "coordinate": [true, 2]}'), "'coordinate' must be two numbers"),
    (call('{"action": "mouse_move"}'), "mouse_move needs argument 'coordinate'"),
    (call('{"action": "left_click_drag"}'), "left_click_drag needs argument 'coordinate'"),
    (call('{"action": "left_click", "coordinate": [1e999, 2]}'), "finite"),
    (call('{"action": "left_click", "coordinate": [' + "9" * 400 + ', 2]}'), "far outside any screen"),
    (call('{"action": "scroll", "pixels": 1e999}'), "finite"),
    (call('{"action": "scroll", "pixels": "lots"}'), "pixels must be a number"),
    (call('{"action": "scroll", "pixels": true}'), "pixels must be a number"),
    (call('{"action": "scroll", "pixels": 1000.6}'), "less than or equal to 1000"),
    ("<tool_call>" + "[" * 5000 + "]" * 5000 + "</tool_call>", "nested too deeply"),
    (call('{"action": "wait", "time": 1, "x": ' + "[" * 5000 + "]" * 5000 + "}"), "nested too deeply"),
    ("<tool_call>[]</tool_call>", "tool call 1 is empty"),
    (call('{"action": "type"}'), "type needs argument 'text'"),
    (call('{"action": "key", "keys": []}'), "keys"),
    (call('{"action": "key", "keys": ["hyper"]}'), "unknown key 'hyper'"),
    (call('{"action": "key", "keys": ["ctrl", "ü"]}'), "unknown key 'ü'"),
    (call('{"action": "fly_to", "coordinate": [1, 2]}'), "unknown action 'fly_to'"),
    (call('{"coordinate": [1, 2]}'), "missing required argument 'action'"),
    (call('{"action": "wait", "time": 61}'), "less than or equal to 60"),
    (call('{"action": "wait", "time": -1}'), "greater than or equal to 0"),
    (call('{"action": "scroll", "pixels": 100000}'), "pixels"),
    (call('{"action": "terminate", "status": "maybe"}'), "status"),
    (call('{"action": "wait", "time": 1, "speed": 3}'), "wait takes no argument 'speed'"),
    (call('{"action": "type", "text": "' + "x" * 4001 + '"}'), "text"),
    ('<tool_call>{"name": "browser", "arguments": {"action": "wait", "time": 1}}</tool_call>', "unknown function 'browser'"),
    ('<tool_call>{"name": "computer_use", "arguments": [1]}</tool_call>', "'arguments' must be a JSON object"),
    ('<tool_call>["left_click"]</tool_call>', "must be a JSON object"),
    ('{"action_type": "launch_rocket"}', "unknown action 'launch_rocket'"),
    ('{"action": "left_click", "coordinate": [1, 2]', "not valid JSON"),
]


@pytest.mark.parametrize(("text", "fragment"), INVALID)
def test_invalid_calls_raise_a_precise_message(text: str, fragment: str) -> None:
    with pytest.raises(ReplyError) as info:
        parse_reply(text)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_only_the_first_call_is_carried_out_and_the_rest_are_counted() -> None:
    """One call per answer, whichever backend: the local one stops at the first </tool_call>."""
    reply = parse_reply(
        "Thought: type it, then press Enter.\n"
        + call('{"action": "type", "text": "ls"}')
        + "\n"
        + call('{"action": "key", "keys": ["Return"]}')
        + call('{"action": "wait", "time": 1}')
    )
    assert reply.actions == (Type(text="ls"),)
    assert reply.ignored_calls == 2
    assert reply.thought == "Thought: type it, then press Enter."


@pytest.mark.parametrize(
    "text",
    [
        call('{"action": "left_click", "coordinate": [1, 2]}') + call('{"action": "nope"}'),
        call('{"action": "left_click", "coordinate": [1, 2]}') + "<tool_call>{broken",
        # a second call that starts before the first is closed
        '<tool_call>{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [1, 2]}}'
        '<tool_call>{"name": "computer_use", "arguments": {"action": "right_click", "coordinate": [7, 8]}}</tool_call>',
        # several objects (or a list) inside one block
        '<tool_call>{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [1, 2]}}\n'
        '{"name": "computer_use", "arguments": {"action": "wait", "time": 1}}</tool_call>',
        '<tool_call>[{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [1, 2]}}, '
        '{"name": "computer_use", "arguments": {"action": "nope"}}]</tool_call>',
    ],
)
def test_what_follows_the_first_call_is_never_parsed(text: str) -> None:
    reply = parse_reply(text)
    assert reply.actions == (LeftClick(coordinate=(1, 2)),)
    assert reply.ignored_calls == 1


def test_a_single_call_ignores_nothing() -> None:
    assert parse_reply(call('{"action": "wait", "time": 1}')).ignored_calls == 0


@pytest.mark.parametrize("name", ["left_click", "right_click", "middle_click", "double_click", "triple_click"])
def test_a_click_without_a_coordinate_is_a_click_at_the_pointer(name: str) -> None:
    (action,) = parse_reply(call(f'{{"action": "{name}"}}')).actions
    assert action.action == name and action.point is None
    assert parse_reply(call(f'{{"action": "{name}", "coordinate": null}}')).actions == (action,)


@pytest.mark.parametrize(
    ("pixels", "expected"),
    [("2.5", 3), ("-2.5", -3), ("2.4", 2), ("-0.4", 0), ('"1.6"', 2), ("5", 5), ("999.5", 1000)],
)
def test_fractional_scroll_amounts_are_rounded(pixels: str, expected: int) -> None:
    (action,) = parse_reply(call(f'{{"action": "scroll", "pixels": {pixels}}}')).actions
    assert action == Scroll(pixels=expected)
    (action,) = parse_reply(call(f'{{"action": "hscroll", "pixels": {pixels}}}')).actions
    assert action == HScroll(pixels=expected)


@pytest.mark.parametrize(
    "text",
    [
        '{"thought": "The search box is at the top.", "result": [769, 70]}',
        '{"bbox_2d": [10, 20, 30, 40], "label": "Save"}',
        'The button:\n```json\n{"bbox_2d": [10, 20, 30, 40]}\n```',
        'Found it: {"point_2d": [512, 300]} there.',
        '{"result": {"action": "left_click", "coordinate": [1, 2]}}',  # a call is never dug out of other JSON
        '[{"bbox_2d": [1, 2, 3, 4]}]',
    ],
)
def test_json_that_is_not_a_call_is_reported_as_no_tool_call(text: str) -> None:
    reply = parse_reply(text)
    assert reply.actions == ()
    assert reply.no_action_reason is not None
    assert reply.no_action_reason.startswith("the reply contains no tool call")
    assert "\n" not in reply.no_action_reason


def test_a_bare_call_keeps_the_trailing_comma_leniency() -> None:
    assert parse_reply('Sure: {"action": "wait", "time": 1,} done').actions == (Wait(time=1),)


# The seed guide's answer shape (/work/shared/seed, section 3.1): action_type,
# element_description, coordinates, text, scroll_amount, often all present at once.
SEED = [
    (
        '{"action_type": "click", "element_description": "Save button", "coordinates": [250, 750], "text": "", "scroll_amount": 0}',
        LeftClick(coordinate=(250, 750), element_description="Save button"),
    ),
    (
        '{"action_type": "double_click", "element_description": "report.pdf", "coordinates": [10, 20], "text": null}',
        DoubleClick(coordinate=(10, 20), element_description="report.pdf"),
    ),
    ('{"action_type": "right_click", "coordinates": [1, 2]}', RightClick(coordinate=(1, 2))),
    (
        '{"action_type": "type", "element_description": "search box", "text": "天气", "coordinates": null, "scroll_amount": 0}',
        Type(text="天气", element_description="search box"),
    ),
    (
        '{"action_type": "scroll", "element_description": "file list", "scroll_amount": -5, "text": ""}',
        Scroll(pixels=-5, element_description="file list"),
    ),
    (
        '{"action_type": "scroll", "scroll_amount": 3, "coordinates": [500, 500]}',
        Scroll(pixels=3, coordinate=(500, 500)),
    ),
    (
        '{"action_type": "drag", "element_description": "slider", "coordinates": [900, 40]}',
        LeftClickDrag(coordinate=(900, 40), element_description="slider"),
    ),
    ('```json\n{"action_type": "click", "coordinates": [5, 5], "element_description": "OK"}\n```', LeftClick(coordinate=(5, 5), element_description="OK")),
]


@pytest.mark.parametrize(("text", "expected"), SEED)
def test_the_seed_guides_answer_shape_is_read_with_all_its_fields(text: str, expected: object) -> None:
    assert parse_reply(text).actions == (expected,)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"action_type": "click", "element_description": "Save button"}', "click needs 'coordinates' [x, y] of 'Save button'"),
        ('{"action_type": "click", "element_description": "Save", "coordinates": null}', "needs 'coordinates'"),
        ('{"action_type": "type", "text": "hi", "coordinates": [1, 2]}', "click the field first"),
        ('{"action_type": "click", "coordinates": [1, 2], "text": "surprise"}', "left_click takes no argument 'text'"),
        ('{"action_type": "click", "coordinates": [1, 2], "element_description": 7}', "element_description"),
        ('{"action_type": "click", "coordinates": [1, 2], "element_description": "' + "x" * 201 + '"}', "element_description"),
    ],
)
def test_seed_shapes_that_cannot_be_done_say_why(text: str, fragment: str) -> None:
    with pytest.raises(ReplyError) as info:
        parse_reply(text)
    assert fragment in str(info.value)


def test_the_element_description_is_kept_for_the_record_and_the_words() -> None:
    (action,) = parse_reply(SEED[0][0]).actions
    screen = ScreenAction(action=action, x=480, y=810).to_json_dict()
    assert screen == {"action": "left_click", "x": 480, "y": 810, "element_description": "Save button"}
    assert action.arguments() == {"action": "left_click", "coordinate": [250.0, 750.0], "element_description": "Save button"}
    assert describe_action(screen) == "Click 'Save button' at (480, 810)"

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
    Scroll,
    Terminate,
    TripleClick,
    Type,
    Wait,
)
from agent.computer_use.parsing import parse_reply
from agent.errors import ReplyError


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
    (
        call('{"action": "type", "text": "打开浏览器"}') + "\n" + call('{"action": "key", "keys": ["Return"]}'),
        [Type(text="打开浏览器"), Key(keys=("enter",))],
    ),
    (  # the last block lost its closing tag (generation stopped on it)
        '<tool_call>\n{"name": "computer_use", "arguments": {"action": "double_click", "coordinate": [1, 2]}}',
        [DoubleClick(coordinate=(1, 2))],
    ),
    (  # a second call starts before the first is closed
        '<tool_call>{"name": "computer_use", "arguments": {"action": "mouse_move", "coordinate": [5, 6]}}'
        '<tool_call>{"name": "computer_use", "arguments": {"action": "right_click", "coordinate": [7, 8]}}</tool_call>',
        [MouseMove(coordinate=(5, 6)), RightClick(coordinate=(7, 8))],
    ),
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
    (call('{"action": "left_click"}'), "left_click needs argument 'coordinate'"),
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


def test_one_bad_call_rejects_the_whole_reply() -> None:
    text = call('{"action": "left_click", "coordinate": [1, 2]}') + call('{"action": "nope"}')
    with pytest.raises(ReplyError, match="tool call 2"):
        parse_reply(text)

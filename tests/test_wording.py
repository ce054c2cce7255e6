"""agent.wording: every action in words, from the flat screen form history stores."""

from __future__ import annotations

from typing import Any

import pytest

from agent.actions import ACTION_ADAPTER, ACTION_NAMES, ScreenAction
from agent.wording import TYPED_TEXT_CHARS, clip, describe_action, printable


@pytest.mark.parametrize(
    ("screen", "words"),
    [
        ({"action": "left_click", "x": 812, "y": 440}, "Click at (812, 440)"),
        ({"action": "left_click", "x": 0, "y": 0}, "Click at (0, 0)"),
        ({"action": "left_click", "x": -1920, "y": 5}, "Click at (-1920, 5)"),
        ({"action": "double_click", "x": 10, "y": 20}, "Double-click at (10, 20)"),
        ({"action": "right_click", "x": 10, "y": 20}, "Right-click at (10, 20)"),
        ({"action": "middle_click", "x": 10, "y": 20}, "Middle-click at (10, 20)"),
        ({"action": "triple_click", "x": 10, "y": 20}, "Triple-click at (10, 20)"),
        ({"action": "left_click"}, "Click at the pointer"),
        ({"action": "double_click"}, "Double-click at the pointer"),
        ({"action": "left_click", "x": 480, "y": 810, "element_description": "Save button"}, "Click 'Save button' at (480, 810)"),
        ({"action": "right_click", "element_description": "file"}, "Right-click 'file' at the pointer"),
        ({"action": "type", "text": "天气", "element_description": "search box"}, "Type '天气' into 'search box'"),
        ({"action": "scroll", "pixels": -5, "element_description": "file list"}, "Scroll down 5 over 'file list'"),
        ({"action": "left_click_drag", "x": 9, "y": 4, "element_description": "slider"}, "Drag to 'slider' at (9, 4)"),
        ({"action": "left_click", "x": 1, "y": 2, "element_description": "a\nb"}, "Click 'a⏎b' at (1, 2)"),
        ({"action": "mouse_move", "x": 5, "y": 6}, "Move the pointer to (5, 6)"),
        ({"action": "left_click_drag", "x": 300, "y": 400}, "Drag to (300, 400)"),
        ({"action": "type", "text": "hello"}, "Type 'hello'"),
        ({"action": "type", "text": "line one\nline two\r\nthree"}, "Type 'line one⏎line two⏎three'"),
        ({"action": "type", "text": "a\tb"}, "Type 'a⇥b'"),
        ({"action": "type", "text": "你好 world"}, "Type '你好 world'"),
        ({"action": "type", "text": "\x1b[2Jgone"}, "Type '\\x1b[2Jgone'"),
        ({"action": "key", "keys": ["ctrl", "s"]}, "Press ctrl+s"),
        ({"action": "key", "keys": ["enter"]}, "Press enter"),
        ({"action": "key", "keys": "f5"}, "Press f5"),
        ({"action": "scroll", "pixels": 5}, "Scroll up 5"),
        ({"action": "scroll", "pixels": -3}, "Scroll down 3"),
        ({"action": "scroll", "pixels": -3, "x": 100, "y": 0}, "Scroll down 3 at (100, 0)"),
        ({"action": "scroll", "pixels": 0}, "Scroll 0"),
        ({"action": "hscroll", "pixels": 4}, "Scroll right 4"),
        ({"action": "hscroll", "pixels": -2, "x": 1, "y": 2}, "Scroll left 2 at (1, 2)"),
        ({"action": "wait", "time": 2.0}, "Wait 2 s"),
        ({"action": "wait", "time": 0.5}, "Wait 0.5 s"),
        ({"action": "wait", "time": 3}, "Wait 3 s"),
        ({"action": "terminate", "status": "success"}, "Finish (success)"),
        ({"action": "terminate", "status": "failure"}, "Finish (failure)"),
        ({"action": "answer", "text": "It is 42."}, "Answer: It is 42."),
        ({"action": "teleport", "where": "moon"}, 'teleport {"where": "moon"}'),
        ({}, "?"),
    ],
)
def test_describe_action(screen: dict[str, Any], words: str) -> None:
    assert describe_action(screen) == words


def test_long_typed_text_is_clipped_with_an_ellipsis() -> None:
    words = describe_action({"action": "type", "text": "x" * 500})
    assert words == "Type '" + "x" * (TYPED_TEXT_CHARS - 1) + "…'"
    exact = describe_action({"action": "type", "text": "y" * TYPED_TEXT_CHARS})
    assert exact == "Type '" + "y" * TYPED_TEXT_CHARS + "'"


def test_long_answer_is_clipped() -> None:
    words = describe_action({"action": "answer", "text": "word " * 100})
    assert words.startswith("Answer: word word")
    assert words.endswith("…")
    assert len(words) == len("Answer: ") + TYPED_TEXT_CHARS


REAL_ACTIONS: list[dict[str, Any]] = [
    {"action": "key", "keys": ["Control", "s"]},
    {"action": "type", "text": "hi"},
    {"action": "mouse_move", "coordinate": [1, 2]},
    {"action": "left_click", "coordinate": [1, 2]},
    {"action": "left_click_drag", "coordinate": [1, 2]},
    {"action": "right_click", "coordinate": [1, 2]},
    {"action": "middle_click", "coordinate": [1, 2]},
    {"action": "double_click", "coordinate": [1, 2]},
    {"action": "triple_click", "coordinate": [1, 2]},
    {"action": "scroll", "pixels": 3, "coordinate": [1, 2]},
    {"action": "hscroll", "pixels": -3},
    {"action": "wait", "time": 1},
    {"action": "terminate", "status": "success"},
    {"action": "answer", "text": "yes"},
]


def test_the_real_action_list_covers_every_action_the_schema_knows() -> None:
    assert sorted(a["action"] for a in REAL_ACTIONS) == sorted(ACTION_NAMES)


@pytest.mark.parametrize("model_args", REAL_ACTIONS, ids=[a["action"] for a in REAL_ACTIONS])
def test_every_real_action_has_its_own_words(model_args: dict[str, Any]) -> None:
    action = ACTION_ADAPTER.validate_python(model_args)
    has_point = "coordinate" in model_args
    screen = ScreenAction(action=action, x=7 if has_point else None, y=8 if has_point else None)
    words = describe_action(screen.to_json_dict())
    # The fallback for unknown actions starts with the raw name; known ones never do.
    assert not words.startswith(model_args["action"])
    if has_point:
        assert "(7, 8)" in words


@pytest.mark.parametrize(
    ("text", "limit", "out"),
    [("short", 10, "short"), ("exactly10!", 10, "exactly10!"), ("eleven char", 10, "eleven ch…"), ("a\nb", 5, "a⏎b")],
)
def test_clip(text: str, limit: int, out: str) -> None:
    assert clip(text, limit) == out


def test_printable_escapes_control_characters_but_keeps_unicode() -> None:
    assert printable("ok ✓ \x07\x00") == "ok ✓ \\x07\\x00"


def test_plural_agrees_with_the_count() -> None:
    from agent.wording import plural

    assert [plural(n, "step") for n in (0, 1, 2)] == ["0 steps", "1 step", "2 steps"]
    assert plural(1, "body", "bodies") == "1 body" and plural(3, "body", "bodies") == "3 bodies"

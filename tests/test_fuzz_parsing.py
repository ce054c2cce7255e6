"""Fuzzing reply → action → screen point: no undocumented exception, every action on the monitor.

The strategies and the property live in scripts/fuzz_parsing.py, which runs the same
check on 100,000 replies and records the result in docs/benchmarks.md; here a few
thousand (1,500) keep every test run honest, plus the outputs that once broke it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from agent.geometry import CaptureGeometry, Region

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from fuzz_parsing import captures, check, frames, replies  # noqa: E402


@settings(max_examples=1500, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(text=replies(), capture=captures(), frame_kind=frames)
def test_generated_replies_never_break_the_parse_scale_path(text: str, capture: CaptureGeometry, frame_kind: str) -> None:
    check(text, capture, frame_kind)


LEFT_MONITOR = CaptureGeometry(Region(-1920, -200, 1920, 1080), 2400, 1350)  # HiDPI, negative origin


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        # Once an OverflowError: an integer too long for a float.
        ('<tool_call>{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [' + "9" * 400 + ", 1]}}</tool_call>", "reply error"),
        # Once a RecursionError from the JSON decoder.
        ("<tool_call>" + "[" * 5000 + "]" * 5000 + "</tool_call>", "reply error"),
        ('{"action": "wait", "time": 1, "x": ' + "[" * 5000 + "]" * 5000 + "}", "reply error"),
        # Once a usable plan with no action at all.
        ("<tool_call>[]</tool_call>", "reply error"),
        ('<tool_call>{"name": "computer_use", "arguments": {"action": "scroll", "pixels": 1e999}}</tool_call>', "reply error"),
        ('<tool_call>{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [1000, 1000]}}</tool_call>', "action"),
        ('<tool_call>{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [1000.001, 0]}}</tool_call>', "off grid / off screen"),
        ('{"bbox_2d": [1, 2, 3, 4]}', "no tool call"),
    ],
)
def test_replies_that_once_broke_the_path(text: str, outcome: str) -> None:
    assert check(text, LEFT_MONITOR, "rel1000") == outcome


def test_the_property_catches_an_action_off_the_monitor(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself can fail: a scaling bug that lands one pixel off the monitor is caught."""
    import fuzz_parsing

    from agent.actions import Action, ScreenAction
    from agent.scaling import ModelFrame

    def off_by_one(action: Action, frame: ModelFrame, capture: CaptureGeometry) -> ScreenAction:
        return ScreenAction(action=action, x=capture.region.right, y=capture.region.top)

    monkeypatch.setattr(fuzz_parsing, "to_screen_action", off_by_one)
    reply = '<tool_call>{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [1000, 0]}}</tool_call>'
    with pytest.raises(AssertionError, match="is off"):
        check(reply, LEFT_MONITOR, "rel1000")

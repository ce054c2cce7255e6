"""The terminal operator: answers from stdin, and what an input that has ended means."""

from __future__ import annotations

import io
import os
import threading

from agent.actions import Key, ScreenAction
from agent.geometry import Region
from agent.run.policy import Verdict
from agent.run.ports import ConfirmQuestion
from agent.terminal import TerminalOperator


def question() -> ConfirmQuestion:
    action = ScreenAction.at_screen_point(Key(keys=["enter"]), None, None)
    return ConfirmQuestion(action, Verdict("confirm", "types a line break (Enter)"), Region(0, 0, 100, 100))


def test_an_answer_line_decides() -> None:
    out = io.StringIO()
    result = TerminalOperator(io.StringIO("y\n"), out).confirm(question(), threading.Event(), 30)
    assert result.outcome == "approved"
    assert "Deskpilot wants to: Press enter" in out.getvalue()


def test_input_that_has_ended_rejects_at_once_and_says_how_to_act_unasked() -> None:
    out = io.StringIO()
    # 600 s: if the end of input were not noticed, this test would hang, not pass.
    result = TerminalOperator(io.StringIO(""), out).confirm(question(), threading.Event(), 600)
    assert (result.outcome, result.note) == ("rejected", "no input to answer from (--confirm never acts without asking)")
    assert "(rejected: no input to answer from" in out.getvalue()


def test_no_answer_before_the_timeout_is_a_time_out() -> None:
    read, write = os.pipe()  # open and silent: input that has not ended
    try:
        with os.fdopen(read) as stream:
            result = TerminalOperator(stream, io.StringIO()).confirm(question(), threading.Event(), 0.1)
            assert result.outcome == "timed_out"
            os.close(write)
            write = -1
    finally:
        if write >= 0:
            os.close(write)

"""``macro record --describe``: what the model is shown and asked, what is stored, and failures.

The backend is the real OpenAI-compatible client on a loopback server the tests start;
the frames are synthetic. Recording real input with --describe is in
tests/test_macro_recorder.py (it needs an X display).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from agent.backends.openai import OpenAIBackend
from agent.errors import BackendError
from agent.macros.anchors import make_anchor
from agent.macros.describing import PROMPT, Target, TargetDescriber, clean, describe_steps
from agent.macros.schema import Macro, MacroStep, Monitor, save_macro
from agent.testing.chat_server import CannedChatServer, request_images, request_text, serving
from tests.loopback_servers import dead_port
from tests.macro_images import screen
from tests.support import deskpilot

POINT = (460, 320)


def _macro_and_targets() -> tuple[Macro, list[Target]]:
    image = screen()
    steps = [
        MacroStep(action={"action": "left_click", "x": POINT[0], "y": POINT[1]}, anchor=make_anchor(image, POINT)),
        MacroStep(action={"action": "type", "text": "hi"}),
        MacroStep(action={"action": "double_click", "x": 1500, "y": 900}, anchor=make_anchor(image, (1500, 900))),
    ]
    return Macro(monitor=Monitor(width=1920, height=1080), steps=steps), [
        Target(0, image, POINT), Target(2, image, (1500, 900))
    ]


def test_each_pointer_step_gets_the_models_phrase_with_progress_per_step() -> None:
    answers = ['"The blue Save button in the dialog."\n', "the empty grey area, bottom right"]

    def reply(body: dict[str, Any]) -> str:
        return answers.pop(0)

    macro, targets = _macro_and_targets()
    lines: list[str] = []
    with serving(CannedChatServer(reply)) as server:
        describer = TargetDescriber(OpenAIBackend(server.url, "qwen3-vl"), 1024 * 32 * 32)
        done = describe_steps(macro, targets, describer, threading.Event(), lines.append)
        first = server.requests[0]
    assert done == 2
    assert [s.anchor.description if s.anchor else None for s in macro.steps] == [
        "The blue Save button in the dialog", None, "the empty grey area, bottom right"
    ]
    assert lines[0].startswith("describing step 1 (1 of 2): Click at (460, 320)")
    assert lines[1] == "  step 1: The blue Save button in the dialog"
    assert lines[2].startswith("describing step 3 (2 of 2)")
    # Asked with the marked frame and a marked close-up, in the words the prompt sets.
    assert PROMPT in request_text(first) and not first.get("tools")
    whole, close = request_images(first)
    assert close.size == (320, 320)
    r, g, b = close.getpixel((160 + 12, 160))  # on the ring, right of the point
    assert r > 180 and g < 80 and b < 80
    assert whole.size[0] / whole.size[1] == pytest.approx(1920 / 1080, rel=0.02)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("the Save button", "the Save button"),
        ('"the Save button".', "the Save button"),
        ("“OK” button.\nBecause the ring is on it.", "“OK” button"),
        ("\n\n", ""),
    ],
)
def test_the_answer_is_cut_to_its_phrase(text: str, phrase: str) -> None:
    assert clean(text) == phrase


def test_a_step_with_a_named_element_is_described_by_it_without_the_model() -> None:
    from agent.macros.schema import ElementRef

    macro, targets = _macro_and_targets()
    anchor = macro.steps[0].anchor
    assert anchor is not None
    anchor.element = ElementRef(role="push button", name="Save")
    answers = ["the empty grey area, bottom right"]
    with serving(CannedChatServer(lambda body: answers.pop(0))) as server:
        describer = TargetDescriber(OpenAIBackend(server.url, "qwen3-vl"), 1024 * 32 * 32)
        assert describe_steps(macro, targets, describer, threading.Event(), lambda _line: None) == 2
        asked = len(server.requests)
    assert [s.anchor.description if s.anchor else None for s in macro.steps] == [
        "the Save button", None, "the empty grey area, bottom right"
    ]
    assert asked == 1  # only the step without an element went to the model


def test_a_server_that_is_down_raises_and_keeps_what_was_described() -> None:
    macro, targets = _macro_and_targets()
    with dead_port() as port:
        describer = TargetDescriber(OpenAIBackend(f"http://127.0.0.1:{port}/v1", "qwen3-vl"), 1024 * 32 * 32)
        with pytest.raises(BackendError):
            describe_steps(macro, targets, describer, threading.Event(), lambda _line: None)
    assert all(s.anchor is None or s.anchor.description == "" for s in macro.steps)


@pytest.mark.process
def test_record_describe_with_bad_model_options_fails_before_recording(tmp_path: Path) -> None:
    target = tmp_path / "rec.json"
    result = deskpilot("macro", "record", str(target), "--describe", "--backend", "openai", "--base-url", "ftp://x")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "http://" in result.stderr
    assert "recording" not in result.stderr and not target.exists()


@pytest.mark.process
def test_record_model_options_without_describe_are_refused(tmp_path: Path) -> None:
    target = tmp_path / "rec.json"
    result = deskpilot("macro", "record", str(target), "--base-url", "http://127.0.0.1:9/v1")
    assert result.returncode == 2
    assert result.stderr.strip() == "deskpilot: error: --base-url is for --describe; add --describe or leave it out"
    assert not target.exists()


@pytest.mark.process
def test_show_names_the_description(tmp_path: Path) -> None:
    macro, _ = _macro_and_targets()
    assert macro.steps[0].anchor is not None
    macro.steps[0].anchor.description = "the blue Save button"
    path = tmp_path / "m.json"
    save_macro(macro, path)
    result = deskpilot("macro", "show", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "described as 'the blue Save button'" in lines[1] and "described" not in lines[3]

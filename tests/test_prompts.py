"""The prompt: the tool schema the model was tuned on, capped history, newest screenshots only."""

from __future__ import annotations

from PIL import Image

from agent.actions import ACTION_NAMES, Key, LeftClick, Wait
from agent.backends.base import ChatRequest
from agent.computer_use.prompts import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MIN_PIXELS,
    SMALL_MAX_PIXELS,
    PromptSettings,
    StepNote,
    action_text,
    build_request,
    computer_use_tool,
)
from agent.config import Settings
from agent.scaling import ModelFrame, smart_resize


def frame(kind: str = "rel1000") -> ModelFrame:
    return ModelFrame.for_image(kind, 1920, 1080, max_pixels=1024 * 32 * 32)


def user_text(request) -> str:
    return "".join(p["text"] for p in request.messages[1]["content"] if p["type"] == "text")


def shots(n: int) -> list[Image.Image]:
    return [Image.new("RGB", (64, 36), (i, i, i)) for i in range(n)]


def test_tool_schema_uses_the_tuned_names_and_states_the_frame() -> None:
    tool = computer_use_tool(frame())
    fn = tool["function"]
    assert tool["type"] == "function" and fn["name"] == "computer_use"
    props = fn["parameters"]["properties"]
    assert props["action"]["enum"] == list(ACTION_NAMES)
    assert set(props) == {"action", "keys", "text", "coordinate", "pixels", "time", "status"}
    assert fn["parameters"]["required"] == ["action"]
    assert "resolution is 1000x1000" in fn["description"]


def test_qwen25_tool_states_the_resized_image_size() -> None:
    assert "resolution is 1344x756" in computer_use_tool(frame("qwen25"))["function"]["description"]


def test_request_holds_task_history_feedback_and_only_the_newest_screenshot() -> None:
    steps = [StepNote(1, (action_text(LeftClick(coordinate=(10, 20))),), "done")]
    images = shots(3)
    request = build_request("open the editor", steps, images, frame(), feedback="tool call 1 is empty")
    text = user_text(request)
    assert "The user's task: open the editor" in text
    assert 'Step 1: left_click {"coordinate": [10.0, 20.0]} -> done' in text
    assert "Note: tool call 1 is empty" in text
    assert request.images == [images[-1]]
    assert request.messages[0]["role"] == "system"
    assert request.tools[0]["function"]["name"] == "computer_use"
    assert request.max_pixels == DEFAULT_MAX_PIXELS


def test_keeping_k_screenshots_keeps_the_newest_k_in_order() -> None:
    images = shots(5)
    request = build_request("t", [], images, frame(), settings=PromptSettings(screenshots=2))
    assert request.images == images[-2:]
    assert user_text(request).count("Current screenshot:") == 1


def test_history_is_capped_so_the_prompt_stays_flat() -> None:
    def request_at(step: int) -> str:
        notes = [StepNote(i, (action_text(Wait(time=1)), action_text(Key(keys=("ctrl", "s")))), "done") for i in range(1, step)]
        return user_text(build_request("save the file", notes, shots(1), frame()))

    at_10, at_50, at_500 = request_at(10), request_at(50), request_at(500)
    assert len(at_500) <= len(at_50) * 1.05
    assert "(37 earlier steps not shown)" in at_50
    assert "Step 49:" in at_50 and "Step 37:" not in at_50
    assert len(at_10) < len(at_50)


def test_long_notes_are_clipped() -> None:
    steps = [StepNote(1, (action_text(LeftClick(coordinate=(1, 1))),), "failed: " + "x" * 5000)]
    text = user_text(build_request("t", steps, shots(1), frame(), settings=PromptSettings(max_note_chars=100)))
    assert "x" * 101 not in text and "…" in text


def test_the_default_budget_is_native_resolution_for_common_screens() -> None:
    assert DEFAULT_MAX_PIXELS == 12845056  # the computer-use cookbook's max_pixels
    assert build_request("t", [], shots(1), frame()).max_pixels == DEFAULT_MAX_PIXELS
    assert ChatRequest(messages=[], tools=[]).max_pixels == DEFAULT_MAX_PIXELS
    assert Settings().max_pixels == DEFAULT_MAX_PIXELS
    budget = {"min_pixels": DEFAULT_MIN_PIXELS, "max_pixels": DEFAULT_MAX_PIXELS}
    # Each side only rounded to a multiple of 32: the model sees every pixel.
    for (width, height), resized in [
        ((1920, 1080), (1088, 1920)),
        ((2560, 1440), (1440, 2560)),
        ((3440, 1440), (1440, 3456)),
        ((3840, 2160), (2176, 3840)),
        ((4096, 2160), (2176, 4096)),
    ]:
        assert smart_resize(height, width, 32, **budget) == resized
    # 1920x1080 becomes 1920x1088: 60x34 = 2040 image tokens, against 42x24 = 1008 at 1 MP.
    assert smart_resize(1080, 1920, 32, min_pixels=DEFAULT_MIN_PIXELS, max_pixels=DEFAULT_MAX_PIXELS) == (1088, 1920)
    assert smart_resize(1080, 1920, 32, min_pixels=DEFAULT_MIN_PIXELS, max_pixels=SMALL_MAX_PIXELS) == (768, 1344)

"""The prompt: the tool schema the model was tuned on, capped history, newest screenshots only, append-only."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

from PIL import Image

from agent.actions import ACTION_NAMES, Key, LeftClick, Type, Wait
from agent.backends.base import ChatRequest
from agent.backends.scripted import ScriptedBackend
from agent.computer_use.parsing import parse_reply
from agent.computer_use.planner import Planner
from agent.computer_use.prompts import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MIN_PIXELS,
    SMALL_MAX_PIXELS,
    PromptSettings,
    StepNote,
    action_text,
    build_request,
    computer_use_tool,
    hidden_steps,
)
from agent.computers.base import Frame
from agent.config import Settings
from agent.geometry import CaptureGeometry, Region
from agent.scaling import ModelFrame, smart_resize


def frame(kind: str = "rel1000") -> ModelFrame:
    return ModelFrame.for_image(kind, 1920, 1080, max_pixels=1024 * 32 * 32)


def user_text(request) -> str:
    return "".join(p["text"] for p in request.messages[1]["content"] if p["type"] == "text")


def shots(n: int) -> list[Image.Image]:
    return [Image.new("RGB", (64, 36), (i, i, i)) for i in range(n)]


# The cookbook's tool as its own system message shows it (QwenLM/Qwen3-VL
# cookbooks/computer_use.ipynb, display 1000x1000), key order included.
COOKBOOK_TOOL_JSON = (
    '{"type": "function", "function": {"name": "computer_use", "description": "Use a mouse and keyboard '
    'to interact with a computer, and take screenshots.\\n'
    '* This is an interface to a desktop GUI. You do not have access to a terminal or applications menu. '
    'You must click on desktop icons to start applications.\\n'
    '* Some applications may take time to start or process actions, so you may need to wait and take '
    'successive screenshots to see the results of your actions. E.g. if you click on Firefox and a window '
    "doesn't open, try wait and taking another screenshot.\\n"
    "* The screen's resolution is 1000x1000.\\n"
    '* Whenever you intend to move the cursor to click on an element like an icon, you should consult '
    'a screenshot to determine the coordinates of the element before moving the cursor.\\n'
    '* If you tried clicking on a program or link but it failed to load, even after waiting, try adjusting '
    'your cursor position so that the tip of the cursor visually falls on the element that you want '
    'to click.\\n* Make sure to click any buttons, links, icons, etc with the cursor tip in the center '
    'of the element. Don\'t click boxes on their edges.", "parameters": {"properties": {"action": {"description": '
    '"The action to perform. The available actions are:\\n'
    '* `key`: Performs key down presses on the arguments passed in order, then performs key releases '
    'in reverse order.\\n* `type`: Type a string of text on the keyboard.\\n'
    '* `mouse_move`: Move the cursor to a specified (x, y) pixel coordinate on the screen.\\n'
    '* `left_click`: Click the left mouse button at a specified (x, y) pixel coordinate on the screen.\\n'
    '* `left_click_drag`: Click and drag the cursor to a specified (x, y) pixel coordinate on the screen.\\n'
    '* `right_click`: Click the right mouse button at a specified (x, y) pixel coordinate on the screen.\\n'
    '* `middle_click`: Click the middle mouse button at a specified (x, y) pixel coordinate on the screen.\\n'
    '* `double_click`: Double-click the left mouse button at a specified (x, y) pixel coordinate on '
    'the screen.\\n* `triple_click`: Triple-click the left mouse button at a specified (x, y) pixel coordinate '
    "on the screen (simulated as double-click since it's the closest action).\\n"
    '* `scroll`: Performs a scroll of the mouse scroll wheel.\\n'
    '* `hscroll`: Performs a horizontal scroll (mapped to regular scroll).\\n'
    '* `wait`: Wait specified seconds for the change to happen.\\n'
    '* `terminate`: Terminate the current task and report its completion status.\\n'
    '* `answer`: Answer a question.", "enum": ["key", "type", "mouse_move", "left_click", "left_click_drag", '
    '"right_click", "middle_click", "double_click", "triple_click", "scroll", "hscroll", "wait", "terminate", '
    '"answer"], "type": "string"}, "keys": {"description": "Required only by `action=key`.", "type": '
    '"array"}, "text": {"description": "Required only by `action=type` and `action=answer`.", "type": '
    '"string"}, "coordinate": {"description": "(x, y): The x (pixels from the left edge) and y (pixels '
    'from the top edge) coordinates to move the mouse to.", "type": "array"}, "pixels": {"description": '
    '"The amount of scrolling to perform. Positive values scroll up, negative values scroll down. Required '
    'only by `action=scroll` and `action=hscroll`.", "type": "number"}, "time": {"description": "The '
    'seconds to wait. Required only by `action=wait`.", "type": "number"}, "status": {"description": '
    '"The status of the task. Required only by `action=terminate`.", "type": "string", "enum": ["success", '
    '"failure"]}}, "required": ["action"], "type": "object"}}}'
)


def test_the_tool_is_the_cookbooks_word_for_word_in_its_key_order() -> None:
    assert json.dumps(computer_use_tool(frame()), ensure_ascii=False) == COOKBOOK_TOOL_JSON


def test_tool_schema_uses_the_tuned_names_and_states_the_frame() -> None:
    tool = computer_use_tool(frame())
    fn = tool["function"]
    assert tool["type"] == "function" and fn["name"] == "computer_use"
    props = fn["parameters"]["properties"]
    assert props["action"]["enum"] == list(ACTION_NAMES)
    assert list(props) == ["action", "keys", "text", "coordinate", "pixels", "time", "status"]
    assert fn["parameters"]["required"] == ["action"]
    assert "* The screen's resolution is 1000x1000.\n" in fn["description"]


def test_qwen25_tool_states_the_resized_image_size() -> None:
    tool = computer_use_tool(frame("qwen25"))
    assert "* The screen's resolution is 1344x756.\n" in tool["function"]["description"]


def test_deskpilots_own_rules_are_in_the_user_message_not_the_tool() -> None:
    request = build_request("t", [], shots(1), frame())
    text = user_text(request)
    assert "a 1000x1000 grid laid over the screenshot" in text
    assert "Answer with exactly one tool call. Only the first call of an answer is carried out" in text
    assert request.messages[0]["content"] == [{"type": "text", "text": "You are a helpful assistant."}]
    assert "one tool call" not in json.dumps(request.tools) and "grid" not in json.dumps(request.tools)


def test_the_screenshots_come_after_everything_that_outlives_the_step() -> None:
    images = shots(2)
    request = build_request("t", [], images, frame(), settings=PromptSettings(screenshots=2))
    kinds = [part["type"] for part in request.messages[1]["content"]]
    # Task, rules and history first (they stay), then the screenshots and this step's words.
    assert kinds == ["text", "image", "image", "text"]
    assert "The user's task: t" in request.messages[1]["content"][0]["text"]
    assert "the last one shows the screen now" in request.messages[1]["content"][-1]["text"]


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


def test_keeping_k_screenshots_keeps_the_newest_k_in_order() -> None:
    images = shots(5)
    request = build_request("t", [], images, frame(), settings=PromptSettings(screenshots=2))
    assert request.images == images[-2:]


def test_history_is_capped_so_the_prompt_stays_flat() -> None:
    def request_at(step: int) -> str:
        notes = [StepNote(i, (action_text(Wait(time=1)), action_text(Key(keys=("ctrl", "s")))), "done") for i in range(1, step)]
        return user_text(build_request("save the file", notes, shots(1), frame()))

    at_10, at_50, at_500 = request_at(10), request_at(50), request_at(500)
    # Folded in blocks of 12: between 12 and 23 lines show, never more.
    assert "(36 earlier steps not shown)" in at_50
    assert "Step 37:" in at_50 and "Step 36:" not in at_50
    assert at_500.count("\nStep ") <= 23 and at_50.count("\nStep ") == 13
    assert len(at_500) <= len(request_at(24)) * 1.1
    assert len(at_10) < len(at_50)


def head(request: ChatRequest) -> str:
    """Everything the prompt says before its first screenshot: what a cache can keep."""
    parts = request.messages[1]["content"]
    return "".join(p["text"] for p in parts[: next(i for i, p in enumerate(parts) if p["type"] == "image")])


def test_each_steps_prompt_extends_the_previous_one_up_to_its_screenshot() -> None:
    """Append-only: step n+1's words before the screenshot start with all of step n's, except
    at the compaction points every 12 steps; the feedback note never enters that prefix."""
    notes: list[StepNote] = []
    heads: list[str] = []
    for number in range(1, 61):
        feedback = f"The action {number} failed." if number % 3 == 0 else None
        heads.append(head(build_request("save the file", notes, shots(1), frame(), feedback=feedback)))
        assert "failed." not in heads[-1]
        notes.append(StepNote(number, (action_text(LeftClick(coordinate=(number, 20))),), "done"))
    rewritten = [n + 2 for n, (a, b) in enumerate(zip(heads, heads[1:], strict=False)) if not b.startswith(a)]
    # hidden_steps changes when 24, 36, 48 steps are past: steps 25, 37, 49 rewrite the history.
    assert rewritten == [25, 37, 49]
    assert [hidden_steps(n, 12) for n in (11, 12, 23, 24, 35, 36)] == [0, 0, 0, 12, 12, 24]


def test_long_notes_are_clipped() -> None:
    steps = [StepNote(1, (action_text(LeftClick(coordinate=(1, 1))),), "failed: " + "x" * 5000)]
    text = user_text(build_request("t", steps, shots(1), frame(), settings=PromptSettings(max_note_chars=100)))
    assert "x" * 101 not in text and "…" in text


CALL_1 = '<tool_call>\n{"name": "computer_use", "arguments": {"action": "type", "text": "ls"}}\n</tool_call>'
CALL_2 = '<tool_call>\n{"name": "computer_use", "arguments": {"action": "key", "keys": ["enter"]}}\n</tool_call>'
TWO_CALLS = f"Thought: list the files.\n{CALL_1}\n{CALL_2}"


def frame_of(width: int = 64, height: int = 36) -> Frame:
    image = Image.new("RGB", (width, height))
    return Frame(image=image, geometry=CaptureGeometry(Region(0, 0, width, height), width, height))


def test_a_scripted_reply_with_two_calls_acts_on_the_first_only() -> None:
    plan = Planner(ScriptedBackend([TWO_CALLS])).plan("list files", [], [frame_of()], threading.Event())
    assert plan.usable
    assert [a.action for a in plan.actions] == [Type(text="ls")]
    assert plan.reply is not None and plan.reply.ignored_calls == 1


def test_the_local_model_acts_on_the_first_call_only(tiny_model_dir: Path) -> None:
    """The real generate path, forced to emit two calls: one action, with or without the stop string."""
    from agent.backends.local import LocalBackend, LocalSettings
    from agent.testing.tiny import forced_replies_fn

    local = LocalBackend(LocalSettings(model=str(tiny_model_dir)))
    request = dataclasses.replace(build_request("list files", [], shots(1), frame()), max_new_tokens=120)
    texts = {}
    for stop in (("</tool_call>",), ()):
        force = forced_replies_fn(local.processor.tokenizer, [TWO_CALLS])
        local.settings = dataclasses.replace(local.settings, generate_kwargs={"prefix_allowed_tokens_fn": force})
        texts[stop] = local.complete(dataclasses.replace(request, stop=stop), threading.Event()).text
    # With the stop string generation ends right after the first call: the second is never generated.
    assert texts[("</tool_call>",)] == f"Thought: list the files.\n{CALL_1}"
    assert texts[()] == TWO_CALLS
    for text, ignored in ((texts[("</tool_call>",)], 0), (texts[()], 1)):
        reply = parse_reply(text)
        assert reply.actions == (Type(text="ls"),)
        assert reply.ignored_calls == ignored


def test_requests_stop_at_the_first_call_by_default() -> None:
    assert build_request("t", [], shots(1), frame()).stop == ("</tool_call>",)

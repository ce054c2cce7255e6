"""The tiny model's chat template is Qwen3-VL-8B-Instruct's, byte for byte, and renders as it does.

The hash is the one of the template shipped with Qwen/Qwen3-VL-8B-Instruct (NVIDIA's
Cosmos code keeps a copy it calls byte-identical to it). The renders below are
written out by hand from that template, so a change that keeps the hash but breaks
how the processor applies it (or a prompt the real model would read differently)
fails here too.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from agent.backends.local import LocalBackend, LocalSettings
from agent.backends.processor import load_processor
from agent.computer_use.prompts import build_request, computer_use_tool
from agent.scaling import ModelFrame
from agent.testing.tiny import chat_template

QWEN3_VL_8B_INSTRUCT_TEMPLATE_SHA256 = "3636d0f0bd6bef02654cdffdc447b79cb2cef8ab02cc75267345946291a489e4"
VISION = "<|vision_start|><|image_pad|><|vision_end|>"
TOOL = {
    "type": "function",
    "function": {
        "name": "computer_use",
        "description": "Click things.",
        "parameters": {"properties": {"action": {"type": "string"}}, "required": ["action"], "type": "object"},
    },
}
TOOLS_BLOCK = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
    '{"type": "function", "function": {"name": "computer_use", "description": "Click things.", '
    '"parameters": {"properties": {"action": {"type": "string"}}, "required": ["action"], "type": "object"}}}'
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)


@pytest.fixture(scope="module")
def processor(tiny_model_dir: Path) -> Any:
    return load_processor(str(tiny_model_dir))


def render(processor: Any, messages: list[dict[str, Any]], **kwargs: Any) -> str:
    return str(processor.apply_chat_template(messages, tokenize=False, **kwargs))


def test_the_template_is_qwen3_vl_8b_instructs_byte_for_byte(tiny_model_dir: Path, processor: Any) -> None:
    assert hashlib.sha256(chat_template().encode("utf-8")).hexdigest() == QWEN3_VL_8B_INSTRUCT_TEMPLATE_SHA256
    # What from_pretrained reads back is that same text, not a re-serialised variant.
    saved = (tiny_model_dir / "chat_template.jinja").read_bytes()
    assert hashlib.sha256(saved).hexdigest() == QWEN3_VL_8B_INSTRUCT_TEMPLATE_SHA256
    assert hashlib.sha256(processor.chat_template.encode("utf-8")).hexdigest() == QWEN3_VL_8B_INSTRUCT_TEMPLATE_SHA256


def test_tools_without_a_system_message_open_a_system_turn_of_their_own(processor: Any) -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": "go"}]}]
    assert render(processor, messages, tools=[TOOL], add_generation_prompt=True) == (
        f"<|im_start|>system\n{TOOLS_BLOCK}<|im_end|>\n<|im_start|>user\ngo<|im_end|>\n<|im_start|>assistant\n"
    )


def test_no_system_message_and_no_tools_means_no_system_turn(processor: Any) -> None:
    # Qwen3-VL adds no default system prompt (Qwen2.5-VL did).
    messages = [{"role": "user", "content": "hi"}]
    assert render(processor, messages, add_generation_prompt=True) == (
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    )


def test_a_system_message_keeps_only_its_text_parts(processor: Any) -> None:
    image = Image.new("RGB", (32, 32))
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}, {"type": "image", "image": image}]},
        {"role": "user", "content": "hi"},
    ]
    assert render(processor, messages) == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
    assert render(processor, messages, tools=[TOOL]).startswith(f"<|im_start|>system\nBe brief.\n\n{TOOLS_BLOCK}<|im_end|>\n")


def test_images_become_one_placeholder_each_and_vision_ids_count_them(processor: Any) -> None:
    image = Image.new("RGB", (32, 32))
    messages = [
        {"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": "and"}, {"type": "image", "image": image}]},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "image", "image": image}]},
    ]
    assert render(processor, messages) == (
        f"<|im_start|>user\n{VISION}and{VISION}<|im_end|>\n<|im_start|>assistant\nok<|im_end|>\n"
        f"<|im_start|>user\n{VISION}<|im_end|>\n"
    )
    assert render(processor, messages, add_vision_id=True) == (
        f"<|im_start|>user\nPicture 1: {VISION}andPicture 2: {VISION}<|im_end|>\n<|im_start|>assistant\nok<|im_end|>\n"
        f"<|im_start|>user\nPicture 3: {VISION}<|im_end|>\n"
    )


def test_tool_calls_render_hermes_style_after_the_text(processor: Any) -> None:
    call = {"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [500, 500]}}
    messages = [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": "Thought: click it.",
            "tool_calls": [
                {"type": "function", "function": call},
                # Arguments as a JSON string (as OpenAI servers send them) are copied as they are.
                {"type": "function", "function": {"name": "computer_use", "arguments": '{"action": "wait", "time": 1}'}},
            ],
        },
        {"role": "assistant", "content": "", "tool_calls": [call]},
    ]
    assert render(processor, messages) == (
        "<|im_start|>user\ngo<|im_end|>\n"
        "<|im_start|>assistant\nThought: click it.\n"
        '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [500, 500]}}\n</tool_call>\n'
        '<tool_call>\n{"name": "computer_use", "arguments": {"action": "wait", "time": 1}}\n</tool_call><|im_end|>\n'
        # No text: the call opens the turn, with no blank line before it.
        '<|im_start|>assistant\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [500, 500]}}\n</tool_call><|im_end|>\n'
    )


def test_consecutive_tool_responses_share_one_user_turn(processor: Any) -> None:
    image = Image.new("RGB", (32, 32))
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": "", "tool_calls": [{"name": "computer_use", "arguments": {"action": "wait", "time": 1}}]},
        {"role": "tool", "content": "done"},
        {"role": "tool", "content": [{"type": "text", "text": "screen:"}, {"type": "image", "image": image}]},
        {"role": "user", "content": "next"},
    ]
    assert render(processor, messages, add_generation_prompt=True) == (
        "<|im_start|>user\ngo<|im_end|>\n"
        '<|im_start|>assistant\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "wait", "time": 1}}\n</tool_call><|im_end|>\n'
        "<|im_start|>user\n<tool_response>\ndone\n</tool_response>\n"
        f"<tool_response>\nscreen:{VISION}\n</tool_response><|im_end|>\n"
        "<|im_start|>user\nnext<|im_end|>\n<|im_start|>assistant\n"
    )


def test_a_step_request_renders_as_the_real_model_reads_it(tiny_model_dir: Path) -> None:
    """build_request → the local backend's render: system turn, tool block, user turn, one image."""
    frame = ModelFrame.for_image("rel1000", 1920, 1080)
    request = build_request("open the editor", [], [Image.new("RGB", (64, 36))], frame)
    text = LocalBackend(LocalSettings(model=str(tiny_model_dir))).render(request)
    tool_json = json.dumps(computer_use_tool(frame), ensure_ascii=False)
    system_text = request.messages[0]["content"][0]["text"]
    user_text = "".join(VISION if p["type"] == "image" else p["text"] for p in request.messages[1]["content"])
    assert text == (
        f"<|im_start|>system\n{system_text}\n\n"
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        f"You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n{tool_json}\n</tools>\n\n"
        "For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n"
        '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n'
        f"<|im_start|>user\n{user_text}<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert text.count(VISION) == 1

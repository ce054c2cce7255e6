"""The tiny Qwen3-VL and the processor loader, through the same calls the real model takes.

Asserts on shapes, token counts and forced output only: what a random model says on
its own is noise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image, ImageDraw
from transformers import BitsAndBytesConfig, Qwen3VLForConditionalGeneration, Qwen3VLProcessor

from agent.backends.processor import count_image_tokens, load_processor
from agent.errors import BackendError
from agent.testing.tiny import SPECIAL_TOKENS, TOOL_CALL_TOKENS, force_reply_fn

VISION = "<|vision_start|><|image_pad|><|vision_end|>"
BUDGET_1K = {"shortest_edge": 64 * 32 * 32, "longest_edge": 1024 * 32 * 32}
REPLY = '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [500, 500]}}\n</tool_call>'
COMPUTER_USE = {
    "type": "function",
    "function": {
        "name": "computer_use",
        "description": "Use a mouse and keyboard to interact with a computer. The screen's resolution is 1000x1000.",
        "parameters": {
            "type": "object",
            "properties": {
                "action": {"type": "string", "enum": ["left_click", "type", "key"]},
                "coordinate": {"type": "array", "description": "(x, y) on the 0..1000 grid."},
                "text": {"type": "string", "description": "Text to type, e.g. 打开浏览器."},
            },
            "required": ["action"],
        },
    },
}


@pytest.fixture(scope="module")
def processor(tiny_model_dir: Path) -> Any:
    return load_processor(str(tiny_model_dir))


@pytest.fixture(scope="module")
def model(tiny_model_dir: Path) -> Any:
    return Qwen3VLForConditionalGeneration.from_pretrained(tiny_model_dir).eval()


@pytest.fixture(scope="module")
def screenshot() -> Image.Image:
    """A full-HD desktop-like frame: panel, window, button, text."""
    image = Image.new("RGB", (1920, 1080), (40, 44, 52))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1919, 31), fill=(20, 20, 20))
    draw.rectangle((300, 200, 1500, 900), fill=(240, 240, 240), outline=(90, 90, 90))
    draw.rectangle((1300, 820, 1460, 870), fill=(30, 120, 220))
    draw.text((1340, 835), "Save", fill=(255, 255, 255))
    draw.text((320, 220), "Untitled - Editor", fill=(0, 0, 0))
    return image


def chat(image_count: int) -> list[dict[str, Any]]:
    images = [{"type": "image", "image": None} for _ in range(image_count)]
    return [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": [*images, {"type": "text", "text": "Click Save. 保存文件。"}]},
    ]


def inputs_for(processor: Any, image: Image.Image, **budget: Any) -> Any:
    text = processor.apply_chat_template(chat(1), tools=[COMPUTER_USE], add_generation_prompt=True, tokenize=False)
    return processor(text=[text], images=[image], return_tensors="pt", **budget)


def test_saved_directory_loads_back_like_a_hub_checkpoint(tiny_model_dir: Path, processor: Any, model: Any) -> None:
    assert isinstance(model, Qwen3VLForConditionalGeneration)
    assert isinstance(processor, Qwen3VLProcessor)
    tokenizer = processor.tokenizer
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.pad_token == "<|endoftext|>"
    assert processor.chat_template
    config = model.config
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    assert (config.image_token_id, config.video_token_id) == (ids["<|image_pad|>"], ids["<|video_pad|>"])
    assert (config.vision_start_token_id, config.vision_end_token_id) == (ids["<|vision_start|>"], ids["<|vision_end|>"])
    assert processor.image_token_id == config.image_token_id
    assert len(tokenizer) <= config.text_config.vocab_size
    image_processor = processor.image_processor
    assert (image_processor.patch_size, image_processor.temporal_patch_size, image_processor.merge_size) == (16, 2, 2)
    # Sizes bitsandbytes' CPU path accepts: every Linear a multiple of 64 wide.
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert linears and all(m.in_features % 64 == 0 and m.out_features % 64 == 0 for m in linears)
    size = sum(f.stat().st_size for f in tiny_model_dir.iterdir())
    assert size < 5_000_000
    for name in ("preprocessor_config.json", "video_preprocessor_config.json", "chat_template.jinja", "tokenizer.json"):
        assert (tiny_model_dir / name).is_file()


def test_tool_call_tags_are_plain_tokens_that_survive_skip_special_tokens(processor: Any) -> None:
    tokenizer = processor.tokenizer
    for tag in TOOL_CALL_TOKENS:
        assert len(tokenizer.encode(tag, add_special_tokens=False)) == 1
        assert tag not in tokenizer.all_special_tokens
    ids = tokenizer.encode("<|im_start|>" + REPLY + "<|im_end|>", add_special_tokens=False)
    assert tokenizer.decode(ids, skip_special_tokens=True) == REPLY


def test_chat_template_puts_tools_in_the_system_turn_and_one_placeholder_per_image(processor: Any) -> None:
    text = processor.apply_chat_template(chat(2), tools=[COMPUTER_USE], add_generation_prompt=True, tokenize=False)
    tool_json = json.dumps(COMPUTER_USE, ensure_ascii=False)
    system = (
        "<|im_start|>system\nYou are a helpful assistant.\n\n# Tools\n\n"
        "You may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n"
        f"<tools>\n{tool_json}\n</tools>\n\n"
        "For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n"
        '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n'
    )
    user = f"<|im_start|>user\n{VISION}{VISION}Click Save. 保存文件。<|im_end|>\n"
    assert text == system + user + "<|im_start|>assistant\n"


def test_chat_template_renders_past_tool_calls_hermes_style(processor: Any) -> None:
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "go"}]},
        {
            "role": "assistant",
            "content": "Thought: click it.",
            "tool_calls": [{"type": "function", "function": {"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [500, 500]}}}],
        },
    ]
    text = processor.apply_chat_template(messages, tokenize=False)
    assert text == (
        "<|im_start|>user\ngo<|im_end|>\n"
        f"<|im_start|>assistant\nThought: click it.\n{REPLY}<|im_end|>\n"
    )


@pytest.mark.parametrize(
    ("budget", "tokens"),
    [
        ({"size": BUDGET_1K}, 1008),  # resized to 1344x768
        ({}, 2040),  # the checkpoint's default budget: 1920x1088
    ],
    ids=["1024-token-budget", "default-budget"],
)
def test_full_hd_screenshot_costs_the_expected_image_tokens(
    processor: Any, screenshot: Image.Image, budget: dict[str, Any], tokens: int
) -> None:
    inputs = inputs_for(processor, screenshot, **budget)
    merge = processor.image_processor.merge_size
    assert int(inputs["image_grid_thw"].prod()) // merge**2 == tokens
    assert int((inputs["input_ids"] == processor.image_token_id).sum()) == tokens
    assert set(inputs) >= {"input_ids", "attention_mask", "mm_token_type_ids", "pixel_values", "image_grid_thw"}
    if budget:
        assert tokens <= 1024


@pytest.mark.parametrize(
    ("width", "height", "max_pixels", "tokens"),
    [
        (1920, 1080, 1024 * 32 * 32, 1008),
        (1280, 720, 1024 * 32 * 32, 880),
        (1920, 1080, 16384 * 32 * 32, 2040),
        (2560, 1440, 16384 * 32 * 32, 3600),
        (3840, 2160, 16384 * 32 * 32, 8160),
        (100, 50, 1024 * 32 * 32, 72),  # scaled up to the 64-token floor, rounded to 32s
    ],
)
def test_count_image_tokens(processor: Any, width: int, height: int, max_pixels: int, tokens: int) -> None:
    assert count_image_tokens(processor, width, height, max_pixels, 64 * 32 * 32) == tokens


def test_generate_runs_on_a_screenshot_prompt(processor: Any, model: Any, screenshot: Image.Image) -> None:
    inputs = inputs_for(processor, screenshot, size=BUDGET_1K)
    out = model.generate(**inputs, max_new_tokens=8, do_sample=False)
    assert out.shape == (1, inputs["input_ids"].shape[1] + 8)
    assert torch.equal(out[:, : inputs["input_ids"].shape[1]], inputs["input_ids"])


def test_forced_reply_comes_back_exactly(processor: Any, model: Any, screenshot: Image.Image) -> None:
    inputs = inputs_for(processor, screenshot, size=BUDGET_1K)
    prompt_length = inputs["input_ids"].shape[1]
    force = force_reply_fn(processor.tokenizer, prompt_length, REPLY)
    reply_length = len(processor.tokenizer.encode(REPLY, add_special_tokens=False))
    out = model.generate(**inputs, max_new_tokens=reply_length + 3, do_sample=False, prefix_allowed_tokens_fn=force)
    new = out[:, prompt_length:]
    assert new.shape == (1, reply_length + 3)
    # After the reply only eos is allowed; the random model has no eos of its own to stop on.
    assert new[0, reply_length:].tolist() == [processor.tokenizer.eos_token_id] * 3
    assert processor.batch_decode(new, skip_special_tokens=True) == [REPLY]


def test_nf4_on_cpu_loads_and_generates_the_forced_reply(
    tiny_model_dir: Path, processor: Any, screenshot: Image.Image
) -> None:
    quantization = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=torch.bfloat16,
        llm_int8_skip_modules=["model.visual", "lm_head"],
    )
    quantized = Qwen3VLForConditionalGeneration.from_pretrained(tiny_model_dir, quantization_config=quantization)
    kinds = {name: type(module).__name__ for name, module in quantized.named_modules()}
    assert kinds["model.language_model.layers.0.self_attn.q_proj"] == "Linear4bit"
    assert kinds["model.visual.blocks.0.attn.qkv"] == "Linear"
    assert kinds["lm_head"] == "Linear"

    inputs = inputs_for(processor, screenshot, size=BUDGET_1K)
    prompt_length = inputs["input_ids"].shape[1]
    force = force_reply_fn(processor.tokenizer, prompt_length, REPLY)
    out = quantized.generate(**inputs, max_new_tokens=64, do_sample=False, prefix_allowed_tokens_fn=force)
    assert processor.batch_decode(out[:, prompt_length:], skip_special_tokens=True) == [REPLY]


def test_missing_directory_is_a_backend_error(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="does not exist"):
        load_processor(str(tmp_path / "nope"))
    with pytest.raises(BackendError, match="not a Qwen3-VL checkpoint directory"):
        load_processor(str(tmp_path))


def test_uncached_hub_id_offline_is_a_backend_error_saying_what_to_do() -> None:
    with pytest.raises(BackendError, match="not in the local Hugging Face cache") as info:
        load_processor("deskpilot-tests/no-such-model", local_files_only=True)
    assert "\n" not in str(info.value)


@pytest.mark.process
def test_importing_the_modules_loads_no_model_library() -> None:
    code = (
        "import json, sys\n"
        "import agent.testing.tiny, agent.backends.processor\n"
        "print(json.dumps([m for m in ('torch', 'transformers', 'tokenizers', 'PIL') if m in sys.modules]))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


@pytest.mark.process
def test_make_tiny_model_refuses_a_non_empty_directory_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    script = Path(__file__).resolve().parent.parent / "scripts" / "make_tiny_model.py"
    result = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "not empty" in result.stderr
    assert (tmp_path / "notes.txt").read_text() == "keep me"

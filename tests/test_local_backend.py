"""The transformers backend on a tiny real-architecture Qwen3-VL, loaded the way users load one."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from agent.backends.local import LocalBackend, LocalSettings
from agent.backends.precision import Precision
from agent.computer_use.planner import Planner
from agent.computer_use.prompts import build_request
from agent.computers.screen import MssScreen
from agent.errors import BackendError, StoppedError
from agent.scaling import ModelFrame
from agent.testing.tiny import forced_replies_fn

CLICK = '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [500, 500]}}\n</tool_call>'


def backend(model_dir: Path, precision: Precision = Precision.FP32, **generate_kwargs: object) -> LocalBackend:
    return LocalBackend(LocalSettings(model=str(model_dir), precision=precision, generate_kwargs=dict(generate_kwargs)))


@pytest.fixture(scope="module")
def screenshot(x_display: str):
    return MssScreen(1).capture()


def test_a_tiny_model_step_goes_from_screenshot_to_screen_actions(tiny_model_dir: Path, screenshot) -> None:
    probe = backend(tiny_model_dir)
    local = backend(tiny_model_dir, prefix_allowed_tokens_fn=forced_replies_fn(probe.processor.tokenizer, [CLICK]))
    plan = Planner(local).plan("click the middle", [], [screenshot], threading.Event())
    assert plan.completion.text == CLICK
    assert plan.usable
    assert [a.to_json_dict() for a in plan.actions] == [{"action": "left_click", "x": 960, "y": 540}]
    # The default budget is native resolution: 1920x1080 is sent as 1920x1088, 2040 image tokens.
    request = build_request("t", [], [screenshot.image], ModelFrame.for_image("rel1000", 1920, 1080))
    inputs = local.encode(request)
    image_tokens = int((inputs["input_ids"] == local.processor.image_token_id).sum())
    assert image_tokens == 2040
    assert "mm_token_type_ids" in inputs


def test_the_prompt_is_rendered_by_the_models_own_chat_template(tiny_model_dir: Path, screenshot) -> None:
    local = backend(tiny_model_dir)
    request = build_request("open the editor", [], [screenshot.image], ModelFrame.for_image("rel1000", 1920, 1080))
    text = local.render(request)
    assert text.startswith("<|im_start|>system\nYou are a helpful assistant.")
    assert "<tools>" in text and '"name": "computer_use"' in text and "<tool_call>" in text
    assert text.count("<|vision_start|><|image_pad|><|vision_end|>") == 1
    assert "The user's task: open the editor" in text
    assert text.endswith("<|im_start|>assistant\n")


def test_random_model_output_is_an_unusable_answer_never_actions(tiny_model_dir: Path, screenshot) -> None:
    plan = Planner(backend(tiny_model_dir)).plan("do something", [], [screenshot], threading.Event())
    assert plan.completion.completion_tokens and plan.completion.completion_tokens > 0
    assert not plan.usable and plan.actions == ()
    assert plan.error


def test_nf4_loads_through_bitsandbytes_and_generates(tiny_model_dir: Path, screenshot) -> None:
    import bitsandbytes as bnb

    probe = backend(tiny_model_dir)
    local = backend(tiny_model_dir, Precision.NF4, prefix_allowed_tokens_fn=forced_replies_fn(probe.processor.tokenizer, [CLICK]))
    assert local.report.precision is Precision.NF4
    modules = dict(local.model.named_modules())
    quantized = [n for n, m in modules.items() if isinstance(m, bnb.nn.Linear4bit)]
    assert quantized and not any(n.startswith(("model.visual", "lm_head")) for n in quantized)
    plan = Planner(local).plan("click", [], [screenshot], threading.Event())
    assert [a.to_json_dict() for a in plan.actions] == [{"action": "left_click", "x": 960, "y": 540}]


def test_int8_loads_through_bitsandbytes(tiny_model_dir: Path) -> None:
    import bitsandbytes as bnb

    local = backend(tiny_model_dir, Precision.INT8)
    assert any(isinstance(m, bnb.nn.Linear8bitLt) for m in local.model.modules())


def test_auto_precision_picks_bf16_when_memory_is_plentiful(tiny_model_dir: Path) -> None:
    assert backend(tiny_model_dir, Precision.AUTO).report.precision is Precision.BF16


def test_cancel_from_another_thread_stops_within_one_token(tiny_model_dir: Path, screenshot) -> None:
    cancel = threading.Event()
    reached = threading.Event()
    steps_after_cancel: list[int] = []
    step = {"n": 0}

    def allowed(batch_id: int, input_ids) -> list[int]:
        step["n"] += 1
        if cancel.is_set():
            steps_after_cancel.append(step["n"])
        if step["n"] == 3:
            reached.set()
            cancel.wait(10)  # hold this token until the other thread has cancelled
        return list(range(100, 200))

    local = backend(tiny_model_dir, prefix_allowed_tokens_fn=allowed)
    canceller = threading.Thread(target=lambda: (reached.wait(10), cancel.set()))
    canceller.start()
    request = build_request("t", [], [screenshot.image], ModelFrame.for_image("rel1000", 1920, 1080))
    request = type(request)(**{**request.__dict__, "max_new_tokens": 200, "stop": ()})
    with pytest.raises(StoppedError):
        local.complete(request, cancel)
    canceller.join(5)
    # The token being chosen when cancel arrived is the last one: no further token is asked for.
    assert step["n"] == 3 and steps_after_cancel == []


def test_cancel_before_generation_raises_at_once(tiny_model_dir: Path, screenshot) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(StoppedError):
        Planner(backend(tiny_model_dir)).plan("t", [], [screenshot], cancel)


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        (LocalSettings(model="/nonexistent/model-folder"), "does not exist"),
        (LocalSettings(model="Qwen/Qwen3-VL-404B-Instruct"), "not in the local Hugging Face cache"),
    ],
)
def test_load_failures_are_one_clear_line(settings: LocalSettings, fragment: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(BackendError) as info:
        LocalBackend(settings)
    assert fragment in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("precision", "attention", "fragment"),
    [(Precision.FP16, None, "fp16 needs a GPU"), (Precision.FP32, "flash_attention_2", "flash_attention_2 needs a GPU")],
)
def test_gpu_only_options_without_a_gpu(tiny_model_dir: Path, precision: Precision, attention: str | None, fragment: str) -> None:
    with pytest.raises(BackendError, match=fragment):
        LocalBackend(LocalSettings(model=str(tiny_model_dir), precision=precision, attention=attention))


def test_a_corrupt_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(BackendError, match="cannot load model"):
        LocalBackend(LocalSettings(model=str(tmp_path)))


def test_offline_environment_is_set_for_tests() -> None:
    assert os.environ.get("HF_HUB_OFFLINE") == "1"

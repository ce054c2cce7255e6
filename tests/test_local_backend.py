"""The transformers backend on a tiny real-architecture Qwen3-VL, loaded the way users load one."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from agent.backends.hub import ModelSource, fetch
from agent.backends.local import LocalBackend, LocalSettings
from agent.backends.precision import Precision
from agent.computer_use.planner import Planner
from agent.computer_use.prompts import build_request
from agent.computers.x11.screen import MssScreen
from agent.errors import BackendError, StoppedError
from agent.scaling import ModelFrame
from agent.testing.hub import FakeHub
from agent.testing.tiny import forced_replies_fn
from tests.support import display_size

ROOT = Path(__file__).resolve().parent.parent
HUB_REPO = "deskpilot-test/tiny-qwen3vl"

CLICK = '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [500, 500]}}\n</tool_call>'


def backend(model_dir: Path, precision: Precision = Precision.FP32, **generate_kwargs: object) -> LocalBackend:
    return LocalBackend(LocalSettings(model=str(model_dir), precision=precision, generate_kwargs=dict(generate_kwargs)))


def middle_click() -> dict[str, object]:
    """CLICK's [500, 500] on the display under test: its middle pixel."""
    width, height = display_size()
    return {"action": "left_click", "x": width // 2, "y": height // 2}


@pytest.fixture(scope="module")
def screenshot(x_display: str):
    return MssScreen(1).capture()


def test_a_tiny_model_step_goes_from_screenshot_to_screen_actions(tiny_model_dir: Path, screenshot) -> None:
    probe = backend(tiny_model_dir)
    local = backend(tiny_model_dir, prefix_allowed_tokens_fn=forced_replies_fn(probe.processor.tokenizer, [CLICK]))
    plan = Planner(local).plan("click the middle", [], [screenshot], threading.Event())
    assert plan.completion.text == CLICK
    assert plan.usable
    assert [a.to_json_dict() for a in plan.actions] == [middle_click()]
    # The default budget is native resolution: 1920x1080 is sent as 1920x1088, 2040 image tokens.
    image = screenshot.image.resize((1920, 1080))  # the display under test may have another size
    request = build_request("t", [], [image], ModelFrame.for_image("rel1000", 1920, 1080))
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
    assert [a.to_json_dict() for a in plan.actions] == [middle_click()]


def test_int8_loads_through_bitsandbytes(tiny_model_dir: Path) -> None:
    import bitsandbytes as bnb

    local = backend(tiny_model_dir, Precision.INT8)
    assert any(isinstance(m, bnb.nn.Linear8bitLt) for m in local.model.modules())


def test_auto_precision_picks_bf16_when_memory_is_plentiful_and_says_why(tiny_model_dir: Path) -> None:
    said: list[str] = []
    local = LocalBackend(LocalSettings(model=str(tiny_model_dir), precision=Precision.AUTO), progress=said.append)
    info = local.info
    assert local.report.precision is Precision.BF16
    assert (info.precision, info.requested, info.device) == (Precision.BF16, Precision.AUTO, "cpu")
    assert re.fullmatch(r"auto: \d+\.\d GB free of RAM, no CUDA GPU", info.reason), info.reason
    assert info.source is ModelSource.LOCAL and info.path == str(tiny_model_dir.resolve())
    assert info.to_json_dict()["precision"] == "bf16" and info.to_json_dict()["requested_precision"] == "auto"
    line = f"model {tiny_model_dir} from a local folder ({tiny_model_dir.resolve()}), precision bf16 ({info.reason}), on cpu"
    assert info.describe() == line and line in said
    # No GPU here: before the weights load, one line says what would work better.
    advice = [m for m in said if m.startswith("no NVIDIA GPU: ")]
    assert len(advice) == 1 and said.index(advice[0]) < said.index(line)
    assert "prefer a model server (--backend openai" in advice[0]


def test_a_hub_id_in_the_cache_loads_without_the_network(tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, screenshot) -> None:
    from huggingface_hub import constants

    cache = str(tmp_path / "hub")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with FakeHub({HUB_REPO: tiny_model_dir}) as hub:
        fetch(HUB_REPO, progress=lambda _m: None, cache_dir=cache, endpoint=hub.endpoint)
    # The server is gone and downloads are off: only the cache can serve the model now.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", cache)
    probe = LocalBackend(LocalSettings(model=HUB_REPO, precision=Precision.FP32))
    local = LocalBackend(
        LocalSettings(model=HUB_REPO, precision=Precision.FP32, generate_kwargs={"prefix_allowed_tokens_fn": forced_replies_fn(probe.processor.tokenizer, [CLICK])})
    )
    assert local.info.source is ModelSource.CACHE and local.info.path.startswith(cache)
    assert local.info.describe().startswith(f"model {HUB_REPO} from the Hugging Face cache ({cache}/models--")
    plan = Planner(local).plan("click the middle", [], [screenshot], threading.Event())
    assert [a.to_json_dict() for a in plan.actions] == [{"action": "left_click", "x": 960, "y": 540}]


def test_deskpilot_run_downloads_a_hub_id_with_progress_and_says_what_it_loaded(tiny_model_dir: Path, tmp_path: Path, x_display: str) -> None:
    with FakeHub({HUB_REPO: tiny_model_dir}, bytes_per_second=0.8e6) as hub:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
        env.update(HF_HOME=str(tmp_path / "hf"), HF_ENDPOINT=hub.endpoint, HF_HUB_OFFLINE="0", DESKPILOT_CONFIG=str(tmp_path / "none.toml"))
        result = subprocess.run(
            [sys.executable, "-m", "agent", "run", "look", "--model", HUB_REPO, "--dry-run", "--max-steps", "1", "--history-dir", str(tmp_path / "runs")],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=180,
        )
    lines = result.stderr.splitlines()
    assert result.returncode in (0, 1), result.stderr
    assert f"downloading {HUB_REPO} (2.0 MB) into {tmp_path / 'hf' / 'hub'}" in lines, result.stderr
    assert any(line.startswith(f"downloading {HUB_REPO}: 2.0 MB of 2.0 MB (100%)") for line in lines), result.stderr
    loaded = [line for line in lines if line.startswith(f"model {HUB_REPO} just downloaded to ")]
    assert len(loaded) == 1 and "precision bf16 (auto: " in loaded[0] and loaded[0].endswith(", on cpu"), result.stderr
    assert len(lines) == len(set(lines)), "a line was printed twice"
    # The history says what auto chose, and why.
    (run_dir,) = (tmp_path / "runs").iterdir()
    facts = json.loads((run_dir / "run.json").read_text())["model_facts"]
    assert facts["precision"] == "bf16" and facts["requested_precision"] == "auto" and facts["precision_reason"]
    assert facts["source"] == "downloaded"
    shown = subprocess.run([sys.executable, "-m", "agent", "history", "--history-dir", str(tmp_path / "runs"), "show", "latest"],
                           capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert "precision bf16" in shown.stdout


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
        (LocalSettings(model="Qwen/Qwen3-VL-404B-Instruct"), "Qwen/Qwen3-VL-404B-Instruct is not on this machine"),
        (LocalSettings(model="not a model id"), "neither a folder nor a Hugging Face model id"),
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

"""Skills through the tiny real-architecture Qwen3-VL in process, its output forced token by token."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

from agent.backends.local import LocalBackend, LocalSettings
from agent.backends.precision import Precision
from agent.skills.batch import BatchSpec, run_batch
from agent.skills.registry import get_skill
from agent.skills.runner import SkillJob, SkillOutputError, build_request, run_skill
from agent.testing.tiny import forced_replies_fn

# Short answers: every forced token is one forward pass of the model.
ALT = "A white page with a blue band along the top and a grey panel below it, holding three small grey icons."
PAGE = "<!DOCTYPE html><html><head></head><body><p>Hi</p></body></html>"
QUIZ = "## 测验题目\n### 选择题\n1. 哪个?\nA. 甲\nB. 乙\nC. 丙\nD. 丁\n正确答案: B\n### 简答题\n1. 为何?\n参考答案: 因为光。"


@pytest.fixture(scope="module")
def local(tiny_model_dir: Path) -> LocalBackend:
    return LocalBackend(LocalSettings(model=str(tiny_model_dir), precision=Precision.FP32))


def forcing(local: LocalBackend, replies: list[str]) -> None:
    """Make the next generate calls emit ``replies`` in turn."""
    force(local, forced_replies_fn(local.processor.tokenizer, replies))


def force(local: LocalBackend, fn: Any) -> None:
    # The random model's generation config names no eos: without one here, generation
    # would run on to max_new_tokens (2048 for design-to-html) after the forced reply.
    eos = local.processor.tokenizer.eos_token_id
    local.settings = replace(local.settings, generate_kwargs={"prefix_allowed_tokens_fn": fn, "eos_token_id": eos})


def rows_fn(tokenizer: Any, rows: list[str]) -> Any:
    """Forcing for one batched generate: row ``i`` of the batch emits ``rows[i]``, then pads."""
    encoded = [list(tokenizer.encode(r, add_special_tokens=False)) for r in rows]
    eos = [int(tokenizer.eos_token_id)]
    start: dict[str, int] = {}

    def allowed(batch_id: int, input_ids: torch.Tensor) -> list[int]:
        length = int(input_ids.shape[-1])
        base = start.setdefault("length", length)
        step = length - base
        row = encoded[batch_id]
        return [row[step]] if step < len(row) else eos

    return allowed


def job(name: str, lang: str = "en", **options: str) -> SkillJob:
    skill = get_skill(name)
    image = Image.new("RGB", (256, 160), (200, 220, 240))
    return SkillJob(skill, (image,), skill.resolve(options), lang, max_pixels=64 * 32 * 32)  # type: ignore[arg-type]


def test_the_prompt_is_the_skill_text_with_the_image_and_no_tools(local: LocalBackend) -> None:
    request = build_request(job("explain-diagram", "zh", grade="college"))
    prompt = local.render(request)
    assert "<|vision_start|><|image_pad|><|vision_end|>" in prompt
    assert "读者水平: college" in prompt and "# Tools" not in prompt
    assert request.tools == [] and request.stop == ()


def test_fenced_html_from_the_model_is_saved_clean(local: LocalBackend) -> None:
    forcing(local, [f"Here it is:\n```html\n{PAGE}\n```"])
    result = run_skill(local, job("design-to-html"), threading.Event())
    assert result.validated.text == PAGE + "\n" and result.attempts == 1


def test_a_rejected_answer_is_retried_once_with_the_problem(local: LocalBackend) -> None:
    forcing(local, ["An image of a sky.", ALT])
    problems: list[str] = []
    result = run_skill(local, job("alt-text"), threading.Event(), on_retry=problems.append)
    assert result.attempts == 2 and result.validated.text == ALT + "\n"
    assert problems == ["the description is 18 characters; it must be 100-200"]
    assert len(ALT) == 102


def test_two_rejections_fail_with_both_raw_answers(local: LocalBackend) -> None:
    forcing(local, ['{"caption": "x"', '{"caption": "x", "hashtags": []}'])
    with pytest.raises(SkillOutputError) as caught:
        run_skill(local, job("social-post"), threading.Event())
    assert '{"caption": "x"' in caught.value.raw and '"hashtags": []' in caught.value.raw
    assert "alt_text" in str(caught.value)


def test_the_quiz_from_the_model_in_the_seed_layout(local: LocalBackend) -> None:
    forcing(local, [QUIZ])
    result = run_skill(local, job("quiz", "zh", topic="光合作用"), threading.Event())
    assert result.validated.data["multiple_choice"][0]["answer"] == "B"
    assert result.validated.data["short_answer"] == [{"question": "为何?", "reference_answer": "因为光。"}]


def test_batched_generation_gives_each_row_its_own_answer(local: LocalBackend) -> None:
    tokenizer = local.processor.tokenizer
    rows = [ALT, ALT.replace("three", "seven"), ALT.replace("blue", "green")]
    force(local, rows_fn(tokenizer, rows))
    jobs = [job("alt-text") for _ in rows]
    completions = local.complete_batch([build_request(j) for j in jobs], threading.Event())
    assert [c.text for c in completions] == rows


def test_an_in_process_batch_writes_one_line_per_image(local: LocalBackend, tmp_path: Path) -> None:
    folder = tmp_path / "pages"
    folder.mkdir()
    for i in range(3):
        Image.new("RGB", (128, 96), (i * 40, 90, 90)).save(folder / f"p{i}.png")
    force(local, rows_fn(local.processor.tokenizer, [ALT] * 3))  # one generate call for all three
    skill = get_skill("alt-text")
    spec = BatchSpec(skill, folder, tmp_path / "out.jsonl", {}, "en", 64 * 32 * 32, workers=3)
    summary = run_batch(spec, local, threading.Event())
    assert (summary.done, summary.failed, summary.stopped) == (3, 0, False)
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [line["image"] for line in lines] == ["p0.png", "p1.png", "p2.png"]
    assert all(line["result"] == {"alt_text": ALT} for line in lines)

"""Recorded runs → a LLaMA-Factory ShareGPT dataset with the prompt and tool schema the agent sent.

Each kept step becomes one sample: the system turn and the ``computer_use`` tool exactly
as ``build_request`` made them for that step (task, the history lines of the steps
before it, the screenshot as an ``<image>`` placeholder), and the model's recorded
answer as the assistant turn. Kept are the steps whose actions the user approved or
that were performed without error (or every step with ``include_all``). The folder
gets ``deskpilot.json``, ``dataset_info.json``, ``images/`` (0600 copies) and
``lora_sft.yaml`` built from the seed guide's LoRA recipe.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.actions import ACTION_ADAPTER
from agent.computer_use.prompts import PromptSettings, StepNote, action_text, build_request, not_done_feedback
from agent.errors import ConfigError
from agent.records.files import open_private
from agent.records.schema import RunInfo, StepRecord
from agent.scaling import ModelFrame

DATASET_NAME = "deskpilot"
DATASET_FILE = "deskpilot.json"
IMAGE = "<image>"

# The seed guide's LoRA recipe (section 4.3), with the keys LLaMA-Factory needs around it.
LORA_RECIPE: dict[str, Any] = {
    "stage": "sft",
    "do_train": True,
    "template": "qwen3_vl",
    "finetuning_type": "lora",
    "lora_target": "all",
    "lora_rank": 64,
    "lora_alpha": 16,
    "lora_dropout": 0.1,
    "per_device_train_batch_size": 2,
    "gradient_accumulation_steps": 4,
    "learning_rate": 1e-4,
    "num_train_epochs": 5,
    "logging_steps": 10,
    "save_steps": 500,
    "optim": "adamw_torch",
    "lr_scheduler_type": "cosine",
    "warmup_ratio": 0.1,
}


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str
    content: str


class FinetuneSample(BaseModel):
    """One line of deskpilot.json, in LLaMA-Factory's ShareGPT layout with OpenAI-style roles."""

    model_config = ConfigDict(extra="forbid")
    messages: list[Message] = Field(min_length=2)
    images: list[str]
    tools: str  # the tool schema as JSON text, as LLaMA-Factory's tools column takes it


@dataclass(frozen=True)
class RecordedRun:
    folder: Path
    info: RunInfo
    steps: list[StepRecord]


@dataclass(frozen=True)
class ExportSummary:
    out: Path
    runs: int
    samples: int
    skipped: int


def step_kept(step: StepRecord) -> bool:
    """Approved by the user, or performed without error: worth learning from."""
    if step.error or not step.actions or not step.raw_text:
        return False
    approved = any(a.confirmation in ("approved", "approved_for_session") for a in step.actions)
    succeeded = all(a.performed and not a.error for a in step.actions) or all(
        a.decision == "allow" and a.screen.get("action") in ("terminate", "answer") for a in step.actions
    )
    return approved or succeeded


def _note(step: StepRecord) -> StepNote:
    """The history line the loop wrote for ``step`` (agent/computer_use/loop.py, same words)."""
    texts: list[str] = []
    for record in step.actions:
        if record.model is None:
            continue
        try:
            texts.append(action_text(ACTION_ADAPTER.validate_python(record.model)))
        except ValidationError:
            texts.append(str(record.model.get("action", "?")))
    if step.error and not step.actions:
        return StepNote(step.number, (), f"unusable answer ({step.error})")
    words: list[str] = []
    for record in step.actions:
        if record.screen.get("action") == "terminate":
            return StepNote(step.number, tuple(texts), "finished")
        if record.screen.get("action") == "answer":
            return StepNote(step.number, tuple(texts), "answered")
        if record.performed:
            words.append("done")
            continue
        if record.confirmation == "dry_run":
            words.append("not performed (dry run)")
            continue
        words.append(not_done_feedback(record)[1])
        break
    return StepNote(step.number, tuple(texts), "; ".join(words) or "done")


def _feedback(step: StepRecord) -> str | None:
    """The note the step after ``step`` carried, as the loop wrote it."""
    if step.error and not step.actions:
        return f"Your last answer could not be used: {step.error}. Answer with a <tool_call>."
    for record in step.actions:
        if (
            not record.performed
            and record.confirmation != "dry_run"
            and record.screen.get("action")
            not in (
                "terminate",
                "answer",
            )
        ):
            return not_done_feedback(record)[0]
    return None


def _flatten(content: list[dict[str, Any]]) -> tuple[str, int]:
    """A chat-template message's parts as one string with ``<image>`` where each image was."""
    pieces, images = [], 0
    for part in content:
        if part.get("type") == "image":
            pieces.append(IMAGE)
            images += 1
        else:
            pieces.append(str(part.get("text", "")))
    return "".join(pieces), images


def step_sample(run: RecordedRun, index: int, image_name: str) -> FinetuneSample:
    """The sample of ``run.steps[index]``, with the prompt rebuilt as the agent built it."""
    from PIL import Image

    step = run.steps[index]
    settings = run.info.settings
    prompt = PromptSettings(
        max_pixels=int(settings.get("max_pixels", PromptSettings.max_pixels)),
        screenshots=1,  # one image per sample: the screenshot the step was decided on
    )
    with Image.open(run.folder / step.screenshot) as shot:
        size = shot.size
        frame = ModelFrame.for_image(
            str(settings.get("frame", "rel1000")),
            *size,
            min_pixels=prompt.min_pixels,
            max_pixels=prompt.max_pixels,
        )
        notes = [_note(s) for s in run.steps[:index]]
        feedback = _feedback(run.steps[index - 1]) if index else None
        request = build_request(run.info.task, notes, [shot], frame, feedback=feedback, settings=prompt)
    messages: list[Message] = []
    for message in request.messages:
        text, _ = _flatten(message["content"])
        messages.append(Message(role=message["role"], content=text))
    messages.append(Message(role="assistant", content=step.raw_text.strip()))
    return FinetuneSample(
        messages=messages, images=[image_name], tools=json.dumps(request.tools, ensure_ascii=False)
    )


def load_recorded_run(root: Path, name: str) -> RecordedRun:
    """A run by id (as ``deskpilot history`` lists it, a unique start, 'latest') or by folder."""
    from agent.records.history import load_run

    folder = Path(name).expanduser()
    if folder.is_dir() and (folder / "run.json").is_file():
        info, steps = load_run(folder.parent, folder.name)
        _require_model_steps(info, steps)
        return RecordedRun(folder, info, steps)
    if folder.suffix in (".json", ".jsonl", ".toml", ".yaml") or folder.is_file():
        name = _macro_run(folder)
    info, steps = load_run(root, name)
    _require_model_steps(info, steps)
    return RecordedRun(root / info.id, info, steps)


def _require_model_steps(info: RunInfo, steps: Sequence[StepRecord]) -> None:
    """A run no model planned (a click by name, a macro replay) has nothing a model could learn from."""
    from agent.records.history import MODEL_BACKENDS

    if info.backend in MODEL_BACKENDS and any(step.raw_text.strip() for step in steps):
        return
    what = {"ocr": "a click by name", "macro": "a macro replay"}.get(info.backend, "a run")
    raise ConfigError(
        f"run {info.id} has no model steps to export: it was {what} (backend {info.backend or 'unknown'}); "
        "export runs of 'deskpilot run' or the tray"
    )


def _macro_run(path: Path) -> str:
    """The run a macro file was made from, whose steps are exported in its place.

    A macro keeps crops around its targets, not the whole screens the model is shown at
    each step, so its own content cannot become samples that look like what the agent
    sends. A macro made with ``deskpilot macro from-run`` names its run; a recorded one
    has none and is refused with the reason.
    """
    from agent.macros.schema import load_macro

    macro = load_macro(path)
    if macro.source == "run" and macro.run_id:
        return macro.run_id
    raise ConfigError(
        f"{path} is a recorded macro: it keeps only crops around its targets, not the screens "
        "the model sees; export runs (macros made with 'deskpilot macro from-run' are exported as their run)"
    )


def export_runs(
    runs: Sequence[RecordedRun], out: Path, *, include_all: bool = False, base_model: str | None = None
) -> ExportSummary:
    """Write the dataset, its dataset_info.json and lora_sft.yaml into ``out`` (new or empty)."""
    import shutil

    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out} exists and is not an empty folder")
    (out / "images").mkdir(parents=True, exist_ok=True, mode=0o700)
    samples: list[FinetuneSample] = []
    skipped = 0
    for run in runs:
        for index, step in enumerate(run.steps):
            if not step.screenshot or not (run.folder / step.screenshot).is_file():
                skipped += 1
                continue
            if not include_all and not step_kept(step):
                skipped += 1
                continue
            name = f"images/{run.folder.name}-{step.number:04d}{Path(step.screenshot).suffix}"
            fd = open_private(out / name)
            with os.fdopen(fd, "wb") as target, (run.folder / step.screenshot).open("rb") as source:
                shutil.copyfileobj(source, target)
            samples.append(step_sample(run, index, name))
    _write_json(out / DATASET_FILE, [s.model_dump() for s in samples])
    _write_json(out / "dataset_info.json", dataset_info())
    model = base_model or (runs[0].info.model if runs else "Qwen/Qwen3-VL-8B-Instruct")
    _write_text(out / "lora_sft.yaml", lora_config(model, out, runs))
    validate_export(out)
    return ExportSummary(out, len(runs), len(samples), skipped)


def dataset_info() -> dict[str, Any]:
    return {
        DATASET_NAME: {
            "file_name": DATASET_FILE,
            "formatting": "sharegpt",
            "columns": {"messages": "messages", "images": "images", "tools": "tools"},
            "tags": {
                "role_tag": "role",
                "content_tag": "content",
                "user_tag": "user",
                "assistant_tag": "assistant",
                "system_tag": "system",
            },
        }
    }


def lora_config(model: str, out: Path, runs: Sequence[RecordedRun]) -> str:
    max_pixels = max((int(r.info.settings.get("max_pixels", 0)) for r in runs), default=0)
    values: dict[str, Any] = {
        "model_name_or_path": model,
        "dataset_dir": str(out.resolve()),
        "dataset": DATASET_NAME,
        **LORA_RECIPE,
        "output_dir": str((out / "output").resolve()),
    }
    if max_pixels:
        values["image_max_pixels"] = max_pixels  # the budget the agent showed the model
    lines = ["# LoRA SFT for LLaMA-Factory: llamafactory-cli train lora_sft.yaml"]
    lines += [f"{key}: {_yaml(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def _yaml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))  # a JSON string is a valid YAML scalar


def validate_export(out: Path) -> int:
    """Check what LLaMA-Factory needs: every sample's <image> count equals its images, every image exists."""
    info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
    data = json.loads((out / info[DATASET_NAME]["file_name"]).read_text(encoding="utf-8"))
    for number, raw in enumerate(data, 1):
        sample = FinetuneSample.model_validate(raw)
        tags = sum(m.content.count(IMAGE) for m in sample.messages)
        if tags != len(sample.images):
            raise ConfigError(f"sample {number}: {tags} {IMAGE} tags but {len(sample.images)} images")
        for image in sample.images:
            if not (out / image).is_file():
                raise ConfigError(f"sample {number}: image {image} is missing")
    return len(data)


def _write_json(path: Path, data: Any) -> None:
    _write_text(path, json.dumps(data, ensure_ascii=False, indent=1))


def _write_text(path: Path, text: str) -> None:
    fd = open_private(path)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)

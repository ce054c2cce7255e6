"""Running a skill: one model call with the images and the prompt, validated, one retry told the problem."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.errors import DeskpilotError
from agent.scaling import FrameKind, model_image_size
from agent.skills.unit import Lang, OutputProblem, Skill, SkillContext, Validated

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.backends.base import Backend, ChatRequest, Completion

DEFAULT_MAX_PIXELS = 1024 * 32 * 32
MIN_PIXELS = 64 * 32 * 32
RETRY_WORDS: dict[Lang, str] = {
    "zh": "你的回答不符合要求: {problem}。请重新回答,严格按照要求的格式,只返回要求的内容。",
    "en": "Your answer was rejected: {problem}. Answer again, exactly in the format asked for, "
    "with nothing else.",
}


class SkillOutputError(DeskpilotError):
    """The model's output failed validation twice; ``raw`` holds both answers, the last one last."""

    def __init__(self, message: str, raw: str, problem: str) -> None:
        super().__init__(message)
        self.raw = raw
        self.problem = problem


@dataclass(frozen=True)
class SkillJob:
    """One skill on some images, with its options resolved and the prompt language chosen."""

    skill: Skill
    images: tuple[Image, ...]
    options: Mapping[str, str]
    lang: Lang
    max_pixels: int = DEFAULT_MAX_PIXELS

    @property
    def context(self) -> SkillContext:
        return SkillContext(options=self.options, image_count=len(self.images), lang=self.lang)


@dataclass(frozen=True)
class SkillResult:
    validated: Validated
    raw: str  # the model's answer that passed
    attempts: int


def fit_image(image: Image, max_pixels: int) -> Image:
    """The image at the size the model is shown (the one size rule), in RGB; servers get it as is."""
    rgb = image.convert("RGB") if image.mode != "RGB" else image
    width, height = model_image_size(
        FrameKind.REL1000, rgb.width, rgb.height, min_pixels=MIN_PIXELS, max_pixels=max_pixels
    )
    if (width, height) == rgb.size:
        return rgb
    from PIL import Image as PILImage

    return rgb.resize((width, height), PILImage.Resampling.BILINEAR)


def build_request(job: SkillJob, retry: tuple[str, str] | None = None) -> ChatRequest:
    """The chat for ``job``: images then the skill's prompt, no tools; a retry adds the rejected
    answer and the problem with it, so the model knows what to fix."""
    from agent.backends.base import ChatRequest

    parts: list[dict[str, Any]] = [
        {"type": "image", "image": fit_image(i, job.max_pixels)} for i in job.images
    ]
    parts.append({"type": "text", "text": job.skill.prompt(job.lang, job.options)})
    messages: list[dict[str, Any]] = [{"role": "user", "content": parts}]
    if retry is not None:
        answer, problem = retry
        messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
        text = RETRY_WORDS[job.lang].format(problem=problem)
        messages.append({"role": "user", "content": [{"type": "text", "text": text}]})
    return ChatRequest(
        messages=messages,
        tools=[],
        max_new_tokens=job.skill.max_new_tokens,
        max_pixels=job.max_pixels,
        min_pixels=MIN_PIXELS,
        stop=(),
    )


def attempt(job: SkillJob, text: str) -> Validated | str:
    """The validated output, or the problem in words."""
    try:
        return job.skill.validate(text, job.context)
    except OutputProblem as err:
        return str(err)


def failure(job: SkillJob, answers: Sequence[str], problem: str) -> SkillOutputError:
    raw = "\n\n----- retry -----\n\n".join(answers)
    return SkillOutputError(
        f"{job.skill.name}: the model's answer was rejected twice: {problem}", raw=raw, problem=problem
    )


Complete = Callable[["ChatRequest"], "Completion"]


def run_job(job: SkillJob, complete: Complete, on_retry: Callable[[str], None] | None = None) -> SkillResult:
    """Ask, validate, and on a rejection ask once more with the problem; raise SkillOutputError after."""
    first = complete(build_request(job)).text
    outcome = attempt(job, first)
    if isinstance(outcome, Validated):
        return SkillResult(outcome, first, 1)
    if on_retry is not None:
        on_retry(outcome)
    second = complete(build_request(job, (first, outcome))).text
    retried = attempt(job, second)
    if isinstance(retried, Validated):
        return SkillResult(retried, second, 2)
    raise failure(job, (first, second), retried)


def run_skill(
    backend: Backend,
    job: SkillJob,
    cancel: threading.Event,
    on_text: Callable[[str], None] | None = None,
    on_retry: Callable[[str], None] | None = None,
) -> SkillResult:
    """``job`` on ``backend``; a stop raises StoppedError, a backend failure BackendError."""
    return run_job(job, lambda request: backend.complete(request, cancel, on_text), on_retry)

"""Locate: one grounding call outside the step loop, asked as a click on the described element.

The model is asked in the ``computer_use`` format it was tuned on (the same prompt
builder, parser and scaling as a step), to click the element; the point is taken from
that click and mapped to the screen. A reply without a point is ``TargetNotFoundError``:
a target that cannot be found is a failure, not a guess.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.backends.base import Backend, Completion
from agent.computer_use.parsing import parse_reply
from agent.computer_use.prompts import PromptSettings, build_request
from agent.errors import ActionError, ReplyError, TargetNotFoundError
from agent.geometry import CaptureGeometry
from agent.scaling import FrameKind, ModelFrame, fit_to_budget, model_to_image

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.actions import Action


def locate_task(description: str) -> str:
    """The task text of a grounding call: a click on the element, in the user's words."""
    return f"Click on this element: {description.strip()}"


@dataclass(frozen=True)
class Pointed:
    """Where the model pointed on one image: its action, in its grid and in image pixels."""

    action: Action
    model_xy: tuple[float, float]
    image_xy: tuple[float, float]
    model_frame: ModelFrame
    completion: Completion
    image_size: tuple[int, int]  # the size the model was shown (after the pixel budget)
    seconds: float


@dataclass(frozen=True)
class GroundingAsker:
    """Asks the model for one pointer action on one image; the shared core of locate and refine."""

    backend: Backend
    frame_kind: FrameKind = FrameKind.REL1000
    settings: PromptSettings = field(default_factory=PromptSettings)

    def model_frame(self, width: int, height: int) -> ModelFrame:
        return ModelFrame.for_image(
            self.frame_kind,
            width,
            height,
            min_pixels=self.settings.min_pixels,
            max_pixels=self.settings.max_pixels,
        )

    def point(
        self, task: str, image: Image, cancel: threading.Event, *, feedback: str | None = None
    ) -> Pointed:
        """The first pointer action of the reply to ``task`` on ``image``; raises when there is none."""
        started = time.perf_counter()
        frame = self.model_frame(image.width, image.height)
        shown = fit_to_budget(image, self.frame_kind, self.settings.min_pixels, self.settings.max_pixels)
        request = build_request(task, [], [shown], frame, feedback=feedback, settings=self.settings)
        completion = self.backend.complete(request, cancel)
        try:
            reply = parse_reply(completion.text)
        except ReplyError as err:
            raise TargetNotFoundError(f"the model's answer could not be used: {err}") from None
        for action in reply.actions:
            model_xy = action.point
            if model_xy is None:
                continue
            try:
                image_xy = model_to_image(model_xy, frame, image.width, image.height)
            except ActionError as err:
                raise TargetNotFoundError(f"the model pointed off the image: {err}") from None
            return Pointed(
                action, model_xy, image_xy, frame, completion, shown.size, time.perf_counter() - started
            )
        why = reply.no_action_reason or "its actions have no point"
        raise TargetNotFoundError(f"the model did not point at the element ({why})")


@dataclass(frozen=True)
class Located:
    """The answer of a locate call: the screen point, and how it was found."""

    screen_xy: tuple[int, int]
    image_xy: tuple[float, float]
    first: Pointed
    refinement: dict[str, Any] | None = None  # the crop request and answer, when refined

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "x": self.screen_xy[0],
            "y": self.screen_xy[1],
            "image_x": round(self.image_xy[0], 2),
            "image_y": round(self.image_xy[1], 2),
            "model": list(self.first.model_xy),
            "refinement": self.refinement,
        }


def image_point_to_screen(image_xy: tuple[float, float], geometry: CaptureGeometry) -> tuple[int, int]:
    from agent.scaling import image_to_screen

    return image_to_screen(image_xy, geometry)

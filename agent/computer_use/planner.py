"""One planning step: screenshot(s) and history → prompt → backend → validated screen actions.

An unusable answer (no tool call, a malformed one, an off-grid point) is not an
exception here: it comes back as ``Plan.error``, the text the loop feeds back to the
model. Only a stop and a backend failure raise.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from agent.actions import ACTION_ADAPTER, ScreenAction
from agent.backends.base import Backend, Completion, TextSink
from agent.computer_use.parsing import ParsedReply, parse_reply
from agent.computer_use.prompts import PromptSettings, StepNote, build_request
from agent.computers.base import Frame
from agent.errors import ActionError, DescriptionOnlyError, ReplyError
from agent.geometry import CaptureGeometry
from agent.scaling import FrameKind, ModelFrame, fit_to_budget, to_screen_action

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.computer_use.marks import MarkSet


class DescriptionLocator(Protocol):
    """Grounds a target named only by description to a screen point (agent.grounding's locate)."""

    def locate_point(
        self, description: str, image: Image, geometry: CaptureGeometry, cancel: threading.Event
    ) -> tuple[int, int] | None: ...


class ActionRefiner(Protocol):
    """Second look at a plan's click (zoom-then-ground, agent.grounding.refine.Refiner)."""

    def refine_actions(
        self,
        task: str,
        actions: tuple[ScreenAction, ...],
        image: Image,
        geometry: CaptureGeometry,
        cancel: threading.Event,
    ) -> tuple[tuple[ScreenAction, ...], dict[str, Any] | None]: ...


@dataclass(frozen=True)
class Plan:
    """What the model answered and what it means on this screen."""

    completion: Completion
    reply: ParsedReply | None
    actions: tuple[ScreenAction, ...]
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    refinement: dict[str, Any] | None = None  # the crop request and answer, when a click was refined

    @property
    def usable(self) -> bool:
        return self.error is None


class Planner:
    def __init__(
        self,
        backend: Backend,
        *,
        frame_kind: FrameKind = FrameKind.REL1000,
        settings: PromptSettings | None = None,
        refiner: ActionRefiner | None = None,
        locator: DescriptionLocator | None = None,
    ) -> None:
        self.backend = backend
        self.frame_kind = frame_kind
        self.settings = settings or PromptSettings()
        self.refiner = refiner
        self.locator = locator

    def model_frame(self, frame: Frame) -> ModelFrame:
        return ModelFrame.for_image(
            self.frame_kind,
            frame.image.width,
            frame.image.height,
            min_pixels=self.settings.min_pixels,
            max_pixels=self.settings.max_pixels,
        )

    def plan(
        self,
        task: str,
        steps: Sequence[StepNote],
        frames: Sequence[Frame],
        cancel: threading.Event,
        *,
        feedback: str | None = None,
        on_text: TextSink | None = None,
        marks: MarkSet | None = None,
    ) -> Plan:
        """Ask for the next actions given ``frames`` (oldest first, the newest is current).

        ``marks`` (``--marks``): the current frame's numbered elements, drawn on the
        image the model sees (after it is fitted to the pixel budget, so the labels keep
        their size) and listed in the prompt.
        """
        started = time.perf_counter()
        current = frames[-1]
        model_frame = self.model_frame(current)
        budget = (self.settings.min_pixels, self.settings.max_pixels)
        images = [fit_to_budget(f.image, self.frame_kind, *budget) for f in frames]
        if marks is not None:
            images[-1] = marks.drawn_on(images[-1])
        request = build_request(
            task,
            steps,
            images,
            model_frame,
            feedback=feedback,
            settings=self.settings,
            marks=marks.text() if marks is not None else None,
        )
        prompt_done = time.perf_counter()
        completion = self.backend.complete(request, cancel, on_text)
        model_done = time.perf_counter()
        timings = {"prompt_s": prompt_done - started, "model_s": model_done - prompt_done}
        try:
            reply = parse_reply(completion.text)
            actions = tuple(to_screen_action(a, model_frame, current.geometry) for a in reply.actions)
        except DescriptionOnlyError as err:
            located = self._locate(err, current, cancel)
            timings["parse_s"] = time.perf_counter() - model_done
            if located is None:
                return Plan(
                    completion,
                    None,
                    (),
                    error=f"{err}; it could not be found by that description",
                    timings=timings,
                )
            return Plan(
                completion, ParsedReply(actions=(located.action,), thought=""), (located,), timings=timings
            )
        except (ReplyError, ActionError) as err:
            timings["parse_s"] = time.perf_counter() - model_done
            return Plan(completion, None, (), error=str(err), timings=timings)
        timings["parse_s"] = time.perf_counter() - model_done
        if not actions:
            return Plan(completion, reply, (), error=reply.no_action_reason, timings=timings)
        refinement = None
        if self.refiner is not None:
            refine_started = time.perf_counter()
            actions, refinement = self.refiner.refine_actions(
                task, actions, current.image, current.geometry, cancel
            )
            timings["refine_s"] = time.perf_counter() - refine_started
        return Plan(completion, reply, actions, timings=timings, refinement=refinement)

    def _locate(
        self, err: DescriptionOnlyError, frame: Frame, cancel: threading.Event
    ) -> ScreenAction | None:
        """The seed guide's description-only click, aimed where the locator finds its target."""
        if self.locator is None:
            return None
        point = self.locator.locate_point(err.description, frame.image, frame.geometry, cancel)
        if point is None:
            return None
        action = ACTION_ADAPTER.validate_python(
            {"action": err.action, "element_description": err.description}
        )
        return ScreenAction.at_screen_point(action, *point)

"""Zoom-then-ground: crop around the model's point, ask for the same action on the crop, map back.

A model's pointing error is roughly constant in its own grid units, so on a crop
``zoom`` times smaller the same error is ``zoom`` times fewer pixels. ``auto`` refines
when small structure is the nearest thing to the point (``imaging.structure_size_near``):
a glyph, an icon, or a miss just beside one; it leaves points on or beside large
structure and on a uniform area (a wide button, a text field, a panel) alone, where one
pass is usually inside. Measured limit (scripts/bench_grounding.py): a miss beside a
target of 40 px or more is not refined by auto, only by always.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from agent.actions import DoubleClick, LeftClick, MiddleClick, RightClick, ScreenAction, TripleClick
from agent.errors import ConfigError, TargetNotFoundError
from agent.geometry import CaptureGeometry
from agent.grounding.crops import DEFAULT_ZOOM, crop_around, crop_model_to_image, crop_size
from agent.grounding.locate import GroundingAsker
from agent.imaging import structure_near
from agent.scaling import image_to_screen, model_to_image

if TYPE_CHECKING:
    from PIL.Image import Image

# Structure whose longer side is below this many pixels of a 1x capture counts as
# small (icons are 16-24 px, glyphs 8-14 px; buttons and fields are 60+ px wide).
SMALL_STRUCTURE_PX = 40
# How far from the point (1x pixels) to look for structure.
STRUCTURE_RADIUS_PX = 48

REFINED_ACTIONS = (LeftClick, RightClick, MiddleClick, DoubleClick, TripleClick)


class RefineMode(StrEnum):
    OFF = "off"
    AUTO = "auto"
    ALWAYS = "always"


def parse_refine_mode(value: str) -> RefineMode:
    try:
        return RefineMode(value)
    except ValueError:
        choices = ", ".join(mode.value for mode in RefineMode)
        raise ConfigError(f"unknown refine mode {value!r}; choose one of {choices}") from None


def crop_feedback(action_name: str) -> str:
    """What the model is told on the crop request: the same action, on a zoomed view."""
    return (
        f"This screenshot is a zoomed-in part of the screen around where you chose to {action_name}. "
        f"Call {action_name} again on the same element, with coordinates on this zoomed view."
    )


@dataclass(frozen=True)
class Refined:
    image_xy: tuple[float, float]
    screen_xy: tuple[int, int]
    record: dict[str, Any]  # what the step's record keeps: the crop request and answer


@dataclass(frozen=True)
class Refiner:
    asker: GroundingAsker
    mode: RefineMode = RefineMode.AUTO
    zoom: float = DEFAULT_ZOOM

    def decide(self, image: Image, image_xy: tuple[float, float], scale: float) -> tuple[bool, str]:
        """Whether to refine a point, and why in words (kept in the record)."""
        if self.mode is RefineMode.OFF:
            return False, "refinement off"
        if self.mode is RefineMode.ALWAYS:
            return True, "refinement always"
        near = structure_near(image, image_xy, round(STRUCTURE_RADIUS_PX * scale))
        if near.side == 0:
            return False, "a uniform area under the point"
        if near.side < SMALL_STRUCTURE_PX * scale:
            return True, f"small structure ({near.side} px) near the point"
        return False, f"large structure ({near.side} px) at the point"

    def refine(
        self,
        task: str,
        action_name: str,
        image: Image,
        geometry: CaptureGeometry,
        image_xy: tuple[float, float],
        cancel: threading.Event,
    ) -> Refined | None:
        """The refined point, or None when the decision says no; a crop answer without a
        usable point keeps the first point (recorded with the reason)."""
        wanted, why = self.decide(image, image_xy, geometry.scale_x)
        if not wanted:
            return None
        window = crop_around(
            image_xy, image.width, image.height, crop_size(image.width, image.height, self.zoom)
        )
        crop = image.crop(window.box)
        record: dict[str, Any] = {
            "mode": self.mode.value,
            "why": why,
            "crop": window.to_json_dict(),
            "zoom": round(window.zoom, 3),
            "first_image_xy": [round(image_xy[0], 2), round(image_xy[1], 2)],
        }
        try:
            pointed = self.asker.point(task, crop, cancel, feedback=crop_feedback(action_name))
        except TargetNotFoundError as err:
            record["error"] = str(err)
            record["used"] = False
            return Refined(image_xy, image_to_screen(image_xy, geometry), record)
        refined_xy = crop_model_to_image(pointed.model_xy, pointed.model_frame, window)
        # The crop's far edge is its last pixel, as the full frame's is.
        refined_xy = (
            min(refined_xy[0], window.left + window.width - 1e-6),
            min(refined_xy[1], window.top + window.height - 1e-6),
        )
        screen_xy = image_to_screen(refined_xy, geometry)
        record.update(
            {
                "crop_image_size": list(pointed.image_size),
                "reply": pointed.completion.text,
                "model": list(pointed.model_xy),
                "image_xy": [round(refined_xy[0], 2), round(refined_xy[1], 2)],
                "screen": list(screen_xy),
                "prompt_tokens": pointed.completion.prompt_tokens,
                "seconds": round(pointed.seconds, 4),
                "used": True,
            }
        )
        return Refined(refined_xy, screen_xy, record)

    def refine_actions(
        self,
        task: str,
        actions: tuple[ScreenAction, ...],
        image: Image,
        geometry: CaptureGeometry,
        cancel: threading.Event,
    ) -> tuple[tuple[ScreenAction, ...], dict[str, Any] | None]:
        """A plan's actions with its first click refined; the record of the crop request or None."""
        out = list(actions)
        for index, screen_action in enumerate(actions):
            if not isinstance(screen_action.action, REFINED_ACTIONS) or screen_action.screen_xy is None:
                continue
            model_xy = screen_action.action.point
            assert model_xy is not None  # every refined action has a coordinate
            full_frame = self.asker.model_frame(image.width, image.height)
            first = model_to_image(model_xy, full_frame, image.width, image.height)
            refined = self.refine(task, screen_action.name, image, geometry, first, cancel)
            if refined is None:
                return actions, None
            x, y = refined.screen_xy
            out[index] = ScreenAction(action=screen_action.action, x=x, y=y, from_model=True)
            refined.record["action_index"] = index
            return tuple(out), refined.record
        return actions, None

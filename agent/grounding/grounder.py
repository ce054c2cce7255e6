"""One grounding answer for a description on one capture: the first pass, then the optional zoom."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from agent.geometry import CaptureGeometry
from agent.grounding.locate import GroundingAsker, Located, locate_task
from agent.grounding.refine import Refiner
from agent.scaling import image_to_screen

if TYPE_CHECKING:
    from PIL.Image import Image


def locate(
    asker: GroundingAsker,
    refiner: Refiner | None,
    description: str,
    image: Image,
    geometry: CaptureGeometry,
    cancel: threading.Event,
) -> Located:
    """Where ``description`` is on ``image`` (captured as ``geometry``); raises TargetNotFoundError."""
    task = locate_task(description)
    first = asker.point(task, image, cancel)
    if refiner is not None:
        refined = refiner.refine(task, first.action.action, image, geometry, first.image_xy, cancel)
        if refined is not None:
            return Located(refined.screen_xy, refined.image_xy, first, refined.record)
    return Located(image_to_screen(first.image_xy, geometry), first.image_xy, first, None)

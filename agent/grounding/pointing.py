"""The settings' model as a pointer: one adapter from a backend factory to every seam that needs a point."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent.computer_use.prompts import PromptSettings
from agent.errors import TargetNotFoundError
from agent.geometry import CaptureGeometry, Region
from agent.grounding.locate import GroundingAsker, Located
from agent.scaling import FrameKind

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.backends.base import Backend
    from agent.computers.base import Frame
    from agent.config import Settings
    from agent.grounding.refine import Refiner

# A factory, not a backend: a pointer made up front loads its model only when first asked.
BackendFactory = Callable[[], "Backend"]
RefinerFor = Callable[["Settings", "Backend"], "Refiner | None"]


def grounding_asker(settings: Settings, backend: Backend) -> GroundingAsker:
    """The grounding call with the same frame and pixel budget a run's steps use."""
    return GroundingAsker(backend, FrameKind(settings.frame), PromptSettings(max_pixels=settings.max_pixels))


def grounding_refiner(settings: Settings, backend: Backend, mode: str | None = None) -> Refiner | None:
    """The zoom-then-ground step for ``mode`` (default: the setting); None when off."""
    from agent.grounding.refine import RefineMode, Refiner, parse_refine_mode

    chosen = parse_refine_mode(mode or settings.refine)
    if chosen is RefineMode.OFF:
        return None
    return Refiner(grounding_asker(settings, backend), chosen)


def run_refiner(settings: Settings, backend: Backend) -> Refiner | None:
    """The refiner a run or a replay uses: the setting's, except with recorded replies."""
    # A recording holds one reply per step and no answers on crops: replaying it through
    # a refinement would hand the next step's reply to the crop.
    if settings.backend == "script":
        return None
    return grounding_refiner(settings, backend)


class ModelPointer:
    """The settings' model pointing at a description; the backend is fetched only when asked.

    One adapter for the three seams that need a model's point: the planner's
    description-only clicks (``locate_point``), click-by-name's fallback when OCR finds
    nothing (``locate``) and macro replay's tier (d) (``ground``). A backend that cannot
    be loaded or asked raises ``BackendError``; the stop token ends a load or a
    generation (``StoppedError``); a model that finds nothing gives None.
    """

    def __init__(
        self,
        backend: BackendFactory,
        settings: Settings,
        stop: threading.Event,
        *,
        refiner: RefinerFor | None = grounding_refiner,
    ) -> None:
        self._backend, self._settings, self._stop, self._refiner = backend, settings, stop, refiner

    def point(
        self, description: str, image: Image, geometry: CaptureGeometry, cancel: threading.Event
    ) -> Located | None:
        """Where ``description`` is on ``image`` (captured as ``geometry``); None when none is found."""
        from agent.grounding.grounder import locate

        backend = self._backend()  # loaded only now
        refiner = self._refiner(self._settings, backend) if self._refiner is not None else None
        try:
            asker = grounding_asker(self._settings, backend)
            return locate(asker, refiner, description, image, geometry, cancel)
        except TargetNotFoundError:
            return None

    def locate_point(
        self, description: str, image: Image, geometry: CaptureGeometry, cancel: threading.Event
    ) -> tuple[int, int] | None:
        """The planner's seam (``DescriptionLocator``): a screen point on a captured frame."""
        located = self.point(description, image, geometry, cancel)
        return None if located is None else located.screen_xy

    def locate(self, name: str, frame: Frame) -> tuple[int, int] | None:
        """Click-by-name's seam (``Locator``): a screen point on ``frame``."""
        return self.locate_point(name, frame.image, frame.geometry, self._stop)

    def ground(self, image: Image, description: str) -> tuple[int, int] | None:
        """The healer's seam (``Grounder``): an image point, inside ``image``."""
        # The healer works in image pixels: ground on the image alone, at its own origin.
        geometry = CaptureGeometry.unscaled(Region(0, 0, image.width, image.height))
        located = self.point(description, image, geometry, self._stop)
        if located is None:
            return None
        x, y = located.image_xy
        # The far edge (x == width) is the last pixel, as image_to_screen reads it.
        return (min(int(x), image.width - 1), min(int(y), image.height - 1))


def run_locator(settings: Settings, backend: Backend, stop: threading.Event) -> ModelPointer | None:
    """Grounds a run's description-only clicks with the run's own model (one more call, no zoom)."""
    # As for refinement: a recording has no answers for the extra grounding call.
    if settings.backend == "script":
        return None
    return ModelPointer(lambda: backend, settings, stop, refiner=None)

"""Finding a recorded anchor on the current screen, tier by tier; never a guess.

(a) the grey crop near where it was recorded, then anywhere on the monitor;
(b) a few scales around the recorded-to-current scale ratio, grey and then edge maps
    (edges survive a colour or theme change);
(c) the step's text through an OCR reader, when one is plugged in;
(d) the model grounding the stored description, when one is plugged in.
A step no tier finds with confidence is a ``Miss`` with the best candidate seen: the
player then asks the user (tier e, ``MacroPlayer``) or stops; it never falls back to
the recorded coordinates.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeGuard

from agent.imaging import (
    Box,
    Haystack,
    Match,
    core_box,
    find_template,
    gray_array,
    resize_gray,
    search,
    verify_core,
)

if TYPE_CHECKING:
    import numpy as np
    from PIL.Image import Image

    from agent.computers.base import Frame
    from agent.macros.schema import Anchor, Monitor


class TextLocator(Protocol):
    """Tier (c): where ``text`` is written on ``image`` (an OCR reader), or None."""

    def locate_text(self, image: Image, text: str) -> Box | None: ...


class Grounder(Protocol):
    """Tier (d): the image point a model picks for ``description``, or None."""

    def ground(self, image: Image, description: str) -> tuple[int, int] | None: ...


@dataclass(frozen=True)
class HealSettings:
    near_margin: int = 240  # pixels around the recorded crop searched first
    exact: float = 0.90  # tier (a): grey, same scale
    unique_gap: float = 0.05  # a second place this close to the best makes it ambiguous
    scaled: float = 0.80  # tier (b): grey at another scale
    edges: float = 0.60  # tier (b): edge maps (colour or theme changed)
    scales: Sequence[float] = (1.25, 0.8, 1.1, 0.9, 1.5, 0.67)
    # The small core around the point must be there too, at the matched place: a big
    # crop is found by its context even when the target itself is gone.
    core_gray: float = 0.80
    core_edges: float = 0.60


@dataclass(frozen=True)
class Found:
    """Where the anchor is now: the screen point to act on, the image box, and how it was found."""

    point: tuple[int, int]
    box: Box
    tier: str  # "a-near", "a-screen", "b-scale", "b-edges", "c-ocr", "d-model"; the player's "e-user"
    score: float
    seconds: float
    scale: float = 1.0


@dataclass(frozen=True)
class Miss:
    """No tier found the anchor with confidence; ``best`` is the closest candidate seen."""

    best: Match | None
    seconds: float
    reason: str


class Healer:
    """Locates anchors on frames; OCR and model tiers are seams filled in when available."""

    def __init__(
        self,
        settings: HealSettings | None = None,
        *,
        reader: TextLocator | None = None,
        grounder: Grounder | None = None,
    ) -> None:
        self.settings = settings or HealSettings()
        self.reader = reader
        self.grounder = grounder
        self._templates: dict[str, np.ndarray] = {}

    def template(self, anchor: Anchor) -> np.ndarray:
        if anchor.crop not in self._templates:
            from agent.macros.schema import decode_png

            self._templates[anchor.crop] = gray_array(decode_png(anchor.crop))
        return self._templates[anchor.crop]

    def _variant(self, data: str) -> np.ndarray:
        if data not in self._templates:
            from agent.macros.schema import decode_png

            self._templates[data] = gray_array(decode_png(data))
        return self._templates[data]

    def locate(self, frame: Frame, anchor: Anchor, recorded: Monitor) -> Found | Miss:
        started = time.perf_counter()
        s = self.settings
        haystack = Haystack.of(frame.image)
        template = self.template(anchor)
        ratio = frame.geometry.scale_x / recorded.scale
        left, top, width, height = anchor.box
        # The recorded place, in the current frame's pixels.
        near = Box(
            round(left * ratio) - s.near_margin,
            round(top * ratio) - s.near_margin,
            round(width * ratio) + 2 * s.near_margin,
            round(height * ratio) + 2 * s.near_margin,
        )
        base = (ratio,)
        best: Match | None = None

        def found(match: Match, tier: str) -> Found:
            return self._found(frame, anchor, match, tier, started)

        def keep(match: Match | None) -> None:
            nonlocal best
            if match is not None and (best is None or match.score > best.score):
                best = match

        def confident(
            match: Match | None, threshold: float, core_of: np.ndarray = template
        ) -> TypeGuard[Match]:
            if match is None or match.score < threshold:
                return False
            core = core_box((core_of.shape[1], core_of.shape[0]), _offset_in(anchor, core_of))
            needed = s.core_gray if match.kind == "gray" else s.core_edges
            return verify_core(haystack, core_of, core, match) >= needed

        # (a) near the recorded place, then the whole monitor.
        match = find_template(haystack, template, scales=base, within=near)
        keep(match)
        if confident(match, s.exact):
            return found(match, "a-near")
        scaled_template = _scaled(template, ratio)
        ranked = [
            m
            for m in (Match(r.box, r.score, ratio) for r in search(haystack, scaled_template, candidates=3))
            if confident(m, s.exact)
        ]
        if ranked:
            first = ranked[0]
            second = ranked[1].score if len(ranked) > 1 else -1.0
            # Two places that both look right: acting on either would be a guess.
            if second < s.exact or first.score - second >= s.unique_gap:
                return found(first, "a-screen")
        # Looks saved by --update-anchors: the same tier, other pictures of the target.
        for variant in anchor.variants:
            look = self._variant(variant)
            match = find_template(haystack, look, scales=(1.0,))
            keep(match)
            if confident(match, s.exact, look):
                return found(match, "a-variant")
        # (b) other scales (grey), then edge maps at every scale: near first, then anywhere.
        scales = [ratio * f for f in s.scales]
        for within in (near, None):
            match = find_template(
                haystack, template, scales=scales, kinds=("gray",), within=within, good_enough=0.95
            )
            keep(match)
            if confident(match, s.scaled):
                return found(match, "b-scale")
            match = find_template(
                haystack, template, scales=[ratio, *scales], kinds=("edges",), within=within, good_enough=0.9
            )
            keep(match)
            if confident(match, s.edges):
                return found(match, "b-edges")
        # (c) the text under the point, (d) the model: only when plugged in.
        if self.reader is not None and anchor.text:
            box = self.reader.locate_text(frame.image, anchor.text)
            if box is not None:
                return found(Match(box, 1.0, ratio), "c-ocr")
        if self.grounder is not None and anchor.description:
            point = self.grounder.ground(frame.image, anchor.description)
            if point is not None:
                box = Box(point[0], point[1], 1, 1)
                return Found(_to_screen(frame, point), box, "d-model", 1.0, time.perf_counter() - started)
        score = f"{best.score:.2f}" if best is not None else "none"
        return Miss(
            best, time.perf_counter() - started, f"the anchor is not on the screen (best score {score})"
        )

    def _found(self, frame: Frame, anchor: Anchor, match: Match, tier: str, started: float) -> Found:
        box = match.box
        # The point keeps its place inside the crop, stretched with the crop.
        sx = box.width / max(1, anchor.box[2])
        sy = box.height / max(1, anchor.box[3])
        image_point = (box.left + round(anchor.offset[0] * sx), box.top + round(anchor.offset[1] * sy))
        if tier == "c-ocr":
            image_point = box.center
        return Found(
            _to_screen(frame, image_point), box, tier, match.score, time.perf_counter() - started, match.scale
        )


def _offset_in(anchor: Anchor, picture: np.ndarray) -> tuple[int, int]:
    """The anchor's point inside ``picture`` (the crop, or a variant of another size)."""
    sx = picture.shape[1] / max(1, anchor.box[2])
    sy = picture.shape[0] / max(1, anchor.box[3])
    return (round(anchor.offset[0] * sx), round(anchor.offset[1] * sy))


def _scaled(template: np.ndarray, scale: float) -> np.ndarray:
    return template if abs(scale - 1.0) < 1e-6 else resize_gray(template, scale)


def _to_screen(frame: Frame, image_point: tuple[int, int]) -> tuple[int, int]:
    """An image pixel of ``frame`` as a screen point in input units."""
    g = frame.geometry
    x = g.region.left + int(image_point[0] / g.scale_x)
    y = g.region.top + int(image_point[1] / g.scale_y)
    return (min(max(x, g.region.left), g.region.right - 1), min(max(y, g.region.top), g.region.bottom - 1))

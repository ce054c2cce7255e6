"""Finding a recorded anchor on the current screen, tier by tier; never a guess.

(a) the grey crop near where it was recorded, then anywhere on the monitor;
(b) a few scales around the recorded-to-current scale ratio, grey and then edge maps
    (edges survive a colour or theme change);
(c) the anchor's OCR text (``agent.macros.text_tier``), only after (a) and (b) failed:
    the text found once near the recorded place, or once on the whole monitor, and the
    point put back where it was relative to that text;
(d) the model grounding the anchor's stored description (``ground``), when a grounder
    is plugged in: asked once per step, after tiers (a) to (c) found nothing for the
    whole wait, because a model call costs seconds to minutes where a look costs
    milliseconds. Its point must lie on the captured monitor.
Tiers (a-screen) and (b) refuse a best match when a second place scores within
``unique_gap`` of it: two places that both look right are a guess, not a find. An edge
match must also beat, by that gap, the best edge score another place had on the
recorded screen (``Anchor.edge_runner_up``): a look-alike beside a restyled target
scores about that much. A Miss whose best candidate scored well enough but was refused
says why (two places match equally well; the target's centre differs there). A step
no tier finds with confidence is a ``Miss`` with the best candidate seen: the player
then asks the user (tier e, ``MacroPlayer``) or stops; it never falls back to the
recorded coordinates. A model that cannot be loaded
or reached is a ``Miss`` too (its reason says so); a stop while it generates raises
``StoppedError``, so nothing is performed after it.
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
    rivals,
    search,
    verify_core,
)

if TYPE_CHECKING:
    import numpy as np
    from PIL.Image import Image

    from agent.computers.base import Frame
    from agent.macros.schema import Anchor, Monitor


@dataclass(frozen=True)
class TextHit:
    """Tier (c) found the text once: its box in image pixels and how closely it reads (0..1)."""

    box: Box
    score: float


@dataclass(frozen=True)
class TextMiss:
    """Tier (c) did not find the text with confidence (absent, several places, no OCR)."""

    reason: str


class TextLocator(Protocol):
    """Tier (c): where ``text`` is written on ``image``, looked for inside ``near`` first."""

    def locate_text(self, image: Image, text: str, near: Box) -> TextHit | TextMiss: ...


class Grounder(Protocol):
    """Tier (d): the image point a model picks for ``description``, or None when it finds none.

    Raises ``BackendError`` when the model cannot be loaded or asked, and
    ``StoppedError`` when the stop token is set while it generates.
    """

    def ground(self, image: Image, description: str) -> tuple[int, int] | None: ...


@dataclass(frozen=True)
class HealSettings:
    near_margin: int = 240  # pixels around the recorded crop searched first
    exact: float = 0.90  # tier (a): grey, same scale
    unique_gap: float = 0.05  # a second place this close to the best makes it ambiguous
    scaled: float = 0.80  # tier (b): grey at another scale
    edges: float = 0.80  # tier (b): edge maps (colour or theme changed), clipped (EDGE_CLIP)
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
    """Locates anchors on frames; tier (c) runs when a ``reader`` is given, (d) with a ``grounder``."""

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

    def locate(
        self, frame: Frame, anchor: Anchor, recorded: Monitor, *, fallbacks: bool = True
    ) -> Found | Miss:
        """The anchor on ``frame``; ``fallbacks=False`` tries tiers (a) and (b) only."""
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
        # Why the best candidate that scored well enough was still refused: a Miss says so.
        refused: tuple[float, str] | None = None
        # An edge match must also beat, by the uniqueness gap, what another place scored
        # in edges when the anchor was recorded: no better than that is no evidence.
        edge_floor = anchor.edge_runner_up
        edges_needed = s.edges if edge_floor is None else max(s.edges, edge_floor + s.unique_gap)

        def found(match: Match, tier: str) -> Found:
            return self._found(frame, anchor, match, tier, started)

        def keep(match: Match | None) -> None:
            nonlocal best
            if match is not None and (best is None or match.score > best.score):
                best = match

        def refuse(match: Match, why: str) -> None:
            nonlocal refused
            if refused is None or match.score > refused[0]:
                refused = (match.score, why)

        def confident(
            match: Match | None, threshold: float, core_of: np.ndarray = template, *, say: bool = True
        ) -> TypeGuard[Match]:
            if match is None:
                return False
            if match.score < threshold:
                if match.kind == "edges" and say and match.score >= s.edges:
                    refuse(match, f"no better than another place scored when recorded ({edge_floor:.2f})")
                return False
            core = core_box((core_of.shape[1], core_of.shape[0]), _offset_in(anchor, core_of))
            needed = s.core_gray if match.kind == "gray" else s.core_edges
            core_score = verify_core(haystack, core_of, core, match)
            if core_score < needed and say:
                refuse(match, f"the target's centre differs there (centre score {core_score:.2f})")
            return core_score >= needed

        def unique(match: Match, threshold: float, within: Box | None) -> bool:
            # The same rule as (a-screen): a second confident place this close is a guess.
            for other in rivals(haystack, template, match, within=within):
                if confident(other, threshold, say=False) and match.score - other.score < s.unique_gap:
                    refuse(match, ambiguity(match, other))
                    return False
            return True

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
            keep(first)
            second = ranked[1].score if len(ranked) > 1 else -1.0
            # Two places that both look right: acting on either would be a guess.
            if second < s.exact or first.score - second >= s.unique_gap:
                return found(first, "a-screen")
            refuse(first, ambiguity(first, ranked[1]))
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
            if confident(match, s.scaled) and unique(match, s.scaled, within):
                return found(match, "b-scale")
            match = find_template(
                haystack, template, scales=[ratio, *scales], kinds=("edges",), within=within, good_enough=0.9
            )
            keep(match)
            if confident(match, edges_needed) and unique(match, edges_needed, within):
                return found(match, "b-edges")
        # (c) the text under or beside the point, when a reader is plugged in; (d) is ``ground``.
        why = ""
        if fallbacks and self.reader is not None and anchor.text:
            hit = self.reader.locate_text(frame.image, anchor.text, near)
            if isinstance(hit, TextHit):
                return self._found_by_text(frame, anchor, hit, ratio, started)
            why = f"; {hit.reason}"
        score = f"{best.score:.2f}" if best is not None else "none"
        if refused is not None:
            why = f"; refused at {refused[0]:.2f}: {refused[1]}{why}"
        return Miss(
            best, time.perf_counter() - started, f"the anchor is not on the screen (best score {score}){why}"
        )

    def can_ground(self, anchor: Anchor) -> bool:
        """Whether tier (d) can be tried for ``anchor``: a grounder and a description."""
        return self.grounder is not None and bool(anchor.description.strip())

    def ground(self, frame: Frame, anchor: Anchor, miss: Miss) -> Found | Miss:
        """Tier (d): the model grounds the anchor's description on ``frame``; ``miss``: the failed look.

        The point is checked to lie on the captured image (the monitor) before it is
        used; a model that points nowhere, off the monitor, or cannot be asked is a Miss.
        """
        from agent.errors import DeskpilotError, StoppedError

        started = time.perf_counter()
        if self.grounder is None or not anchor.description.strip():
            return miss
        description = anchor.description.strip()
        try:
            point = self.grounder.ground(frame.image, description)
        except StoppedError:
            raise
        except DeskpilotError as err:
            return Miss(
                miss.best, miss.seconds + time.perf_counter() - started, f"tier d-model failed: {err}"
            )
        spent = miss.seconds + time.perf_counter() - started
        if point is None:
            return Miss(
                miss.best,
                spent,
                f"the anchor is not on the screen and the model did not find {description!r}",
            )
        x, y = point
        if not (0 <= x < frame.image.width and 0 <= y < frame.image.height):
            return Miss(
                miss.best,
                spent,
                f"the model pointed at {point}, off the {frame.image.width}x{frame.image.height} monitor",
            )
        return Found(_to_screen(frame, point), _box_around(frame, anchor, point), "d-model", 1.0, spent)

    def _found(self, frame: Frame, anchor: Anchor, match: Match, tier: str, started: float) -> Found:
        box = match.box
        # The point keeps its place inside the crop, stretched with the crop.
        sx = box.width / max(1, anchor.box[2])
        sy = box.height / max(1, anchor.box[3])
        image_point = (box.left + round(anchor.offset[0] * sx), box.top + round(anchor.offset[1] * sy))
        return Found(
            _to_screen(frame, image_point), box, tier, match.score, time.perf_counter() - started, match.scale
        )

    def _found_by_text(
        self, frame: Frame, anchor: Anchor, hit: TextHit, ratio: float, started: float
    ) -> Found:
        point = point_from_text(anchor.text_box, hit.box, ratio)
        # The box reported (and kept by --update-anchors as a new look) is the anchor
        # crop's shape around the recovered point, so its offset still means the point.
        box = Box(
            point[0] - round(anchor.offset[0] * ratio),
            point[1] - round(anchor.offset[1] * ratio),
            max(1, round(anchor.box[2] * ratio)),
            max(1, round(anchor.box[3] * ratio)),
        )
        return Found(_to_screen(frame, point), box, "c-ocr", hit.score, time.perf_counter() - started, ratio)


def ambiguity(match: Match, other: Match) -> str:
    """Why two candidates are a guess, in words (pure)."""
    return (
        f"two places match equally well ({match.score:.2f} at {match.box.center}, "
        f"{other.score:.2f} at {other.box.center})"
    )


def point_from_text(
    recorded: tuple[int, int, int, int] | None, found: Box, ratio: float
) -> tuple[int, int]:
    """The point, put back where it was relative to its text box (pure).

    ``recorded`` is the text box relative to the recorded point (capture pixels). A
    point that was inside its text keeps its fraction of the box, whatever size the
    text is drawn at now; a point beside its text (an icon by its label) keeps its
    offset from the text's centre, scaled by the monitor's current/recorded ratio. No
    recorded box (an older or hand-edited anchor): the middle of the text.
    """
    if recorded is None:
        return found.center
    left, top, width, height = recorded
    if left <= 0 < left + width and top <= 0 < top + height:
        fx, fy = -left / max(1, width), -top / max(1, height)
        return (found.left + round(fx * found.width), found.top + round(fy * found.height))
    cx, cy = left + width / 2, top + height / 2  # the text's centre, from the point
    mx, my = found.left + found.width / 2, found.top + found.height / 2
    return (round(mx - cx * ratio), round(my - cy * ratio))


def _box_around(frame: Frame, anchor: Anchor, point: tuple[int, int]) -> Box:
    """A box the anchor's size with ``point`` at the anchor's offset, inside the frame.

    The model gives a point, not a box; the report draws this box and --update-anchors
    keeps what is in it as the target's new look.
    """
    width, height = min(anchor.box[2], frame.image.width), min(anchor.box[3], frame.image.height)
    left = min(max(0, point[0] - anchor.offset[0]), frame.image.width - width)
    top = min(max(0, point[1] - anchor.offset[1]), frame.image.height - height)
    return Box(left, top, width, height)


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

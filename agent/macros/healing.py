"""Finding a recorded anchor on the current screen, tier by tier; never a guess.

The tiers (``agent.macros.tiers.Tier``) are tried cheapest first, and the player's
timing follows from their costs. The standard ones (``standard_tiers``; a new tier is a
class with a name, a cost, ``applies`` and ``find``, and one line there):
(element) ``ElementTier``, a look, first where the desktop has an accessibility tree:
    the recorded element by role, name and path (``agent.macros.element_tier``);
(a) and (b), ``PictureTier``, a look:
(a) the grey crop near where it was recorded, then anywhere on the monitor;
(b) a few scales around the recorded-to-current scale ratio, grey and then edge maps
    (edges survive a colour or theme change);
(c) ``TextTier``, a read: the anchor's OCR text (``agent.macros.text_tier``), only
    after (a) and (b) failed: the text found once near the recorded place, or once on
    the whole monitor, and the point put back where it was relative to that text;
(d) ``ModelTier``, a model call: the anchor's stored description grounded (``ground``),
    when a grounder is plugged in: asked once per step, after tiers (a) to (c) found
    nothing for the whole wait, because a model call costs seconds to minutes where a
    look costs milliseconds. Its point must lie on the captured monitor.
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
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
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
from agent.macros.tiers import Cost, Near, Tier, TierName, in_cost_order
from agent.macros.tiers import Found as Found  # re-exported: the healer's results, where callers look
from agent.macros.tiers import Miss as Miss
from agent.scaling import clamp_to_image, image_to_screen

# The costs one look during the wait may use once reading is due (``MacroPlayer``).
LOOKS_AND_READS = (Cost.LOOK, Cost.READ)

if TYPE_CHECKING:
    import numpy as np
    from PIL.Image import Image

    from agent.computers.base import Frame
    from agent.macros.schema import Anchor, Monitor
    from agent.ports import AccessibleTree


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


class Healer:
    """Locates anchors on frames by trying its tiers cheapest first (``tiers.Cost``).

    Without ``tiers``: the picture tier, then tier (c) when a ``reader`` is given and
    tier (d) when a ``grounder`` is (``standard_tiers``).
    """

    def __init__(
        self,
        settings: HealSettings | None = None,
        *,
        reader: TextLocator | None = None,
        grounder: Grounder | None = None,
        tree: AccessibleTree | None = None,
        tiers: Sequence[Tier] | None = None,
    ) -> None:
        self.settings = settings or HealSettings()
        if tiers is None:
            tiers = standard_tiers(self.settings, reader=reader, grounder=grounder, tree=tree)
        self.tiers = in_cost_order(tiers)

    def locate(
        self, frame: Frame, anchor: Anchor, recorded: Monitor, *, costs: Collection[Cost] = LOOKS_AND_READS
    ) -> Found | Miss:
        """The anchor on ``frame`` by the tiers of ``costs``; the first confident find wins.

        A Miss gathers what every tier tried saw: the best candidate, the best refused
        one and why, and each tier's own reason.
        """
        started = time.perf_counter()
        near = self.near(frame, anchor, recorded)
        best: Match | None = None
        refused: tuple[float, str] | None = None
        reasons: list[str] = []
        for tier in self.tiers:
            if tier.cost not in costs or not tier.applies(anchor):
                continue
            result = tier.find(frame, anchor, near)
            if isinstance(result, Found):
                return replace(result, seconds=time.perf_counter() - started)
            if result.best is not None and (best is None or result.best.score > best.score):
                best = result.best
            if result.refused is not None and (refused is None or result.refused[0] > refused[0]):
                refused = result.refused
            if result.reason:
                reasons.append(result.reason)
        score = f"{best.score:.2f}" if best is not None else "none"
        why = "".join(f"; {reason}" for reason in reasons)
        if refused is not None:
            why = f"; refused at {refused[0]:.2f}: {refused[1]}{why}"
        reason = f"the anchor is not on the screen (best score {score}){why}"
        return Miss(best, time.perf_counter() - started, reason, refused)

    def near(self, frame: Frame, anchor: Anchor, recorded: Monitor) -> Near:
        """The recorded place, in the current frame's pixels, with the margin searched first."""
        margin = self.settings.near_margin
        ratio = frame.geometry.scale_x / recorded.scale
        left, top, width, height = anchor.box
        box = Box(
            round(left * ratio) - margin,
            round(top * ratio) - margin,
            round(width * ratio) + 2 * margin,
            round(height * ratio) + 2 * margin,
        )
        return Near(box, ratio)

    def can_ground(self, anchor: Anchor) -> bool:
        """Whether a model tier can be tried for ``anchor``: one is listed and the anchor is described."""
        return any(tier.cost is Cost.MODEL and tier.applies(anchor) for tier in self.tiers)

    def ground(
        self, frame: Frame, anchor: Anchor, miss: Miss, recorded: Monitor | None = None
    ) -> Found | Miss:
        """The model tiers, once, after ``miss`` (the whole wait's failed looks and reads).

        A model tier's Miss says in its own words why (it did not find it, pointed off the
        monitor, could not be asked); no model tier for ``anchor``: ``miss`` itself.
        ``recorded`` defaults to the frame's own scale (model tiers read no recorded place).
        """
        started = time.perf_counter()
        if recorded is None:
            recorded = _monitor_of(frame)
        near = self.near(frame, anchor, recorded)
        result: Found | Miss = miss
        for tier in self.tiers:
            if tier.cost is not Cost.MODEL or not tier.applies(anchor):
                continue
            found = tier.find(frame, anchor, near)
            spent = miss.seconds + time.perf_counter() - started
            if isinstance(found, Found):
                return replace(found, seconds=spent)
            result = Miss(miss.best, spent, found.reason or miss.reason, miss.refused)
        return result


def standard_tiers(
    settings: HealSettings | None = None,
    *,
    reader: TextLocator | None = None,
    grounder: Grounder | None = None,
    tree: AccessibleTree | None = None,
) -> list[Tier]:
    """The tiers a replay uses: one line each; a tier whose adapter is not given is left out."""
    tiers: list[Tier] = []
    if tree is not None:
        from agent.macros.element_tier import ElementTier

        tiers.append(ElementTier(tree))  # a look too, listed first: it survives a restyle
    tiers.append(PictureTier(settings or HealSettings()))
    if reader is not None:
        tiers.append(TextTier(reader))
    if grounder is not None:
        tiers.append(ModelTier(grounder))
    return tiers


class PictureTier:
    """Tiers (a) and (b): the recorded crop (and its kept looks), then other scales and edge maps.

    One tier because its looks share one grey haystack and one best-and-refused account;
    each Found names the look that found it (a-near ... b-edges).
    """

    name = TierName.A_NEAR
    cost = Cost.LOOK

    def __init__(self, settings: HealSettings | None = None) -> None:
        self.settings = settings or HealSettings()
        self._templates: dict[str, np.ndarray] = {}  # decoded crops, kept across steps and retries

    def applies(self, anchor: Anchor) -> bool:
        return True

    def template(self, data: str) -> np.ndarray:
        if data not in self._templates:
            from agent.macros.schema import decode_png

            self._templates[data] = gray_array(decode_png(data))
        return self._templates[data]

    def find(self, frame: Frame, anchor: Anchor, near_place: Near) -> Found | Miss:
        s = self.settings
        haystack = Haystack.of(frame.image)
        template = self.template(anchor.crop)
        ratio = near_place.ratio
        near = near_place.box
        base = (ratio,)
        best: Match | None = None
        # Why the best candidate that scored well enough was still refused: a Miss says so.
        refused: tuple[float, str] | None = None
        # An edge match must also beat, by the uniqueness gap, what another place scored
        # in edges when the anchor was recorded: no better than that is no evidence.
        edge_floor = anchor.edge_runner_up
        edges_needed = s.edges if edge_floor is None else max(s.edges, edge_floor + s.unique_gap)

        def found(match: Match, tier: TierName) -> Found:
            return _found(frame, anchor, match, tier)

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
            return found(match, TierName.A_NEAR)
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
                return found(first, TierName.A_SCREEN)
            refuse(first, ambiguity(first, ranked[1]))
        # Looks saved by --update-anchors: the same tier, other pictures of the target.
        for variant in anchor.variants:
            look = self.template(variant)
            match = find_template(haystack, look, scales=(1.0,))
            keep(match)
            if confident(match, s.exact, look):
                return found(match, TierName.A_VARIANT)
        # (b) other scales (grey), then edge maps at every scale: near first, then anywhere.
        scales = [ratio * f for f in s.scales]
        for within in (near, None):
            match = find_template(
                haystack, template, scales=scales, kinds=("gray",), within=within, good_enough=0.95
            )
            keep(match)
            if confident(match, s.scaled) and unique(match, s.scaled, within):
                return found(match, TierName.B_SCALE)
            match = find_template(
                haystack, template, scales=[ratio, *scales], kinds=("edges",), within=within, good_enough=0.9
            )
            keep(match)
            if confident(match, edges_needed) and unique(match, edges_needed, within):
                return found(match, TierName.B_EDGES)
        return Miss(best, 0.0, "", refused)


class TextTier:
    """Tier (c): the anchor's text, found once and the point put back where it was beside it."""

    name = TierName.C_OCR
    cost = Cost.READ

    def __init__(self, reader: TextLocator) -> None:
        self.reader = reader

    def applies(self, anchor: Anchor) -> bool:
        return bool(anchor.text)

    def find(self, frame: Frame, anchor: Anchor, near: Near) -> Found | Miss:
        hit = self.reader.locate_text(frame.image, anchor.text, near.box)
        if isinstance(hit, TextMiss):
            return Miss(None, 0.0, hit.reason)
        ratio = near.ratio
        point = point_from_text(anchor.text_box, hit.box, ratio)
        # The box reported (and kept by --update-anchors as a new look) is the anchor
        # crop's shape around the recovered point, so its offset still means the point.
        box = Box(
            point[0] - round(anchor.offset[0] * ratio),
            point[1] - round(anchor.offset[1] * ratio),
            max(1, round(anchor.box[2] * ratio)),
            max(1, round(anchor.box[3] * ratio)),
        )
        return Found(frame_point_to_screen(frame, point), box, self.name, hit.score, 0.0, ratio)


class ModelTier:
    """Tier (d): the model grounds the anchor's stored description; its point must lie on the monitor."""

    name = TierName.D_MODEL
    cost = Cost.MODEL

    def __init__(self, grounder: Grounder) -> None:
        self.grounder = grounder

    def applies(self, anchor: Anchor) -> bool:
        return bool(anchor.description.strip())

    def find(self, frame: Frame, anchor: Anchor, near: Near) -> Found | Miss:
        """A model that points nowhere, off the monitor, or cannot be asked is a Miss that says so."""
        from agent.errors import DeskpilotError, StoppedError

        description = anchor.description.strip()
        try:
            point = self.grounder.ground(frame.image, description)
        except StoppedError:
            raise
        except DeskpilotError as err:
            return Miss(None, 0.0, f"tier {self.name} failed: {err}")
        if point is None:
            return Miss(
                None, 0.0, f"the anchor is not on the screen and the model did not find {description!r}"
            )
        x, y = point
        width, height = frame.image.width, frame.image.height
        if not (0 <= x < width and 0 <= y < height):
            return Miss(None, 0.0, f"the model pointed at {point}, off the {width}x{height} monitor")
        box = box_around(frame, anchor, point)
        return Found(frame_point_to_screen(frame, point), box, self.name, 1.0, 0.0)


def _found(frame: Frame, anchor: Anchor, match: Match, tier: TierName) -> Found:
    point = anchor_point_in(anchor, match.box)
    return Found(frame_point_to_screen(frame, point), match.box, tier, match.score, 0.0, match.scale)


def anchor_point_in(anchor: Anchor, box: Box) -> tuple[int, int]:
    """The image point acting on ``box`` uses: the anchor's point, stretched with the crop (pure)."""
    sx = box.width / max(1, anchor.box[2])
    sy = box.height / max(1, anchor.box[3])
    return (box.left + round(anchor.offset[0] * sx), box.top + round(anchor.offset[1] * sy))


def frame_point_to_screen(frame: Frame, image_point: tuple[int, int]) -> tuple[int, int]:
    """An image pixel of ``frame`` as a screen point; a point past an edge acts on the edge's last pixel."""
    return image_to_screen(clamp_to_image(image_point, frame.geometry), frame.geometry)


def _monitor_of(frame: Frame) -> Monitor:
    from agent.macros.schema import Monitor

    region = frame.region
    scale = frame.geometry.scale_x
    return Monitor(left=region.left, top=region.top, width=region.width, height=region.height, scale=scale)


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


def box_around(frame: Frame, anchor: Anchor, image_point: tuple[int, int]) -> Box:
    """A box the anchor's size with ``image_point`` at the anchor's offset, inside the frame (pure).

    A point (the model's, the user's) has no box; the report draws this one and
    --update-anchors keeps what is in it as the target's new look.
    """
    width, height = min(anchor.box[2], frame.image.width), min(anchor.box[3], frame.image.height)
    left = min(max(0, image_point[0] - anchor.offset[0]), frame.image.width - width)
    top = min(max(0, image_point[1] - anchor.offset[1]), frame.image.height - height)
    return Box(left, top, width, height)


def _offset_in(anchor: Anchor, picture: np.ndarray) -> tuple[int, int]:
    """The anchor's point inside ``picture`` (the crop, or a variant of another size)."""
    sx = picture.shape[1] / max(1, anchor.box[2])
    sy = picture.shape[0] / max(1, anchor.box[3])
    return (round(anchor.offset[0] * sx), round(anchor.offset[1] * sy))


def _scaled(template: np.ndarray, scale: float) -> np.ndarray:
    return template if abs(scale - 1.0) < 1e-6 else resize_gray(template, scale)

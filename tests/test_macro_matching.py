"""Template matching in agent.imaging, on synthetic screens: moved, rescaled, recoloured, gone, ambiguous."""

from __future__ import annotations

import numpy as np
import pytest

from agent.imaging import Box, Haystack, distinctive_crop, find_template, gray_array, ncc_map, search
from tests.macro_images import FIELD, SAVE, screen, window_point, window_screen

POINT = (460, 320)  # on the button drawn at (400, 300)
MOVED = (400 + 137, 300 + 91)


@pytest.fixture(scope="module")
def recorded() -> tuple[np.ndarray, Box]:
    gray = gray_array(screen())
    crop = distinctive_crop(gray, POINT)
    assert not crop.ambiguous
    return gray, crop.box


def template_of(gray: np.ndarray, box: Box) -> np.ndarray:
    return gray[box.top : box.top + box.height, box.left : box.left + box.width]


def test_ncc_map_equals_the_textbook_formula_on_a_small_table() -> None:
    rng = np.random.default_rng(7)
    image = rng.integers(0, 255, (20, 24)).astype(np.float32)
    template = image[5:13, 9:15].copy()
    scores = ncc_map(image, template)
    t = template - template.mean()
    for y, x in [(0, 0), (5, 9), (12, 18), (3, 11)]:
        w = image[y : y + 8, x : x + 6]
        w = w - w.mean()
        expected = (w * t).sum() / np.sqrt((w * w).sum() * (t * t).sum())
        assert scores[y, x] == pytest.approx(expected, abs=1e-4)
    assert np.unravel_index(np.argmax(scores), scores.shape) == (5, 9)


def test_a_flat_template_matches_nothing() -> None:
    image = gray_array(screen())
    assert find_template(image, np.full((30, 30), 240.0, dtype=np.float32)) is None


# (screen now, scales, kinds, found?, expected top-left or None)
CASES = [
    ("moved, same look", dict(at=MOVED), (1.0,), ("gray",), 0.99, True),
    ("rescaled 1.25x, one scale", dict(at=MOVED, scale=1.25), (1.0,), ("gray",), 0.8, False),
    ("rescaled 1.25x, a few scales", dict(at=MOVED, scale=1.25), (1.0, 1.25, 0.8), ("gray",), 0.9, True),
    (
        "rescaled and recoloured, grey only",
        dict(at=MOVED, scale=1.25, fg=(200, 60, 40), bg=(30, 30, 30)),
        (1.0, 1.25, 0.8),
        ("gray",),
        0.8,
        False,
    ),
    (
        "rescaled and recoloured, edges",
        dict(at=MOVED, scale=1.25, fg=(200, 60, 40), bg=(30, 30, 30)),
        (1.0, 1.25, 0.8),
        ("edges",),
        0.6,
        True,
    ),
    ("gone", dict(at=None), (1.0, 1.25, 0.8), ("gray", "edges"), 0.6, False),
]


@pytest.mark.parametrize(("name", "now", "scales", "kinds", "threshold", "found"), CASES, ids=[c[0] for c in CASES])
def test_matching_table(
    recorded: tuple[np.ndarray, Box],
    name: str,
    now: dict[str, object],
    scales: tuple[float, ...],
    kinds: tuple[str, ...],
    threshold: float,
    found: bool,
) -> None:
    gray, box = recorded
    match = find_template(gray_array(screen(**now)), template_of(gray, box), scales=scales, kinds=kinds)  # type: ignore[arg-type]
    assert match is not None
    assert (match.score >= threshold) is found, match
    if found:
        scale = float(now.get("scale", 1.0))  # type: ignore[arg-type]
        # The point inside the crop, stretched with it, lands on the moved point.
        expected = (MOVED[0] + (POINT[0] - 400) * scale, MOVED[1] + (POINT[1] - 300) * scale)
        got = (
            match.box.left + (POINT[0] - box.left) * match.box.width / box.width,
            match.box.top + (POINT[1] - box.top) * match.box.height / box.height,
        )
        assert abs(got[0] - expected[0]) <= 4 and abs(got[1] - expected[1]) <= 4, (got, expected)


def test_coarse_search_finds_the_same_place_as_the_full_one(recorded: tuple[np.ndarray, Box]) -> None:
    gray, box = recorded
    now = gray_array(screen(at=MOVED))
    fine = search(Haystack(now), template_of(gray, box), factor=1)[0]
    coarse = search(Haystack(now), template_of(gray, box), factor=4)[0]
    assert (coarse.box.left, coarse.box.top) == (fine.box.left, fine.box.top)
    assert coarse.score == pytest.approx(fine.score, abs=1e-3)


def test_a_search_inside_a_window_reports_screen_boxes(recorded: tuple[np.ndarray, Box]) -> None:
    gray, box = recorded
    match = find_template(gray_array(screen(at=MOVED)), template_of(gray, box), within=Box(400, 300, 500, 400))
    assert match is not None and match.score > 0.99
    assert (match.box.left, match.box.top) == (box.left + 137, box.top + 91)


def test_a_button_shown_twice_on_a_plain_screen_is_ambiguous() -> None:
    gray = gray_array(screen(busy=False, extra_buttons=((1200, 700),)))
    crop = distinctive_crop(gray, POINT)
    assert crop.ambiguous and crop.runner_up > 0.85


def test_the_crop_grows_until_it_is_distinctive() -> None:
    # Two identical buttons, but only one has a mark beside it: a crop of the button
    # alone is ambiguous, a larger one that takes in the mark is not.
    from PIL import ImageDraw

    image = screen(busy=False, extra_buttons=((1200, 700),))
    ImageDraw.Draw(image).rectangle([392, 260, 396, 380], fill=(0, 0, 0))
    crop = distinctive_crop(gray_array(image), POINT)
    assert not crop.ambiguous
    assert crop.box.width > 96 and crop.box.left <= 392


# (screen now, rival expected?) at 1.25x: what a tier (b) match has to beat to be unique.
RIVAL_CASES = [
    ("one rescaled button", dict(at=MOVED, scale=1.25), False),
    ("two identical rescaled buttons", dict(at=MOVED, scale=1.25, extra_buttons=((1300, 700),)), True),
    ("two, recoloured", dict(at=MOVED, scale=1.25, extra_buttons=((1300, 700),), fg=(200, 60, 40), bg=(30, 30, 30)), True),
]


@pytest.mark.parametrize(("name", "now", "rival"), RIVAL_CASES, ids=[c[0] for c in RIVAL_CASES])
def test_rivals_are_the_other_places_at_the_match_scale(
    recorded: tuple[np.ndarray, Box], name: str, now: dict[str, object], rival: bool
) -> None:
    from agent.imaging import rivals

    gray, box = recorded
    kinds = ("edges",) if "fg" in now else ("gray",)
    haystack = Haystack(gray_array(screen(**now)))  # type: ignore[arg-type]
    template = template_of(gray, box)
    match = find_template(haystack, template, scales=(1.0, 1.25), kinds=kinds)  # type: ignore[arg-type]
    assert match is not None and match.scale == 1.25
    others = rivals(haystack, template, match)
    # Never the match itself, and a twin scores as well as the match (a guess to pick).
    assert all(abs(o.box.left - match.box.left) > 10 or abs(o.box.top - match.box.top) > 10 for o in others)
    best_other = max((o.score for o in others), default=-1.0)
    assert (match.score - best_other < 0.05) is rival, (match, others)


# An ordinary target in a plain window on a black desktop (the window at 300,200): the
# crop is about the target, grown across the way its look-alikes are displaced, not a
# square reaching the window's edge, whose contrast against black made every shifted
# window look alike.
@pytest.mark.parametrize(("what", "target"), [("field", FIELD), ("save", SAVE)])
def test_a_field_or_button_in_a_window_on_a_black_desktop_gets_a_distinct_crop_of_itself(
    what: str, target: tuple[int, int, int, int]
) -> None:
    crop = distinctive_crop(gray_array(window_screen()), window_point(what))
    assert not crop.ambiguous, crop
    left, right = 300 + target[0], 300 + target[0] + target[2]
    # Both ends of the target are in it (a field shifted along itself no longer fits)...
    assert crop.box.left < left and crop.box.left + crop.box.width > right, crop
    # ...and it is shorter than the window: not its top and bottom edges against black.
    assert crop.box.height < 150 and crop.runner_up < 0.85 and crop.edge_runner_up < 0.85, crop


@pytest.mark.parametrize("what", ["field", "save"])
def test_the_same_window_shown_twice_is_still_ambiguous(what: str) -> None:
    crop = distinctive_crop(gray_array(window_screen(((300, 200), (1000, 600)))), window_point(what))
    assert crop.ambiguous and crop.runner_up > 0.85

"""Tier (c) of healing: the anchor's text found again by offline OCR, once and only once.

Read near the recorded place first (the recorded crop and ``HealSettings.near_margin``
around it, a fraction of the screen), then, when the text is not there, the whole
monitor. Names are matched to text boxes by ``agent.access.matching.find_matches``
(case, spacing and small OCR errors tolerated; whole boxes before words inside longer
ones). Deciding which match is the target (``pick``):

- exactly one match within ``rival_gap`` of the best score is confident;
- several are ambiguous and never guessed between, even when one is nearer the
  recorded place, with one exception that the search order gives: a single match near
  the recorded place is taken without looking at the rest of the monitor, as tier
  (a-near) takes a near crop (the target is where it was, a look-alike is elsewhere).

The reader is any ``TextReader``; with ``RapidReader`` the engine loads on the first
read, so a replay that never reaches tier (c) never loads OCR, and an engine that
cannot load makes this tier a miss that says so (never a crash, never a click).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from agent.access.matching import Match, find_matches
from agent.imaging import Box
from agent.macros.healing import TextHit, TextMiss

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.ports import TextReader

# Matches reading this close to the best one are equally plausible (one OCR edit in a
# short word costs about 0.25, so "Save" and "Sane" are not rivals but two "Save" are).
RIVAL_GAP = 0.1


def pick(matches: Sequence[Match], rival_gap: float = RIVAL_GAP) -> Match | int:
    """The one confident match, or how many equally plausible ones there are (0: none) (pure)."""
    if not matches:
        return 0
    best = max(matches, key=lambda m: m.score)
    plausible = [m for m in matches if best.score - m.score < rival_gap]
    return best if len(plausible) == 1 else len(plausible)


class OcrTextLocator:
    """``TextLocator`` over a ``TextReader``: near the recorded place, then the whole image."""

    def __init__(self, reader: TextReader, *, rival_gap: float = RIVAL_GAP) -> None:
        self.reader = reader
        self.rival_gap = rival_gap
        self._broken: str | None = None  # why the reader failed, once it did

    def locate_text(self, image: Image, text: str, near: Box) -> TextHit | TextMiss:
        if self._broken is not None:
            return TextMiss(self._broken)
        left, top = max(0, near.left), max(0, near.top)
        right, bottom = min(image.width, near.left + near.width), min(image.height, near.top + near.height)
        whole = (left, top, right, bottom) == (0, 0, image.width, image.height)
        regions = [(left, top, right, bottom)] if right > left and bottom > top else []
        if not whole:
            regions.append((0, 0, image.width, image.height))
        for region in regions:
            try:
                boxes = self.reader.read(image.crop(region))
            except Exception as err:  # OcrError, or the engine failing on an image
                # Said in the Miss, and not tried again on every frame of the wait.
                self._broken = f"tier c-ocr could not run: {err}"
                return TextMiss(self._broken)
            chosen = pick(find_matches(text, boxes), self.rival_gap)
            if isinstance(chosen, Match):
                b = chosen.box.shifted(region[0], region[1])
                return TextHit(Box(b.left, b.top, b.width, b.height), chosen.score)
            if chosen > 1:
                where = "near the recorded place" if region != regions[-1] else "on the screen"
                return TextMiss(f"its text {text!r} is {where} {chosen} times, not clicking a guess")
        return TextMiss(f"its text {text!r} is not on the screen either")

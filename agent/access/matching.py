"""Which on-screen text a spoken or typed name means: tolerant of case, spacing and small OCR errors (pure).

A name matches a whole text box when their normalised forms are within a few edits of
each other (none for names of up to three characters, one up to seven, two beyond),
after folding the letters OCR confuses with digits. Only when no box matches whole
does a run of words inside a longer box count ("Save" in "Save changes"), with its
part of the box as the target, so "Save" next to "Save As…" means the "Save" button.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from agent.access.voices import has_cjk
from agent.ports import TextBox

# Characters OCR reads for one another on screen fonts; folded before comparing.
_CONFUSABLE = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "5": "s", "8": "b", "$": "s"})
_WORD = re.compile(r"\S+")


def normalise(text: str) -> str:
    """Case-, width- and spacing-free form: NFKC, casefolded, only letters and digits kept."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def _fold(text: str) -> str:
    return normalise(text).translate(_CONFUSABLE)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insert, delete, substitute), two rows at a time."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def allowed_edits(length: int) -> int:
    return 0 if length <= 3 else 1 if length <= 7 else 2


def closeness(name: str, text: str) -> float | None:
    """1.0 for the same text once normalised, less for small OCR errors; None when too different."""
    a, b = normalise(name), normalise(text)
    if not a or not b:
        return None
    if a == b:
        return 1.0
    fa, fb = _fold(name), _fold(text)
    distance = edit_distance(fa, fb)
    if distance > allowed_edits(len(fa)):
        return None
    # Folded-equal (0 for O) ranks just below exact; each real edit costs more.
    return 0.95 - distance / max(len(fa), len(fb))


@dataclass(frozen=True)
class Match:
    """A box whose text (or a part of it) matches the name; ``box`` is the part to click."""

    box: TextBox
    score: float
    whole: bool  # the whole box matched, not words inside it

    @property
    def text(self) -> str:
        return self.box.text


def _part(box: TextBox, start: int, end: int, text: str) -> TextBox:
    """The share of ``box`` that characters start..end of its text take up (glyphs ~ equal width)."""
    length = max(1, len(box.text))
    left = box.left + round(box.width * start / length)
    right = box.left + round(box.width * end / length)
    return TextBox(text, left, box.top, max(right, left + 1), box.bottom, box.score)


def _within(name: str, box: TextBox) -> Match | None:
    """The best run of whole words inside ``box`` that matches ``name``."""
    words = list(_WORD.finditer(box.text))
    count = max(1, len(_WORD.findall(name)))
    best: Match | None = None
    if len(words) > count:
        for size in {count - 1, count, count + 1} - {0}:
            for i in range(len(words) - size + 1):
                start, end = words[i].start(), words[i + size - 1].end()
                score = closeness(name, box.text[start:end])
                if score is not None and (best is None or score > best.score):
                    best = Match(_part(box, start, end, box.text[start:end]), score, whole=False)
    if best is None and has_cjk(name):
        # Chinese has no spaces to split on: the name as a run of characters inside the text.
        target, plain = normalise(name), box.text
        index = normalise(plain).find(target)
        if index >= 0 and len(normalise(plain)) > len(target):
            kept = [i for i, ch in enumerate(plain) if normalise(ch)]  # text index of each kept char
            start, end = kept[index], kept[index + len(target) - 1] + 1
            best = Match(_part(box, start, end, plain[start:end]), 0.9, whole=False)
    return best


def find_matches(name: str, boxes: Sequence[TextBox]) -> list[Match]:
    """The boxes that ``name`` means, in the boxes' (reading) order; whole-box matches win."""
    if not normalise(name):
        return []
    whole = [Match(box, score, True) for box in boxes if (score := closeness(name, box.text)) is not None]
    if whole:
        return whole
    return [found for box in boxes if (found := _within(name, box)) is not None]

"""Does the screen's own text back up what a description quotes? (pure; OCR text in, doubts out)

A model describing a screen may "read" text that is not there (an add-on described a
locked black screen as a journal page). Every quoted phrase in its answer is looked
for in the OCR text; a phrase OCR cannot find is reported instead of being believed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agent.access.matching import allowed_edits, closeness, edit_distance, normalise

# "…", “…”, «…», 「…」, 『…』 and '…' between word boundaries (not the apostrophe in "don't").
_QUOTED = re.compile(
    "|".join(
        (
            r'"([^"\n]{2,120})"',
            r"“([^”\n]{2,120})”",
            r"«([^»\n]{2,120})»",
            r"「([^」\n]{1,120})」",
            r"『([^』\n]{1,120})』",
            r"(?<!\w)'([^'\n]{2,120})'(?!\w)",
        )
    )
)


@dataclass(frozen=True)
class Doubt:
    quote: str
    closest: str | None  # the OCR line most like it, if any is close enough to mention


def quotes(answer: str) -> list[str]:
    return [next(group for group in match.groups() if group) for match in _QUOTED.finditer(answer)]


def _found(quote: str, lines: Sequence[str], joined: str) -> bool:
    wanted = normalise(quote)
    if not wanted:
        return True  # punctuation only: nothing to check
    if wanted in joined:
        return True
    if any(closeness(quote, line) is not None for line in lines):
        return True
    # A few edits off somewhere inside the text (an OCR error, or the model's typo).
    limit = allowed_edits(len(wanted))
    if limit == 0:
        return False
    for size in (len(wanted) - 1, len(wanted), len(wanted) + 1):
        for start in range(max(0, len(joined) - size + 1)):
            if edit_distance(wanted, joined[start : start + size]) <= limit:
                return True
    return False


def doubts(answer: str, ocr_lines: Sequence[str]) -> list[Doubt]:
    """The quoted phrases of ``answer`` that the screen's text (``ocr_lines``) does not show."""
    joined = normalise(" ".join(ocr_lines))
    out: list[Doubt] = []
    for quote in quotes(answer):
        if _found(quote, ocr_lines, joined):
            continue
        out.append(Doubt(quote, _closest(quote, ocr_lines)))
    return out


def _closest(quote: str, lines: Sequence[str]) -> str | None:
    import difflib

    best = difflib.get_close_matches(normalise(quote), [normalise(line) for line in lines], n=1, cutoff=0.6)
    if not best:
        return None
    return next(line for line in lines if normalise(line) == best[0])


def doubt_line(doubt: Doubt) -> str:
    """One sentence for the user: the claim and what the screen's text says instead."""
    if doubt.closest:
        return f'Note: the screen\'s text does not show "{doubt.quote}"; it reads "{doubt.closest}".'
    return f'Note: the screen\'s text does not show "{doubt.quote}"; OCR found no such text.'

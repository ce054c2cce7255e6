"""Reading order for text boxes: rows top to bottom, boxes left to right within a row (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from agent.ports import TextBox

# Two boxes share a row when their vertical overlap is at least this share of the
# shorter one: a button label next to a taller field is still on that field's row.
_ROW_OVERLAP = 0.5


def _overlap(a: TextBox, b: TextBox) -> float:
    shared = min(a.bottom, b.bottom) - max(a.top, b.top)
    shorter = max(1, min(a.height, b.height))
    return max(0, shared) / shorter


def group_rows(boxes: Iterable[TextBox]) -> list[list[TextBox]]:
    """The boxes as rows in reading order; each row sorted left to right."""
    rows: list[list[TextBox]] = []
    for box in sorted(boxes, key=lambda b: (b.top + b.bottom, b.left)):
        for row in rows:
            if _overlap(row[0], box) >= _ROW_OVERLAP:
                row.append(box)
                break
        else:
            rows.append([box])
    rows.sort(key=lambda row: min(b.top + b.bottom for b in row))
    return [sorted(row, key=lambda b: b.left) for row in rows]


def reading_order(boxes: Iterable[TextBox]) -> list[TextBox]:
    return [box for row in group_rows(boxes) for box in row]


def row_text(row: Sequence[TextBox]) -> str:
    """One row as one line: its boxes' text joined by a space (a toolbar reads "File Edit View")."""
    return " ".join(box.text for box in row if box.text)

"""Cutting the answer out of a model reply: code fences, prose before and after, thinking blocks."""

from __future__ import annotations

import re

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:\n[ \t]*```|\Z)", re.DOTALL)
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)


def without_thinking(text: str) -> str:
    """The reply without a ``<think>…</think>`` block (thinking variants of Qwen3-VL emit one)."""
    return _THINK.sub("", text).strip()


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """Every fenced block as (language tag, body); an unclosed last fence runs to the end."""
    return [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(text)]


def unfence(text: str, languages: tuple[str, ...] = ()) -> str:
    """The body of the first fenced block tagged with one of ``languages`` (else the first
    block, else ``text``), so prose around a fenced answer is dropped."""
    text = without_thinking(text)
    blocks = fenced_blocks(text)
    for tag, body in blocks:
        if tag in languages:
            return body.strip()
    if blocks:
        return blocks[0][1].strip()
    return text.strip()


def span(text: str, start: re.Pattern[str], end: re.Pattern[str]) -> str | None:
    """From the first match of ``start`` to the end of the last match of ``end``, or None."""
    first = start.search(text)
    if first is None:
        return None
    ends = list(end.finditer(text, first.start()))
    if not ends:
        return None
    return text[first.start() : ends[-1].end()]


def json_object_text(text: str) -> str | None:
    """The outermost ``{…}`` of a reply (fences and prose around it dropped), or None."""
    body = unfence(text, ("json",))
    start, stop = body.find("{"), body.rfind("}")
    if start < 0 or stop < start:
        return None
    return body[start : stop + 1]

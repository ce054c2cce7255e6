"""Helpers shared by the benchmarks: medians, markdown tables, and the docs/benchmarks.md section."""

from __future__ import annotations

import json
import platform
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(value: object) -> str:
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    import os

    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"


def write_section(name: str, markdown: str) -> None:
    """Replace (or add) the section between this benchmark's markers in docs/benchmarks.md."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    block = f"{begin}\n{markdown.rstrip()}\n{end}"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text, encoding="utf-8")


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def press_chord(names: tuple[str, ...]) -> float:
    """Send a chord (X keysym names) through XTEST, as a keyboard would; returns when the server has it."""
    import time

    from Xlib import XK, X, display
    from Xlib.ext import xtest

    d = display.Display()
    codes = [d.keysym_to_keycode(XK.string_to_keysym(n)) for n in names]
    for code in codes:
        xtest.fake_input(d, X.KeyPress, code)
    d.sync()
    pressed = time.monotonic()
    for code in reversed(codes):
        xtest.fake_input(d, X.KeyRelease, code)
    d.sync()
    d.close()
    return pressed

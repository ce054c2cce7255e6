"""Benchmark what ``--marks`` costs in prompt tokens: a step's prompt with and without the numbered list.

A fixed list of 40 controls, as a web form shows them (navigation links, a search
box, fields, check boxes, radio buttons, buttons), on a 1920x1080 screenshot. Each
prompt is built by the agent's own ``build_request`` (the marks drawn on the image by
``MarkSet.drawn_on``, as the planner does) and counted by the Qwen3-VL processor and
chat template the tests build offline (``agent.testing.tiny``): the real processor
class, image resizing and chat template, so the image tokens are exact. Its tokenizer
is a byte-level BPE trained on six lines, so it splits most English words into more
pieces than the real 151k-word vocabulary would: the text-token figures are an upper
bound, and the characters column says what the real tokenizer sees.

Rows: marks off (the baseline); on, with 40 controls; on, with the cap of
``MAX_MARKS`` controls; on, on a window that offers no tree (the list is replaced by
one line). "Per step" is what the list adds after the screenshot, which a prefix
cache cannot reuse (prompts.py puts it there because it changes every step); "once"
is the tool parameter and the rule in the system prompt and task head, prefilled once
per run. Drawing 40 marks on the screenshot is timed too (median of ``--rounds``).

Usage: .venv/bin/python scripts/bench_marks.py [--rounds 20] [--out bench-out/marks.json]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchlib import ROOT, machine, median, table, write_json, write_section  # noqa: E402

from agent.computer_use.marks import MAX_MARKS, MarkSet, choose_marks  # noqa: E402
from agent.computer_use.prompts import PromptSettings, build_request  # noqa: E402
from agent.geometry import CaptureGeometry, Region  # noqa: E402
from agent.ports import Element  # noqa: E402
from agent.scaling import FrameKind, ModelFrame  # noqa: E402

SCREEN = Region(0, 0, 1920, 1080)
TASK = "Fill in the delivery form with my address and save it"


def form_controls() -> list[Element]:
    """40 controls of a typical web form page, laid out top to bottom."""
    rows: list[tuple[str, list[str]]] = [
        ("link", ["Home", "Products", "Orders", "Returns", "Help centre", "Contact us", "My account", "Sign out"]),
        ("entry", ["Search"]),
        ("push button", ["Search"]),
        ("link", ["Cart (2 items)", "Wish list"]),
        ("entry", ["First name", "Last name", "Company (optional)"]),
        ("entry", ["Street address", "Apartment, suite, etc.", "City"]),
        ("combo box", ["Country", "State / Province"]),
        ("entry", ["Postal code", "Phone number", "Email address"]),
        ("check box", ["Use as billing address", "Save this address for next time"]),
        ("radio button", ["Standard delivery (3-5 days)", "Express delivery (1-2 days)", "Pick up in store"]),
        ("entry", ["Delivery instructions"]),
        ("check box", ["Email me about offers", "Text me delivery updates"]),
        ("push button", ["Back to cart", "Reset form", "Save address", "Continue to payment"]),
        ("link", ["Privacy policy", "Terms of service", "Accessibility", "Cookie settings", "Site map"]),
    ]
    elements: list[Element] = []
    top = 20
    for role, names in rows:
        left = 40
        for name in names:
            width = max(60, 9 * len(name) + 24)
            elements.append(Element(role, name, Region(left, top, width, 28)))
            left += width + 16
        top += 60
    return elements


def filler_controls(count: int) -> list[Element]:
    """``count`` more buttons below the form, so the list reaches the cap."""
    return [
        Element("push button", f"Item {i + 1} details", Region(40 + (i % 6) * 300, 860 + (i // 6) * 36, 200, 28))
        for i in range(count)
    ]


def count(processor: Any, request: Any) -> dict[str, int]:
    """Prompt, image and text tokens of ``request`` as the local backend would encode it."""
    text = processor.apply_chat_template(
        request.messages, tools=request.tools, add_generation_prompt=True, tokenize=False
    )
    encoded = processor(
        text=[text], images=request.images, return_tensors="pt",
        size={"shortest_edge": request.min_pixels, "longest_edge": request.max_pixels},
    )
    ids = encoded["input_ids"][0].tolist()
    pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    image_tokens = sum(1 for i in ids if i == pad)
    tail = request.messages[1]["content"][-1]["text"]
    return {
        "prompt": len(ids),
        "image": image_tokens,
        "text": len(ids) - image_tokens,
        "tail": len(processor.tokenizer(tail)["input_ids"]),
        "tail_chars": len(tail),
        "text_chars": len(text.replace("<|image_pad|>", "")),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="drawing timings to take the median of (default 20)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out" / "marks.json", help="JSON results file")
    args = parser.parse_args()
    if args.rounds < 1:
        sys.stderr.write("bench_marks: error: --rounds must be 1 or more\n")
        return 2

    from PIL import Image

    from agent.backends.processor import load_processor
    from agent.testing.tiny import build_tiny_qwen3vl

    with tempfile.TemporaryDirectory() as folder:
        processor = load_processor(build_tiny_qwen3vl(Path(folder)))

    geometry = CaptureGeometry.unscaled(SCREEN)
    screenshot = Image.new("RGB", (1920, 1080), (246, 246, 246))
    frame = ModelFrame.for_image(FrameKind.REL1000, 1920, 1080)
    form = form_controls()
    capped = form + filler_controls(MAX_MARKS)

    def request(marks_on: bool, elements: list[Element] | None) -> tuple[Any, int]:
        settings = PromptSettings(marks=marks_on)
        image, text, shown = screenshot, None, 0
        if elements is not None:
            marks = MarkSet(choose_marks(elements, SCREEN), geometry)
            image, text, shown = marks.drawn_on(screenshot), marks.text(), len(marks.marks)
        return build_request(TASK, [], [image], frame, settings=settings, marks=text), shown

    cases = [
        ("marks off (baseline)", False, None),
        ("marks on, 40 controls", True, form),
        (f"marks on, capped at {MAX_MARKS}", True, capped),
        ("marks on, active window without a tree", True, None),
    ]
    results: list[dict[str, Any]] = []
    for label, on, elements in cases:
        built, shown = request(on, elements)
        counted = count(processor, built)
        results.append({"case": label, "marks": shown, **counted})
    base = results[0]
    for row in results:
        row["added"] = row["prompt"] - base["prompt"]
        row["added_per_step"] = row["tail"] - base["tail"]
        row["added_once"] = row["added"] - row["added_per_step"]
        row["per_mark"] = round(row["added_per_step"] / row["marks"], 1) if row["marks"] else None

    marks40 = MarkSet(choose_marks(form, SCREEN), geometry)
    timings = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        marks40.drawn_on(screenshot)
        timings.append(time.perf_counter() - started)
    draw_ms = median(timings) * 1000

    headers = ["case", "marks", "prompt tokens", "image tokens", "text tokens", "added", "added per step",
               "added once", "per mark", "text chars", "added chars"]
    rows = [
        [r["case"], r["marks"], r["prompt"], r["image"], r["text"], r["added"], r["added_per_step"],
         r["added_once"], r["per_mark"] if r["per_mark"] is not None else "-", r["text_chars"],
         r["text_chars"] - base["text_chars"]]
        for r in results
    ]
    rendered = table(headers, rows)
    sys.stdout.write(rendered + "\n")
    sys.stdout.write(f"\ndrawing 40 marks on a 1920x1080 screenshot: {draw_ms:.1f} ms (median of {args.rounds})\n")
    write_json(args.out, {"machine": machine(), "cases": results, "draw_40_ms": draw_ms, "rounds": args.rounds})
    write_section(
        "marks",
        "## Set-of-marks (`--marks`): prompt tokens\n\n"
        "`.venv/bin/python scripts/bench_marks.py`: one step's prompt for a 1920x1080 screenshot of a form "
        "page with 40 controls, built by the agent's own prompt code and counted by the offline Qwen3-VL "
        "processor and chat template (`agent.testing.tiny`). Image tokens are exact and do not change; "
        "the tiny tokenizer splits English into more pieces than the real vocabulary, so the text figures "
        "are an upper bound: compare characters (what the real tokenizer sees) for the relative cost. "
        "\"Added per step\" comes after the "
        "screenshot and is prefilled every step; \"added once\" (the tool's `element` parameter and the "
        "rule) sits in the cached prefix.\n\n"
        f"{rendered}\n\nDrawing 40 marks: {draw_ms:.1f} ms (median of {args.rounds}). Machine: {machine()}.\n",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

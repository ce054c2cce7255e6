"""Grounding benchmark: what zoom-then-ground buys in accuracy, and what it costs per step.

    .venv/bin/python scripts/bench_grounding.py

Part 1 evaluates the fake grounding model (a fixed pointing error in grid units, the
error refinement is meant to shrink) on a generated ScreenSpot-v2-format set with
targets from 8 to 128 px, with refinement off, auto and always, through the same eval
as ``deskpilot eval grounding``. Part 2 measures the extra cost of a refinement on
the tiny Qwen3-VL (real processor and chat template, forced output): image tokens and
wall time of a locate call without and with the crop request, in the same run.
Prints tables, writes docs/bench_grounding.json and its section of docs/benchmarks.md.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import ROOT, machine, median, table, write_json, write_section  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from agent.geometry import CaptureGeometry, Region  # noqa: E402
from agent.grounding.dataset import load_dataset  # noqa: E402
from agent.grounding.evaluate import evaluate  # noqa: E402
from agent.grounding.grounder import locate  # noqa: E402
from agent.grounding.locate import GroundingAsker  # noqa: E402
from agent.grounding.refine import RefineMode, Refiner  # noqa: E402
from agent.testing.grounding import FakeGroundingBackend  # noqa: E402

SIDES = (8, 12, 16, 24, 32, 48, 64, 128)
PER_SIDE = 8
ERRORS = ((5.0, 3.0), (10.0, 6.0), (20.0, 12.0))  # grid units (rel1000) right and down
COLOUR = (200, 40, 160)


def make_set(root: Path) -> dict[str, tuple[int, int, int]]:
    """One target per screen, at seeded random places (edges included), with a few distractors."""
    rng = random.Random(13)
    (root / "screenspotv2_image").mkdir(parents=True)
    entries = []
    for side in SIDES:
        for n in range(PER_SIDE):
            image = Image.new("RGB", (1920, 1080), (235, 235, 235))
            draw = ImageDraw.Draw(image)
            for _ in range(12):  # grey distractor widgets of assorted sizes
                w, h = rng.randint(10, 200), rng.randint(10, 60)
                x, y = rng.randint(0, 1920 - w), rng.randint(0, 1080 - h)
                draw.rectangle((x, y, x + w, y + h), fill=(90, 90, 90))
            x, y = rng.randint(0, 1920 - side), rng.randint(0, 1080 - side)
            draw.rectangle((x, y, x + side - 1, y + side - 1), fill=COLOUR)
            name = f"s{side}-{n}.png"
            image.save(root / "screenspotv2_image" / name)
            entries.append(
                {
                    "img_filename": name,
                    "bbox": [x, y, side, side],
                    "instruction": f"the pink target {side}-{n}",
                    "data_type": "icon" if side < 48 else "text",
                    "data_source": "generated",
                }
            )
    (root / "screenspot_desktop_v2.json").write_text(json.dumps(entries), encoding="utf-8")
    return {e["instruction"]: COLOUR for e in entries}


def accuracy_part(root: Path) -> dict[str, Any]:
    targets = make_set(root)
    samples = load_dataset(root)
    side_of = {s.id: round(s.box[2] - s.box[0]) for s in samples}
    results: dict[str, Any] = {}
    for error in ERRORS:

        def variant(mode: RefineMode, error: tuple[float, float] = error):
            def make():
                asker = GroundingAsker(FakeGroundingBackend(targets, error=error))
                return asker, (None if mode is RefineMode.OFF else Refiner(asker, mode))

            return (mode.value, make)

        report = evaluate(samples, [variant(m) for m in RefineMode], threading.Event())
        by_side: dict[str, dict[str, float]] = {}
        for mode in RefineMode:
            for side in SIDES:
                lines = [r for r in report.results[mode.value] if side_of[r.id] == side]
                by_side.setdefault(str(side), {})[mode.value] = sum(r.hit for r in lines) / len(lines)
        refined = {m.value: sum(r.refined for r in report.results[m.value]) for m in RefineMode}
        overall = {m.value: sum(r.hit for r in report.results[m.value]) / len(samples) for m in RefineMode}
        results[f"{error[0]:g},{error[1]:g}"] = {"by_side": by_side, "overall": overall, "refined": refined}
    return results


def cost_part(runs: int = 5) -> dict[str, Any]:
    from agent.backends.local import LocalBackend, LocalSettings
    from agent.backends.precision import Precision
    from agent.backends.processor import load_processor
    from agent.testing.tiny import build_tiny_qwen3vl, forced_replies_fn

    tiny = build_tiny_qwen3vl(Path(tempfile.mkdtemp()) / "tiny")
    tokenizer = load_processor(str(tiny), local_files_only=True).tokenizer
    reply = '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [500, 500]}}\n</tool_call>'
    image = Image.new("RGB", (1920, 1080), (235, 235, 235))
    ImageDraw.Draw(image).rectangle((950, 530, 961, 541), fill=COLOUR)
    geometry = CaptureGeometry.unscaled(Region(0, 0, 1920, 1080))
    timings: dict[str, list[float]] = {"off": [], "always": []}
    tokens: dict[str, list[int]] = {"off": [], "always": []}
    for _ in range(runs):
        for mode in ("off", "always"):  # alternate, so drift hits both alike
            backend = LocalBackend(
                LocalSettings(
                    model=str(tiny),
                    precision=Precision.FP32,
                    generate_kwargs={"prefix_allowed_tokens_fn": forced_replies_fn(tokenizer, [reply, reply])},
                )
            )
            seen: list[int] = []
            original = backend.complete

            def counting(request, cancel, on_text=None, backend=backend, original=original, seen=seen):
                inputs = backend.encode(request)
                seen.append(int((inputs["input_ids"] == backend.processor.image_token_id).sum()))
                return original(request, cancel, on_text)

            backend.complete = counting  # type: ignore[method-assign]
            asker = GroundingAsker(backend)
            refiner = Refiner(asker, RefineMode.ALWAYS) if mode == "always" else None
            started = time.perf_counter()
            locate(asker, refiner, "the pink target", image, geometry, threading.Event())
            timings[mode].append(time.perf_counter() - started)
            tokens[mode].append(sum(seen))
    off, always = median(timings["off"]), median(timings["always"])
    return {
        "runs": runs,
        "off_s": off,
        "always_s": always,
        "time_ratio": always / off,
        "image_tokens_off": tokens["off"][0],
        "image_tokens_always": tokens["always"][0],
        "token_ratio": tokens["always"][0] / tokens["off"][0],
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        accuracy = accuracy_part(Path(tmp))
    cost = cost_part()
    parts = [
        "## Grounding: zoom-then-ground accuracy and cost (`scripts/bench_grounding.py`)",
        "",
        f"Machine: {machine()}. The fake grounding model points at each target's centre plus a fixed "
        f"error in its 0..1000 grid; {len(SIDES) * PER_SIDE} generated 1920x1080 screens, one target "
        "each at a random place, with grey distractor widgets; a hit is a point inside the box.",
        "",
    ]
    for key, result in accuracy.items():
        rows = [[f"{side} px", *(f"{100 * result['by_side'][side][m.value]:.0f}%" for m in RefineMode)] for side in map(str, SIDES)]
        rows.append(["overall", *(f"{100 * result['overall'][m.value]:.1f}%" for m in RefineMode)])
        rows.append(["refined", *(str(result["refined"][m.value]) for m in RefineMode)])
        parts += [f"Error ({key}) grid units:", "", table(["target side", "off", "auto", "always"], rows), ""]
    parts += [
        "Reading: one pass hits a target when the error in pixels (grid units x 1.92 across, x 1.08 "
        "down) is within half its side; on the 4x smaller crop the same grid error is 4x fewer pixels. "
        "auto refines only where small structure is nearest the point, so it matches always for small "
        "targets and skips large ones (fewer second calls), but a miss beside a target of 40 px or "
        "more is left as it is: with large errors, always is the better choice.",
        "",
        "Extra cost of one refinement, tiny Qwen3-VL on the CPU (real processor and chat template, "
        f"forced reply; median of {cost['runs']} alternating runs):",
        "",
        table(
            ["", "refine off", "refine always", "ratio"],
            [
                ["image tokens per locate", cost["image_tokens_off"], cost["image_tokens_always"], f"{cost['token_ratio']:.2f}x"],
                ["seconds per locate", f"{cost['off_s']:.3f}", f"{cost['always_s']:.3f}", f"{cost['time_ratio']:.2f}x"],
            ],
        ),
        "",
        "The crop is 480x270 of a 1920x1080 capture (zoom 4), shown at its own resolution, so the "
        "second request costs 120 image tokens against the full frame's 1008 (about 12% more). On "
        "the tiny model the time goes mostly to the full frame's image processing, so the small "
        "second call adds little; on a full-size model the second call's prefill of the prompt text "
        "and tool schema and its generation add more. Timings on this shared 2-core machine vary "
        "several-fold between runs (an earlier run measured 4.2 s vs 7.2 s, 1.72x); the ratio "
        "within a run is what counts. Not measured (no GPU was lent to this task): the same on "
        "the full-size 8B architecture.",
    ]
    markdown = "\n".join(parts)
    sys.stdout.write(markdown + "\n")
    write_json(ROOT / "docs" / "bench_grounding.json", {"accuracy": accuracy, "cost": cost})
    write_section("bench_grounding", markdown)


if __name__ == "__main__":
    main()

"""Skill batch benchmark: throughput against a loopback server with a fixed latency, and in-process batching.

    .venv/bin/python scripts/bench_skills.py [--images 32] [--latency-ms 200] [--tiny-images 8]

Part 1 runs ``deskpilot batch``'s engine (agent.skills.batch.run_batch, alt-text) over
a folder of images against agent/testing/chat_server.py on 127.0.0.1, which answers
every request after a fixed latency, as a model server's generation would: 1, 4 and 8
workers (concurrent requests). The baseline is 1 worker in the same run; the target
is 8 workers >= 6x. Part 2 runs the tiny random-weight Qwen3-VL in process with
forced output: one generate call per image against one batched call per
``--tiny-images`` images. Prints a table, writes docs/bench_skills.json and its
section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import ROOT, machine, table, write_json, write_section  # noqa: E402

ALT = "A bar chart on a white background: four blue bars rise from left to right, labelled Q1 to Q4, the tallest marked 42."


def make_folder(folder: Path, count: int) -> None:
    from PIL import Image

    for i in range(count):
        Image.new("RGB", (320, 200), (i * 7 % 256, 90, 160)).save(folder / f"img{i:03d}.png")


def server_part(images: int, latency_s: float) -> list[dict[str, Any]]:
    from agent.backends.openai import OpenAIBackend
    from agent.skills.batch import BatchSpec, run_batch
    from agent.skills.registry import get_skill
    from agent.testing.chat_server import CannedChatServer, serving

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, serving(CannedChatServer(reply=lambda _b: ALT, latency_s=latency_s)) as srv:
        folder = Path(tmp) / "images"
        folder.mkdir()
        make_folder(folder, images)
        backend = OpenAIBackend(srv.url, "canned")
        for workers in (1, 4, 8):
            spec = BatchSpec(get_skill("alt-text"), folder, Path(tmp) / f"out{workers}.jsonl", {}, "en", 256 * 32 * 32, workers)
            started = time.perf_counter()
            summary = run_batch(spec, backend, threading.Event())
            seconds = time.perf_counter() - started
            if summary.done != images:
                raise SystemExit(f"{workers} workers: only {summary.done} of {images} images done")
            rows.append({"workers": workers, "seconds": seconds, "images_per_s": images / seconds})
        backend.close()
    base = rows[0]["images_per_s"]
    for row in rows:
        row["speedup"] = row["images_per_s"] / base
    return rows


def rows_fn(tokenizer: Any, reply: str) -> Any:
    """Every row of each generate call emits ``reply`` (a new call is a shorter sequence)."""
    ids = list(tokenizer.encode(reply, add_special_tokens=False))
    eos = [int(tokenizer.eos_token_id)]
    state = {"base": 0, "last": -10}

    def allowed(batch_id: int, input_ids: Any) -> list[int]:
        length = int(input_ids.shape[-1])
        if length not in (state["last"], state["last"] + 1):
            state["base"] = length
        state["last"] = length
        step = length - state["base"]
        return [ids[step]] if step < len(ids) else eos

    return allowed


def tiny_part(images: int) -> list[dict[str, Any]]:
    from agent.backends.local import LocalBackend, LocalSettings
    from agent.backends.precision import Precision
    from agent.skills.batch import BatchSpec, run_batch
    from agent.skills.registry import get_skill
    from agent.testing.tiny import build_tiny_qwen3vl

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_tiny_qwen3vl(Path(tmp) / "tiny")
        local = LocalBackend(LocalSettings(model=str(model_dir), precision=Precision.FP32))
        tokenizer = local.processor.tokenizer
        local.settings = replace(
            local.settings,
            generate_kwargs={"prefix_allowed_tokens_fn": rows_fn(tokenizer, ALT), "eos_token_id": tokenizer.eos_token_id},
        )
        folder = Path(tmp) / "images"
        folder.mkdir()
        make_folder(folder, images)

        class OneByOne:
            """The same backend without complete_batch: the batch engine then asks image by image."""

            name = "local"

            def complete(self, request: Any, cancel: threading.Event, on_text: Any = None) -> Any:
                return local.complete(request, cancel, on_text)

        skill = get_skill("alt-text")
        for label, backend, workers in (("one by one", OneByOne(), 1), (f"batched x{images}", local, images)):
            spec = BatchSpec(skill, folder, Path(tmp) / "out.jsonl", {}, "en", 64 * 32 * 32, workers)
            started = time.perf_counter()
            summary = run_batch(spec, backend, threading.Event())  # type: ignore[arg-type]
            seconds = time.perf_counter() - started
            if summary.done != images:
                raise SystemExit(f"{label}: only {summary.done} of {images} images done")
            rows.append({"mode": label, "seconds": seconds, "images_per_s": images / seconds})
    rows[1]["speedup"] = rows[1]["images_per_s"] / rows[0]["images_per_s"]
    rows[0]["speedup"] = 1.0
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=32, help="images per server run (default: 32)")
    parser.add_argument("--latency-ms", type=float, default=200, help="the server's latency per request (default: 200)")
    parser.add_argument("--tiny-images", type=int, default=8, help="images for the in-process part (default: 8)")
    args = parser.parse_args()
    sys.stderr.write(f"server part: {args.images} images, {args.latency_ms:.0f} ms per request ...\n")
    server = server_part(args.images, args.latency_ms / 1000)
    sys.stderr.write(f"in-process part: {args.tiny_images} images on the tiny model ...\n")
    tiny = tiny_part(args.tiny_images)
    server_table = table(
        ["workers", "seconds", "images/s", "x one worker"],
        [[r["workers"], r["seconds"], r["images_per_s"], r["speedup"]] for r in server],
    )
    tiny_table = table(
        ["mode", "seconds", "images/s", "x one by one"],
        [[r["mode"], r["seconds"], r["images_per_s"], r["speedup"]] for r in tiny],
    )
    sys.stdout.write(server_table + "\n\n" + tiny_table + "\n")
    eight = server[-1]["speedup"]
    verdict = "meets" if eight >= 6 else "MISSES"
    write_json(ROOT / "docs" / "bench_skills.json", {"machine": machine(), "server": server, "tiny": tiny})
    write_section(
        "bench_skills",
        "## Skill batches (`scripts/bench_skills.py`)\n\n"
        f"{machine()}. `deskpilot batch alt-text` over {args.images} images against a loopback "
        f"OpenAI-compatible server that answers each request after {args.latency_ms:.0f} ms; baseline: "
        f"1 worker in the same run. 8 workers: {eight:.1f}x ({verdict} the 6x target).\n\n"
        f"{server_table}\n\n"
        f"In process, the tiny random-weight Qwen3-VL with forced output ({len(ALT)}-character answer), "
        f"{args.tiny_images} images: one generate call per image against one batched call.\n\n"
        f"{tiny_table}\n",
    )
    return 0 if eight >= 6 else 1


if __name__ == "__main__":
    sys.exit(main())

"""How long ``deskpilot run --model <missing>`` takes to fail, and a loopback download's time.

Runs the real CLI as a subprocess (what a user waits for, imports included) with an
empty HF_HOME: offline (HF_HUB_OFFLINE=1), a Hub that refuses connections, and a Hub
that accepts but never answers (the probe's deadline). Then downloads the tiny model
through ``agent.backends.hub.fetch`` from the loopback Hub imitation. Prints a table,
writes docs/bench_model_missing.json and its section of docs/benchmarks.md.

Before this change (measured on the same machine with the previous code):
offline 2.6 s; unreachable Hub (DNS failure) 25.6 s, each retry warning printed twice.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import DOCS, ROOT, machine, median, table, write_json, write_section  # noqa: E402

REPEATS = 3
# "A few seconds": the Hub probe waits at most 4 s (a slow link needs that), plus start-up.
TARGET_S = 6.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _time_cli(env: dict[str, str]) -> tuple[float, int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        full = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
        full.update(HF_HOME=f"{tmp}/hf", DESKPILOT_CONFIG=f"{tmp}/none.toml", **env)
        full.pop("DISPLAY", None)
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "agent", "run", "x", "--model", "someone/not-here", "--history-dir", f"{tmp}/r"],
            capture_output=True, text=True, env=full, cwd=ROOT, timeout=120,
        )
        return time.perf_counter() - started, result.returncode, len(result.stderr.splitlines())


def main() -> int:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts connections in the kernel, never answers
    cases = {
        "offline (HF_HUB_OFFLINE=1)": {"HF_HUB_OFFLINE": "1"},
        "Hub refuses connections": {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": f"http://127.0.0.1:{_free_port()}"},
        "Hub never answers": {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": f"http://127.0.0.1:{silent.getsockname()[1]}"},
    }
    rows, data = [], {}
    for name, env in cases.items():
        runs = [_time_cli(env) for _ in range(REPEATS)]
        seconds = median([r[0] for r in runs])
        rows.append([name, seconds, runs[0][1], runs[0][2]])
        data[name] = {"seconds_median": seconds, "exit_code": runs[0][1], "stderr_lines": runs[0][2]}
    silent.close()

    from huggingface_hub import constants

    from agent.backends.hub import fetch
    from agent.testing.hub import FakeHub
    from agent.testing.tiny import build_tiny_qwen3vl

    constants.HF_HUB_OFFLINE = False  # the loopback server is the only one reached
    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_qwen3vl(Path(tmp) / "tiny")
        size = sum(f.stat().st_size for f in model.iterdir())
        times = []
        with FakeHub({"bench/tiny": model}) as hub:
            for n in range(REPEATS):
                started = time.perf_counter()
                fetch("bench/tiny", progress=lambda _m: None, cache_dir=f"{tmp}/c{n}", endpoint=hub.endpoint)
                times.append(time.perf_counter() - started)
    data["loopback download"] = {"seconds_median": median(times), "bytes": size}

    sys.stdout.write(table(["case", "seconds to fail (median)", "exit", "stderr lines"], rows) + "\n")
    sys.stdout.write(f"loopback download of the tiny model ({size / 1e6:.1f} MB): {median(times):.2f} s median\n")
    write_json(DOCS.parent / "bench_model_missing.json", {"machine": machine(), "repeats": REPEATS, **data})
    worst = max(r[1] for r in rows)
    write_section(
        "bench_model_missing",
        "## A model that is not here (`scripts/bench_model_missing.py`)\n\n"
        f"Command: `.venv/bin/python scripts/bench_model_missing.py` on {machine()}; "
        f"`deskpilot run x --model someone/not-here` as a subprocess, empty HF_HOME, {REPEATS} repeats, medians.\n\n"
        + table(["case", "seconds to fail (median)", "exit", "stderr lines"], rows)
        + f"\n\nBefore: offline 2.6 s; unreachable Hub 25.6 s with 24 stderr lines (retries, each warning twice).\n"
        f"Loopback download of the tiny model ({size / 1e6:.1f} MB) through `snapshot_download`: "
        f"{median(times):.2f} s median.\n\n"
        f"Target: fail within {TARGET_S:.0f} s with one stderr line: worst {worst:.1f} s "
        f"({'met' if worst <= TARGET_S and all(r[3] == 1 for r in rows) else 'NOT met'}).\n",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

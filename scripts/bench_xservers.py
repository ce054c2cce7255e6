"""Test X servers benchmark: how long scripts/test.sh spends starting and stopping its
Xvfb and its two-monitor Xorg dummy server, and how long the multi-monitor tests take.

    .venv/bin/python scripts/bench_xservers.py [--starts 10] [--suite-runs 3]

Prints tables, writes docs/bench_xservers.json and its section of docs/benchmarks.md.
Start = from spawning the start script to its ":N PID" line (the server accepts
connections; for Xorg, both RandR monitors are set); stop = from SIGTERM to the
display's socket going away. The Xorg rows need root; without it they say why.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import ROOT, machine, median, table, write_json, write_section  # noqa: E402

SCRIPTS = ROOT / "scripts"


def start(script: str) -> tuple[str, int, float]:
    begin = time.perf_counter()
    result = subprocess.run(["bash", str(SCRIPTS / script)], capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - begin
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip())
    display, pid = result.stdout.split()
    return display, int(pid), elapsed


def stop(display: str, pid: int) -> float:
    socket = Path(f"/tmp/.X11-unix/X{display.lstrip(':')}")
    begin = time.perf_counter()
    os.kill(pid, 15)
    tick = threading.Event()
    while socket.exists() and time.perf_counter() - begin < 10:
        tick.wait(0.001)  # the socket going away has nothing to wait on but polling
    return time.perf_counter() - begin


def bench_server(script: str, starts: int) -> dict[str, Any]:
    up: list[float] = []
    down: list[float] = []
    for _ in range(starts):
        try:
            display, pid, elapsed = start(script)
        except RuntimeError as err:
            return {"unavailable": str(err)}
        up.append(elapsed)
        down.append(stop(display, pid))
    return {"start_s": up, "stop_s": down}


def bench_suite(runs: int) -> dict[str, Any]:
    """tests/test_multimonitor.py through scripts/test.sh --run, servers included."""
    walls: list[float] = []
    env = {k: v for k, v in os.environ.items() if k not in ("DESKPILOT_TEST_DISPLAY", "DESKPILOT_DUAL_DISPLAY")}
    command = [str(ROOT / ".venv" / "bin" / "python"), "-m", "pytest", "-p", "no:xvfb", "-p", "no:cacheprovider",
               "-q", "tests/test_multimonitor.py"]
    for _ in range(runs):
        begin = time.perf_counter()
        result = subprocess.run(["bash", str(SCRIPTS / "test.sh"), "--run", *command],
                                capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
        walls.append(time.perf_counter() - begin)
        summary = (result.stdout.strip().splitlines() or [""])[-1]
        if result.returncode != 0 or "skipped" in summary:
            return {"unavailable": summary or result.stderr.strip()}
    return {"wall_s": walls, "summary": summary}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--suite-runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "bench_xservers.json")
    args = parser.parse_args()

    servers = {
        "Xvfb 1920x1080 (scripts/xvfb.sh)": bench_server("xvfb.sh", args.starts),
        "Xorg dummy, 2 monitors (scripts/xorg_dummy.sh)": bench_server("xorg_dummy.sh", args.starts),
    }
    rows: list[list[object]] = []
    for name, result in servers.items():
        if "unavailable" in result:
            rows.append([name, "-", "-", f"not measured: {result['unavailable']}"])
        else:
            rows.append([name, median(result["start_s"]) * 1000, median(result["stop_s"]) * 1000, ""])
    suite = bench_suite(args.suite_runs)
    suite_line = (
        f"`tests/test_multimonitor.py` through `scripts/test.sh --run` (both servers started and stopped, "
        f"pytest start-up included): median {median(suite['wall_s']):.1f} s of {args.suite_runs} runs ({suite['summary']})."
        if "wall_s" in suite
        else f"`tests/test_multimonitor.py`: not measured: {suite['unavailable']}"
    )
    markdown = "\n\n".join([
        "## Test X servers (`scripts/bench_xservers.py`)",
        f"Command: `.venv/bin/python scripts/bench_xservers.py` on {machine()}; {args.starts} starts each, medians.",
        table(["server", "start ms", "stop ms", "note"], rows),
        suite_line,
    ])
    sys.stdout.write(markdown + "\n")
    write_json(args.out, {"machine": machine(), "servers": servers, "multimonitor_tests": suite})
    write_section("bench_xservers", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What recording costs in CPU: the recorder (its input listeners and its ring of screens from before each press)
while the screen is idle and while the pointer moves.

    bash scripts/test.sh --run .venv/bin/python scripts/bench_recorder.py [--seconds 10] [--hz 100]

Runs ``agent.macros.recorder.Recorder`` in this process on the display (1920x1080 from
scripts/test.sh), no accessibility tree; a child process moves the pointer through
XTEST at ``--hz`` (a mouse reports 100 Hz or more). CPU% is this process's
``time.process_time()`` over wall time (all its threads: listeners, ring, recorder),
so 100% is one core. The X server's own share of the grabs (copying the frame out)
is read from /proc for the server of $DISPLAY when it can be found. The baseline is
the same recorder with its ring of screens held idle (the listeners alone, as before
the ring). Writes docs/bench_recorder.json and its section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ROOT, machine, table, write_json, write_section  # noqa: E402

_MOVER = """
import math, sys, time
from Xlib import X, display
from Xlib.ext import xtest
d = display.Display()
hz, seconds = float(sys.argv[1]), float(sys.argv[2])
end = time.monotonic() + seconds
i = 0
while time.monotonic() < end:
    i += 1
    x = int(960 + 600 * math.cos(i / 40)); y = int(540 + 300 * math.sin(i / 40))
    xtest.fake_input(d, X.MotionNotify, x=x, y=y)
    d.sync()
    time.sleep(1 / hz)  # a pointer's report rate, not a wait for anything
"""


def x_server_ticks() -> int | None:
    """CPU ticks (user + system) of the X server serving $DISPLAY, or None where it is not found.

    Found by who listens on the display's socket (scripts/test.sh starts Xvfb with
    -displayfd, so its command line does not name the display).
    """
    number = os.environ.get("DISPLAY", "").lstrip(":").split(".")[0]
    socket = f"/tmp/.X11-unix/X{number}"
    try:
        rows = Path("/proc/net/unix").read_text().splitlines()[1:]
    except OSError:
        return None
    inodes = {f"socket:[{row.split()[6]}]" for row in rows if row.split()[-1] == socket}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes for fd in os.listdir(f"/proc/{pid}/fd")):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                return int(fields[11]) + int(fields[12])
        except OSError:
            continue
    return None


def measure(seconds: float, hz: float | None, ring: bool) -> dict[str, float]:
    from agent.computers.selection import select_platform
    from agent.macros.frame_ring import FrameRing
    from agent.macros.recorder import Recorder

    stop = threading.Event()
    recorder = Recorder(select_platform(), 1, ("ctrl", "alt", "k"), stop)
    if not ring:
        recorder._ring = FrameRing(recorder.screen, idle_interval_s=3600, rest_s=3600, keep=1)
        recorder._ring.moved = lambda: None  # type: ignore[method-assign]
    recorder.start()
    thread = threading.Thread(target=recorder.run, daemon=True)
    thread.start()
    time.sleep(0.5)  # let the start-up work (first grab, listeners) fall outside the window
    grabs0, server0 = recorder._ring.grabs, x_server_ticks()
    cpu0, wall0 = time.process_time(), time.monotonic()
    if hz is None:
        time.sleep(seconds)  # idle: nothing to wait for but the clock
    else:
        subprocess.run([sys.executable, "-c", _MOVER, str(hz), str(seconds)], check=True)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    grabs, server1 = recorder._ring.grabs - grabs0, x_server_ticks()
    stop.set()
    thread.join(10)
    ticks = os.sysconf("SC_CLK_TCK")
    server = None if server0 is None or server1 is None else (server1 - server0) / ticks / wall * 100
    return {"cpu_percent": cpu / wall * 100, "grabs_per_s": grabs / wall,
            "x_server_percent": -1.0 if server is None else server, "seconds": wall}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="seconds per measurement (default: 10)")
    parser.add_argument("--hz", type=float, default=100, help="pointer motion events per second (default: 100)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "bench_recorder.json", help="JSON results")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        sys.stderr.write("needs a display: bash scripts/test.sh --run .venv/bin/python scripts/bench_recorder.py\n")
        return 2
    load = os.getloadavg()[0]
    results = {
        (what, ring): measure(args.seconds, hz, ring)
        for what, hz in (("idle", None), ("pointer moving", args.hz))
        for ring in (True, False)
    }

    def server(r: dict[str, float]) -> str:
        return "n/a" if r["x_server_percent"] < 0 else f"{r['x_server_percent']:.1f} %"

    rows = []
    for what in ("idle", "pointer moving"):
        full, base = results[(what, True)], results[(what, False)]
        rows.append([
            f"recording, {what}" + (f" ({args.hz:.0f} Hz)" if what != "idle" else ""),
            f"{full['cpu_percent']:.1f} % of a core ({full['grabs_per_s']:.1f} grabs/s; X server {server(full)})",
            f"listeners alone: {base['cpu_percent']:.1f} % (X server {server(base)})",
            "< 5 % of a core", "met" if full["cpu_percent"] < 5 else "NOT met",
        ])
    text = table(["measure", "this tree", "baseline (same run)", "target", "verdict"], rows)
    sys.stdout.write(text + "\n")
    write_json(args.out, {"hz": args.hz, "load_average": load, "machine": machine(),
                          "results": {f"{what}, {'ring' if ring else 'no ring'}": r
                                      for (what, ring), r in results.items()}})
    write_section("bench_recorder", "\n".join([
        "## Recording: CPU of the ring of screens from before each press (`scripts/bench_recorder.py`)",
        "",
        f"Command: `bash scripts/test.sh --run .venv/bin/python scripts/bench_recorder.py --seconds {args.seconds:g}` "
        f"on {machine()}, Xvfb 1920x1080x24, no accessibility tree; CPU is the recording process's "
        "process time over wall time (100 % = one core); the X server's share is its own /proc time. "
        f"Load average at the start: {load:.1f}.",
        "",
        text,
    ]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

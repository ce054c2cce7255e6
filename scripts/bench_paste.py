"""Paste benchmark on a real X display: typing mixed CJK/ASCII/emoji text into Chromium,
GTK, Qt and xterm through the clipboard route, per window kind.

    DISPLAY=:99 .venv/bin/python scripts/bench_paste.py [--runs 10] [--kinds chromium,gtk,qt,xterm]

Each run is one ``type`` step (``MIXED`` then Enter) through ``DesktopComputer.perform``;
it counts only when the window received the text intact. Prints a table, writes
docs/bench_paste.json and its section of docs/benchmarks.md. Times are medians.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import ROOT, machine, median, table, write_json, write_section  # noqa: E402

from agent.actions import LeftClick, ScreenAction, Type  # noqa: E402
from agent.computers.x11.clipboard import DEFAULT_QUIET_S, XSelectionClipboard  # noqa: E402
from agent.computers.x11.desktop import DesktopComputer  # noqa: E402
from tests.apps.text_windows import KINDS, OPENERS, focus_follows_pointer  # noqa: E402

MIXED = "打开浏览器 deskpilot é€ 😀"


def bench_kind(kind: str, runs: int) -> dict[str, Any]:
    clipboard = XSelectionClipboard()
    desktop = DesktopComputer(1, clipboard=clipboard)
    steps: list[float] = []
    reports = []
    intact = 0
    with OPENERS[kind]() as window:
        focus_follows_pointer()
        desktop.perform(ScreenAction(action=LeftClick(coordinate=(0, 0)), x=window.click_xy[0], y=window.click_xy[1]))
        for _ in range(runs):
            started = time.perf_counter()
            desktop.perform(ScreenAction(action=Type(text=MIXED + "\n")))
            steps.append(time.perf_counter() - started)
            assert clipboard.last_paste is not None
            reports.append(clipboard.last_paste)
            intact += window.received() == MIXED
    def ms(values: list[float]) -> float:
        return median(values) * 1000

    return {
        "kind": kind,
        "runs": runs,
        "intact": intact,
        "step_ms": ms(steps),
        "save_ms": ms([r.save_s for r in reports]),
        "to_text_ms": ms([r.to_text_s for r in reports if r.to_text_s is not None]),
        "serve_ms": ms([r.serve_s for r in reports]),
        "restore_ms": ms([r.restore_s for r in reports]),
        "requests": list(reports[-1].requests),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--kinds", default=",".join(KINDS))
    args = parser.parse_args()
    # The user's clipboard holds something, as it usually does: saving and restoring it is
    # part of every paste.
    subprocess.run(["xclip", "-selection", "clipboard", "-i"], input=b"the user's notes", check=True, timeout=5)
    results = [bench_kind(kind, args.runs) for kind in args.kinds.split(",")]

    headers = ["window", "runs", "intact", "type step ms", "save ms", "key → text ms", "serve ms", "restore ms"]
    rows = [
        [r["kind"], r["runs"], r["intact"], r["step_ms"], r["save_ms"], r["to_text_ms"], r["serve_ms"], r["restore_ms"]]
        for r in results
    ]
    sys.stdout.write(table(headers, rows) + "\n")
    write_json(ROOT / "docs" / "bench_paste.json", {"machine": machine(), "text": MIXED, "results": results})
    quiet = DEFAULT_QUIET_S
    write_section(
        "bench_paste",
        "## Typing non-ASCII text: paste per window kind (`scripts/bench_paste.py`)\n\n"
        f"Command: `DISPLAY=:99 .venv/bin/python scripts/bench_paste.py --runs {args.runs}` on {machine()}, "
        f"Xvfb 1920x1080x24, no window manager. Each run types `{MIXED}` then Enter as one `type` step "
        "(one paste: the line is pasted whole, Enter is a key); medians.\n\n"
        + table(headers, rows)
        + "\n\n"
        "`save`: reading the user's clipboard and primary selection (xclip); `key → text`: from pressing "
        "shift+Insert until the window took a text target; `serve`: until the paste counted as complete "
        f"(text served, then {quiet * 1000:.0f} ms without a request); `restore`: handing the user's "
        "content back to xclip.\n\n"
        "Requests seen in the last run: "
        + "; ".join(f"{r['kind']}: {', '.join(r['requests'])}" for r in results)
        + ".\n",
    )


if __name__ == "__main__":
    main()

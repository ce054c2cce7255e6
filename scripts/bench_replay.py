"""A task done once, replayed without the model: wall time and model calls, first run against replay.

    PYTHONPATH=$PWD bash scripts/test.sh --run .venv/bin/python scripts/bench_replay.py [--latency 2] [--rounds 1]

Needs an X display (scripts/test.sh --run starts a private Xvfb 1920x1080x24). A real Qt
window (tests/apps/macro_button_window.py) and a loopback OpenAI-compatible server that
answers in --latency seconds per request and counts requests. The task has 6 steps as
the model does it: click the field, type, click the field, type, click Save, finish
(5 actions and the terminate answer; one request each, zoom-then-ground off). Each
round, in a fresh history folder, three runs:
1. the first run (the model),
2. the same task again (the replay: the run that succeeded, without the model),
3. the window moved by (410, 260) px, the same task once more (still the replay).
Twice over: through ``Session.run_task`` in this process (the tray's way: one process
for many tasks), and through the real `deskpilot run` process, whose wall time adds
Python's start and imports (about 1.5 s here) to every run alike. The window's own log
checks each run typed both texts and clicked Save.
Prints a table, writes docs/bench_replay.json and its section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchlib import ROOT, machine, median, table, write_json, write_section  # noqa: E402

from agent.testing.chat_server import CannedChatServer, serving  # noqa: E402

TASK = "fill in the customer name twice and save it"
WINDOW = ROOT / "tests" / "apps" / "macro_button_window.py"


class Window:
    """The Qt window, its events read from its stdout as JSON lines."""

    def __init__(self, at: tuple[int, int]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(WINDOW), "--at", f"{at[0]},{at[1]}"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        self.ready = self.next_event("ready")

    def next_event(self, kind: str) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # blocks until the window says it: no polling
            event: dict[str, Any] = json.loads(line)
            if event["event"] == kind:
                return event
        raise RuntimeError(f"the window ended before its {kind!r} event")

    def center(self, what: str) -> tuple[int, int]:
        x, y, w, h = self.ready[what]
        return (x + w // 2, y + h // 2)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def call(args: str) -> str:
    return f'<tool_call>\n{{"name": "computer_use", "arguments": {args}}}\n</tool_call>'


def model_point(x: int, y: int) -> str:
    return f"[{(x + 0.5) * 1000 / 1920:.2f}, {(y + 0.5) * 1000 / 1080:.2f}]"


def answers(window: Window) -> list[str]:
    field, save = window.center("field"), window.center("button")
    return [
        call(f'{{"action": "left_click", "coordinate": {model_point(*field)}, "element_description": "name field"}}'),
        call('{"action": "type", "text": "ada\\n"}'),
        call(f'{{"action": "left_click", "coordinate": {model_point(*field)}, "element_description": "name field"}}'),
        call('{"action": "type", "text": "grace\\n"}'),
        call(f'{{"action": "left_click", "coordinate": {model_point(*save)}, "element_description": "Save"}}'),
        call('{"action": "terminate", "status": "success"}'),
    ]


class InProcess:
    """The tray's way: one ``Session`` runs every task in this process."""

    def __init__(self) -> None:
        from agent.api import Session

        self.lines: list[str] = []
        self.session = Session(progress=self.lines.append)

    def __call__(self, tmp: Path, server: CannedChatServer, window: Window) -> tuple[float, int, str]:
        import threading

        from agent.api import Settings
        from agent.testing.operator import FakeOperator

        settings = Settings(backend="openai", base_url=server.url, model="canned", confirm="never",
                            refine="off", history_dir=str(tmp / "history"))
        before, said = len(server.calls), len(self.lines)
        started = time.perf_counter()
        result = self.session.run_task(settings, TASK, FakeOperator(), stop=threading.Event())
        wall = time.perf_counter() - started
        if result.outcome != "success":
            raise RuntimeError(f"the run ended {result.outcome}: {result.detail}")
        check_window(window)
        return wall, len(server.calls) - before, "\n".join(self.lines[said:])


def check_window(window: Window) -> None:
    typed = [window.next_event("text")["text"] for _ in range(2)]
    clicked = window.next_event("click")["button"]
    if typed != ["ada", "grace"] or clicked != "save":
        raise RuntimeError(f"the run typed {typed} and clicked {clicked}")


def one_run(tmp: Path, server: CannedChatServer, window: Window) -> tuple[float, int, str]:
    """(wall seconds, model requests, stderr) of one `deskpilot run` of the task."""
    before = len(server.calls)
    env = dict(os.environ, DESKPILOT_CONFIG=str(tmp / "config.toml"), PYTHONUNBUFFERED="1")
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "agent", "run", TASK, "--backend", "openai", "--base-url", server.url,
         "--model", "canned", "--history-dir", str(tmp / "history"), "--confirm", "never"],
        capture_output=True, text=True, env=env, timeout=300, cwd=ROOT,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"deskpilot run failed ({done.returncode}): {done.stderr}")
    check_window(window)
    return wall, len(server.calls) - before, done.stderr


def keeping_cost(history: Path) -> float:
    """Seconds the first run spent keeping itself as a replay: its macro cut from its screenshots."""
    from agent.macros.from_run import macro_from_run
    from agent.records.history import list_runs

    first = list_runs(history)[-1].id
    started = time.perf_counter()
    macro_from_run(history, first)
    return time.perf_counter() - started


Runner = Callable[[Path, CannedChatServer, Window], tuple[float, int, str]]


def one_round(latency: float, runner: Runner) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        (tmp / "config.toml").write_text('refine = "off"\n', encoding="utf-8")  # one request per step
        window = Window((300, 200))
        try:
            turn = itertools.count()
            replies = answers(window)
            server = CannedChatServer(lambda body: replies[next(turn) % len(replies)], latency_s=latency)
            with serving(server):
                first, first_calls, _ = runner(tmp, server, window)
                replay, replay_calls, said = runner(tmp, server, window)
                if "replaying the run of" not in said:
                    raise RuntimeError(f"the second run did not replay: {said}")
                window.close()
                window = Window((710, 460))
                moved, moved_calls, _ = runner(tmp, server, window)
            keep = keeping_cost(tmp / "history")
        finally:
            window.close()
    return {"keep_s": keep, "first_s": first, "first_calls": first_calls, "replay_s": replay, "replay_calls": replay_calls,
            "moved_s": moved, "moved_calls": moved_calls}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=2.0, help="seconds per model answer (default: 2)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of three runs; medians (default: 1)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "bench_replay.json", help="JSON results")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        sys.stderr.write("needs an X display: run it through scripts/test.sh --run\n")
        return 2
    load = os.getloadavg()[0]  # a shared machine: absolute times vary with it, ratios less
    ways: dict[str, Runner] = {"Session.run_task (tray)": InProcess(), "deskpilot run (CLI process)": one_run}
    results: dict[str, dict[str, Any]] = {}
    rows = []
    for way, runner in ways.items():
        rounds = [one_round(args.latency, runner) for _ in range(args.rounds)]
        m = {key: median([r[key] for r in rounds]) for key in rounds[0]}
        speedup = m["first_s"] / m["replay_s"]
        results[way] = {"rounds": rounds, "median": m, "speedup": speedup}
        rows += [
            [way, "first run (the model)", f"{m['first_s']:.2f} s (keeping it as a replay: {m['keep_s']:.2f} s)", f"{m['first_calls']:.0f}", "-", "-"],
            [way, "second run (replay)", f"{m['replay_s']:.2f} s", f"{m['replay_calls']:.0f}",
             f"{speedup:.1f}x faster (>= 8x), 0 calls",
             "met" if speedup >= 8 and m["replay_calls"] == 0 else "NOT met"],
            [way, "after the window moved (replay)", f"{m['moved_s']:.2f} s", f"{m['moved_calls']:.0f}",
             "0 calls", "met" if m["moved_calls"] == 0 else "NOT met"],
        ]
    text = table(["through", "run", "wall time", "model calls", "target", "verdict"], rows)
    sys.stdout.write(text + "\n")
    write_json(args.out, {"latency_s": args.latency, "results": results, "load_average": load, "machine": machine()})
    write_section("bench_replay", "\n".join([
        "## Replay: a task done once, again without the model (`scripts/bench_replay.py`)",
        "",
        f"Command: `PYTHONPATH=$PWD bash scripts/test.sh --run .venv/bin/python scripts/bench_replay.py "
        f"--latency {args.latency:g} --rounds {args.rounds}` on {machine()}, Xvfb 1920x1080. A 6-step task "
        "(click the field, type, click the field, type, click Save, finish) on a real Qt window, the model a "
        f"loopback OpenAI-compatible server answering in {args.latency:g} s per request; medians. The replay "
        "plays the 5 actions (finding each target again on the screen); the window's log checks every run "
        "typed both texts and clicked Save. The first run's time includes keeping it as a replay (cutting "
        "its anchors, once). `Session.run_task` is the tray's path, one process for many tasks; the CLI "
        "process adds Python's start and imports to every run. "
        f"Load average at the start: {load:.1f}.",
        "",
        text,
    ]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

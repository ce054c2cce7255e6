"""Non-model overhead of one agent step *through the loop*, this tree against a baseline tree.

    DISPLAY=:99 .venv/bin/python scripts/bench_core.py --baseline-tree /tmp/old [--steps 30] [--rounds 3]

Each round runs a scripted 30-step task (a pointer move per step) on the real display,
once with the baseline tree's code and once with this tree's, in separate processes,
alternating, so machine noise hits both alike. A step's overhead is its wall time
minus the model's (the scripted backend answers at once): capture, resize, prompt,
parse, scale, policy, perform, settle, record. Prints a table, writes
docs/bench_core.json and its section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ROOT, machine, median, table, write_json, write_section  # noqa: E402

# Runs inside the measured tree: it adapts to the loop's constructor there (the run core
# split it), and reports per-step wall times from the run's own step timings.
CHILD = r'''
import json, sys, threading, time, tempfile
from pathlib import Path
steps = int(sys.argv[1])
replies = [
    '<tool_call>{"name": "computer_use", "arguments": {"action": "mouse_move", "coordinate": [%d, %d]}}</tool_call>'
    % (100 + (i * 37) % 800, 100 + (i * 53) % 800)
    for i in range(steps)
]
from agent.backends.scripted import ScriptedBackend
try:
    from agent.computers.x11.desktop import DesktopComputer
except ImportError:  # a tree from before the X11 code moved under computers/x11/ (e.g. c218d80)
    from agent.computers.desktop import DesktopComputer
try:
    from agent.computer_use.loop import AgentLoop, LoopSettings
    from agent.computer_use.planner import Planner
    from agent.run.policy import ConfirmMode, Policy, PolicyConfig
    from agent.records.history import RunRecorder
    from agent.records.schema import RunInfo
    new = True
except ImportError:
    from agent.loop import AgentLoop, LoopSettings
    from agent.planner import Planner
    from agent.policy import ConfirmMode, Policy, PolicyConfig
    from agent.history import RunRecorder
    from agent.records import RunInfo
    new = False
stop = threading.Event()
computer = DesktopComputer(1, cancel=stop)
recorder = RunRecorder.start(Path(tempfile.mkdtemp()), RunInfo(id="", task="bench", backend="script", model="s", started_at=""))
kwargs = dict(settings=LoopSettings(max_steps=steps, watchdog_repeats=10**6), recorder=recorder)
parts = (computer, Planner(ScriptedBackend(replies)), Policy(PolicyConfig(confirm=ConfirmMode.NEVER)), None, stop)
if new:
    loop = AgentLoop.on(*parts, **kwargs)
else:
    loop = AgentLoop(computer=parts[0], planner=parts[1], policy=parts[2], operator=parts[3], stop=parts[4], **kwargs)
marks = []
def observe(event):
    if type(event).__name__ in ("StepStarted", "StepFinished"):
        marks.append((type(event).__name__, time.perf_counter(), getattr(event, "record", None)))
if new:
    loop.harness.observers.append(observe)
else:
    loop.observers = [observe]
loop.run("bench")
out = []
for (a, t0, _), (b, t1, record) in zip(marks[0::2], marks[1::2]):
    out.append((t1 - t0) - record.timings.get("model_s", 0.0))
waits = getattr(loop.harness, "flush_waits_s", []) if new else []  # the history's barrier, where there is one
print(json.dumps({"steps": out, "flush_waits": waits}))
'''


def run_tree(tree: Path, steps: int) -> tuple[list[float], list[float]]:
    """Per-step non-model seconds, and the waits at the history's barrier before each action."""
    env = dict(os.environ, PYTHONPATH=str(tree), HF_HUB_OFFLINE="1")
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(steps)], capture_output=True, text=True, env=env, cwd=tree, timeout=600
    )
    if result.returncode != 0:
        raise SystemExit(f"the run in {tree} failed:\n{result.stderr[-2000:]}")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    return [float(v) for v in out["steps"]], [float(v) for v in out["flush_waits"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline-tree", type=Path, required=True, help="a checkout of the code to compare with")
    parser.add_argument("--baseline-name", default="baseline", help="what to call it in the table (default: baseline)")
    parser.add_argument("--steps", type=int, default=30, help="steps per run (default 30)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds, in ABBA order (default 4)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "bench_core.json")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        sys.stderr.write("bench_core: needs an X display (DISPLAY); start Xvfb first\n")
        return 2
    samples: dict[str, list[float]] = {"baseline": [], "this tree": []}
    waits: dict[str, list[float]] = {"baseline": [], "this tree": []}
    trees = {"baseline": args.baseline_tree.resolve(), "this tree": ROOT}
    for round_number in range(args.rounds):
        # ABBA order: whichever runs second in a pair was measured slower here, so each
        # tree goes first equally often.
        order = ["baseline", "this tree"] if round_number % 2 == 0 else ["this tree", "baseline"]
        for name in order:
            steps, flush_waits = run_tree(trees[name], args.steps)
            samples[name] += steps[1:]  # step 1 warms caches
            waits[name] += flush_waits[1:]
    base, now = median(samples["baseline"]), median(samples["this tree"])
    def wait_ms(name: str) -> str:
        return f"{median(waits[name]) * 1000:.2f}" if waits[name] else "- (written in the step)"

    rows = [
        (args.baseline_name, len(samples["baseline"]), base * 1000, wait_ms("baseline")),
        ("this tree", len(samples["this tree"]), now * 1000, wait_ms("this tree")),
    ]
    ratio = now / base
    goal = "met" if now * 1000 <= 60 else "MISSED"
    text = (
        table(["code", "steps", "median non-model ms/step", "median wait for the history before an action, ms"], rows)
        + f"\n\nratio this/baseline: {ratio:.3f}; goal <= 60 ms per step: {goal}\n"
    )
    sys.stdout.write(text)
    write_json(args.out, {"baseline": args.baseline_name, "steps": args.steps, "rounds": args.rounds,
                          "baseline_ms": base * 1000, "this_ms": now * 1000, "ratio": ratio,
                          "flush_wait_ms": median(waits["this tree"]) * 1000 if waits["this tree"] else None})
    write_section("bench_core", "\n".join([
        "## Run core: non-model overhead through the loop (`scripts/bench_core.py`)",
        f"Command: `DISPLAY=:99 .venv/bin/python scripts/bench_core.py --baseline-tree OLD --baseline-name {args.baseline_name}`"
        f" on {machine()}, Xvfb 1920x1080x24; {args.rounds} rounds in ABBA order of {args.steps} pointer-move steps"
        " (first step of each run dropped); capture, resize, prompt, parse, policy, perform, settle and the step record.",
        "",
        text,
        "The history's wait is the executor's barrier before each action (`RunHarness.flush`): the step"
        " before is on disk by then. Its PNG is encoded from capture on and written while the next step"
        " plans, so the barrier rarely waits. What is left is mostly the settle's quiet period"
        " (`LoopSettings.settle_quiet_s`, 50 ms: no change for that long is what \"settled\" means), see"
        " `scripts/bench_loop.py` for the phases; a shared 2-core machine adds its noise to both trees alike.",
    ]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

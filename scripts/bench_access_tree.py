"""Rows for bench_access.py: read and click by name through the accessibility tree against OCR, per app.

Needs an X display with nothing else on it (run it through ``scripts/test.sh --run``):
starts its own session D-Bus and AT-SPI bus (tests/a11y_session.py), a GTK3 window and
Chromium on a page of ~40 controls, and measures in this process, median of the rounds:

- read, tree: from the query to the first line and to all text of the active window;
- read, OCR: Deskpilot's reader on a capture of the same window (first row, all rows);
- click by name, tree: the clickable elements, the name matched, the cover check;
- click by name, OCR: capture, OCR, the name matched (what ``click`` did before);
- model clicks 10, 20, 30 px off each named element, raw and snapped (``bench_snapping``);
- first spoken word of ``deskpilot read --window --speak-to FILE.wav`` on the GTK3 window,
  as a real command (scripts/first_word_probe.py notes the speech's own timing inside it):
  from the launch, and from the command's start, to the first line handed to speech and to
  espeak-ng's first audio samples. Bytecode is cached (in a private folder) and one
  warm-up run goes first, as on an installed system.
Clicking itself (the pointer and the app) costs the same either way and is left out.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _median(fn: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), out


def _first(iterable: Any) -> Any:
    return next(iter(iterable), None)


def first_word(env: dict[str, str], rounds: int, folder: Path) -> dict[str, float]:
    """Medians (ms) of ``read --window --speak-to`` on the active window, from launch and from the command."""
    import json
    import subprocess

    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")  # as installed: compiled once, not per run
    probe = ROOT / "scripts" / "first_word_probe.py"
    samples: dict[str, list[float]] = {"launch_line": [], "launch_audio": [], "command_line": [],
                                       "command_audio": [], "imports": []}
    for i in range(rounds + 1):  # the first run compiles and warms the disk cache
        times, wav = folder / f"t{i}.json", folder / f"r{i}.wav"
        launched = time.time()
        done = subprocess.run(
            [sys.executable, str(probe), str(times), "read", "--window", "--speak-to", str(wav)],
            env=env, capture_output=True, text=True, timeout=60,
        )
        if done.returncode != 0 or "from the accessibility tree" not in done.stderr:
            raise RuntimeError(f"read --speak-to failed or did not use the tree: {done.stderr[-500:]}")
        stamps = json.loads(times.read_text())
        if i == 0:
            continue
        samples["launch_line"].append(stamps["first_line"] - launched)
        samples["launch_audio"].append(stamps["first_audio"] - launched)
        samples["command_line"].append(stamps["first_line"] - stamps["command"])
        samples["command_audio"].append(stamps["first_audio"] - stamps["command"])
        samples["imports"].append(stamps["command"] - launched)
    return {k: statistics.median(v) * 1000 for k, v in samples.items()}


def measure(rounds: int) -> tuple[list[list[object]], dict[str, Any]]:
    import os

    from bench_snapping import rows as snap_rows

    from agent.access.matching import find_matches
    from agent.access.ocr import RapidReader
    from agent.access.reading import capture
    from agent.access.tree_targets import CLICKABLE_ROLES, tree_matches
    from agent.computer_use.snapping import SNAP_ROLES
    from agent.computers.atspi.bus import bus_address
    from agent.computers.atspi.tree import AtspiTree
    from agent.computers.x11.stacking import X11Stack
    from tests.a11y_session import APPS, AccessibilitySession, focus

    rows: list[list[object]] = []
    results: dict[str, Any] = {}
    reader = RapidReader()
    with tempfile.TemporaryDirectory() as tmp:
        session = AccessibilitySession(Path(tmp))
        saved = {k: os.environ.get(k) for k in ("DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR")}
        os.environ.update({k: session.env[k] for k in saved})
        try:
            session.gtk3("Deskpilot GTK3", 100, 80)
            apps = [("GTK3", "Deskpilot GTK3", "Export report")]
            session.chromium(Path(tmp) / "chromium", APPS / "atspi_page.html", "0,0")
            apps.append(("Chromium page (~40 controls)", "ready - Chromium", "Submit order"))
            if bus_address() is None:
                raise RuntimeError("the accessibility bus did not answer")
            stack = X11Stack()
            tree = AtspiTree(stack)
            reader.read(capture(1).image)  # warm the engine
            for label, title, name in apps:
                focus(title)
                window = stack.active()
                assert window is not None
                area = window.region
                sys.stderr.write(f"{label}: tree…\n")
                first_s, _ = _median(lambda: _first(tree.active_window().elements), rounds)  # type: ignore[union-attr]
                all_s, win = _median(tree.active_window, rounds)
                find_s, found = _median(
                    lambda n=name: [e for e in tree_matches(n, tree.find(CLICKABLE_ROLES)) if not tree.covered(e)],
                    rounds,
                )
                sys.stderr.write(f"{label}: OCR…\n")
                ocr_first_s, _ = _median(lambda a=area: _first(reader.rows(capture(a).image)), rounds)
                ocr_all_s, ocr_rows = _median(lambda a=area: list(reader.rows(capture(a).image)), rounds)
                ocr_click_s, ocr_found = _median(
                    lambda n=name, a=area: find_matches(n, reader.read(capture(a).image)), rounds
                )
                lines = len(win.elements) if win is not None else 0
                rows += [
                    [f"{label}: read, tree, first line", first_s * 1000, f"{lines} lines"],
                    [f"{label}: read, tree, all text", all_s * 1000, "goal <= 150 ms"],
                    [f"{label}: read, OCR of the window, first line", ocr_first_s * 1000, "-"],
                    [f"{label}: read, OCR of the window, all text", ocr_all_s * 1000, f"{len(ocr_rows)} rows"],
                    [f"{label}: click {name!r}, tree lookup", find_s * 1000,
                     f"{len(found)} match, goal <= 100 ms"],
                    [f"{label}: click {name!r}, OCR lookup", ocr_click_s * 1000, f"{len(ocr_found)} match"],
                ]
                snap_table, snap_json = snap_rows(label, tree.find(SNAP_ROLES))
                rows += snap_table
                results[label] = {
                    "snapping": snap_json,
                    "tree_first_line_ms": first_s * 1000, "tree_all_text_ms": all_s * 1000,
                    "ocr_first_line_ms": ocr_first_s * 1000, "ocr_all_text_ms": ocr_all_s * 1000,
                    "tree_click_lookup_ms": find_s * 1000, "ocr_click_lookup_ms": ocr_click_s * 1000,
                    "tree_lines": lines, "tree_matches": len(found), "ocr_matches": len(ocr_found),
                }
            stack.close()
            focus("Deskpilot GTK3")
            sys.stderr.write("GTK3: read --speak-to, first spoken word…\n")
            word = first_word(session.env, rounds, Path(tmp))
            rows += [
                ["GTK3: read --speak, launch to first audio", word["launch_audio"],
                 f"interpreter + imports {word['imports']:.0f} ms"],
                ["GTK3: read --speak, launch to first line to speech", word["launch_line"], "-"],
                ["GTK3: read --speak, command start to first line to speech", word["command_line"], "-"],
                ["GTK3: read --speak, command start to first audio", word["command_audio"], "goal <= 300 ms"],
            ]
            results["GTK3"]["first_spoken_word_ms"] = word
        finally:
            session.close()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    return rows, results

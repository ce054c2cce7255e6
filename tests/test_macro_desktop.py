"""``deskpilot macro play`` on a real X display: a real Qt window, xdotool as the user's hands.

Macros are made here from real captures of the window (anchors cut by the same code
the recorder and from-run use), then the window is moved, rescaled, recoloured,
restyled altogether (found by its label, OCR) or stripped of its button, and the
replay must find the button or stop without clicking.
"No click" is checked against a sync point: after the replay, xdotool clicks the
window's background, and X delivers input in order, so every click the replay sent
has been reported by then.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.macros.anchors import make_anchor
from agent.macros.schema import Macro, MacroStep, Monitor, save_macro
from tests.conftest import APPS, xdotool
from tests.support import ROOT, LinePump, wait_until
from tests.test_run import shell_xterm  # noqa: F401 (a fixture)


class ButtonApp:
    def __init__(self, *args: str, scale: float = 1.0) -> None:
        env = dict(os.environ, QT_SCALE_FACTOR=str(scale))
        self.proc = subprocess.Popen(
            [sys.executable, str(APPS / "macro_button_window.py"), *args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
        )
        assert self.proc.stdout is not None
        self.pump = LinePump(self.proc.stdout, json_lines=True)
        self.ready: dict[str, Any] = self.pump.wait_for(lambda e: e["event"] == "ready", 20, "ready event")

    def center(self, what: str) -> tuple[int, int]:
        x, y, w, h = self.ready[what]
        return (x + w // 2, y + h // 2)

    def events_until_sync(self) -> list[dict[str, Any]]:
        """Every event up to a press xdotool makes on the window's background now."""
        x, y, _, h = self.ready["window"]
        xdotool("mousemove", str(x + 4), str(y + h - 4))
        xdotool("click", "1")
        start = len(self.pump.seen)
        self.pump.wait_for(lambda e: e["event"] == "press", 10, "sync press")
        return self.pump.seen[:start] + self.pump.seen[start:-1]

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def app(x_display: str) -> Iterator[Callable[..., ButtonApp]]:
    started: list[ButtonApp] = []

    def start(*args: str, scale: float = 1.0) -> ButtonApp:
        for old in started:
            old.close()
        started.clear()
        started.append(ButtonApp(*args, scale=scale))
        return started[-1]

    yield start
    for old in started:
        old.close()
    xdotool("mousemove", "960", "540")


def macro_from_screen(path: Path, steps: list[dict[str, Any]], *, ocr: bool = False) -> Path:
    """A macro of ``steps`` whose pointer steps get anchors cut from a capture of the screen now
    (with their text read by the real OCR when ``ocr``)."""
    from agent.access.ocr import RapidReader
    from agent.computers.x11.screen import MssScreen

    frame = MssScreen(1).capture()
    reader = RapidReader() if ocr else None
    out = []
    for action in steps:
        anchor = make_anchor(frame.image, (action["x"], action["y"]), reader=reader) if "x" in action else None
        out.append(MacroStep(action=action, anchor=anchor))
    save_macro(Macro(monitor=Monitor(width=frame.image.width, height=frame.image.height), steps=out), path)
    return path


def play(tmp: Path, macro: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DESKPILOT_CONFIG=str(tmp / "no-config.toml"), PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "agent", "macro", "play", str(macro), "--history-dir", str(tmp / "history"),
         "--confirm", "never", *args],
        capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT,
    )


def clicks(events: list[dict[str, Any]]) -> list[str]:
    return [e["button"] for e in events if e["event"] == "click"]


def tiers(report: Path) -> list[str]:
    text = report.read_text(encoding="utf-8")
    return [chunk.split("<", 1)[0] for chunk in text.split('<td class="tier">')[1:]]


def test_replay_into_a_moved_window_clicks_the_moved_button(app: Callable[..., ButtonApp], tmp_path: Path) -> None:
    window = app("--at", "300,200")
    x, y = window.center("button")
    macro = macro_from_screen(tmp_path / "m.json", [{"action": "left_click", "x": x, "y": y}])
    moved = app("--at", f"{300 + 137},{200 + 91}")
    report = tmp_path / "report.html"
    result = play(tmp_path, macro, "--report", str(report))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == "Playing m.json: 1 step recorded on monitor 1 (1920x1080), max speed"
    assert "run success: played 1 step\n" in result.stderr  # counted once, in words
    assert clicks(moved.events_until_sync()) == ["save"]
    assert oct(report.stat().st_mode & 0o777) == "0o600"
    assert tiers(report) == ["a-near"] and "data:image/png;base64," in report.read_text()


def test_a_rescaled_and_recoloured_button_is_still_found_by_the_tier_the_report_names(
    app: Callable[..., ButtonApp], tmp_path: Path
) -> None:
    window = app("--at", "300,200")
    x, y = window.center("button")
    macro = macro_from_screen(tmp_path / "m.json", [{"action": "left_click", "x": x, "y": y}])
    changed = app("--at", "700,400", "--theme", "dark", scale=1.25)
    report = tmp_path / "report.html"
    result = play(tmp_path, macro, "--report", str(report), "--update-anchors")
    assert result.returncode == 0, result.stderr
    assert clicks(changed.events_until_sync()) == ["save"]
    (tier,) = tiers(report)
    assert tier.startswith("b-"), tier
    assert f"healed by tier {tier}" in result.stderr
    assert f"saved 1 new anchor look to {macro}" in result.stderr
    # The new look is kept: the next replay finds it at tier (a).
    data = json.loads(macro.read_text())
    assert len(data["steps"][0]["anchor"]["variants"]) == 1
    again = play(tmp_path, macro, "--report", str(report))
    assert again.returncode == 0, again.stderr
    assert tiers(report)[0].startswith("a-")


def test_a_button_restyled_altogether_is_clicked_by_its_label_through_tier_c_ocr(
    app: Callable[..., ButtonApp], tmp_path: Path
) -> None:
    window = app("--at", "300,200")
    x, y = window.center("button")
    macro = macro_from_screen(tmp_path / "m.json", [{"action": "left_click", "x": x, "y": y}], ocr=True)
    anchor = json.loads(macro.read_text())["steps"][0]["anchor"]
    assert anchor["text"] == "Save" and anchor["text_box"] is not None
    restyled = app("--at", "700,400", "--theme", "restyled")
    report = tmp_path / "report.html"
    result = play(tmp_path, macro, "--report", str(report), "--update-anchors")
    assert result.returncode == 0, result.stderr
    assert clicks(restyled.events_until_sync()) == ["save"]
    assert tiers(report) == ["c-ocr"]
    assert "healed by tier c-ocr (score " in result.stderr
    # The look it was found with is kept: the next replay finds it by its picture.
    again = play(tmp_path, macro, "--report", str(report))
    assert again.returncode == 0, again.stderr
    assert clicks(restyled.events_until_sync()) == ["save", "save"]  # every click since the window opened
    assert tiers(report) == ["a-variant"]


# The reviewer's case: on a black desktop, clicking the empty field, typing, then Save,
# with the window at 300,200. Anchors used to come out 192 px squares, "ambiguous", whose
# match was the window's edge against black: a moved window healed by edges only, a dark
# one failed on the field. (window now, tier per step; "-" for the typing step)
REVIEWER_CASES = [
    ("moved", ("--at", f"{300 + 137},{200 + 91}"), ["a-near", "-", "a-near"]),
    ("dark theme", ("--at", "300,200", "--theme", "dark"), ["b-edges", "-", "b-edges"]),
    # The Save button is drawn another way altogether: only its label (OCR) still says
    # which button it is; the look-alike Cancel beside it is never taken for it.
    ("restyled", ("--at", "300,200", "--theme", "restyled"), ["a-near", "-", "c-ocr"]),
]


@pytest.mark.parametrize(("name", "now", "expected"), REVIEWER_CASES, ids=[c[0] for c in REVIEWER_CASES])
def test_a_field_typing_and_save_recorded_on_a_black_desktop_replay_after_a_change(
    app: Callable[..., ButtonApp], tmp_path: Path, name: str, now: tuple[str, ...], expected: list[str]
) -> None:
    window = app("--at", "300,200")
    (fx, fy), (sx, sy) = window.center("field"), window.center("button")
    macro = macro_from_screen(tmp_path / "m.json", [
        {"action": "left_click", "x": fx, "y": fy},
        {"action": "type", "text": "Ada Lovelace\n"},
        {"action": "left_click", "x": sx, "y": sy},
    ], ocr=name == "restyled")
    anchors = [s["anchor"] for s in json.loads(macro.read_text())["steps"] if s["anchor"]]
    assert [a["ambiguous"] for a in anchors] == [False, False]
    changed = app(*now)
    report = tmp_path / "report.html"
    result = play(tmp_path, macro, "--report", str(report))
    assert result.returncode == 0, result.stderr
    events = changed.events_until_sync()
    assert [e["text"] for e in events if e["event"] == "text"] == ["Ada Lovelace"]
    assert clicks(events) == ["save"]
    assert tiers(report) == expected
    for number, tier in enumerate(expected, 1):
        if tier not in ("-", "a-near"):
            assert f"step {number}: healed by tier {tier}" in result.stderr


def test_restyled_without_ocr_stops_saying_why_and_never_clicks_the_look_alike(
    app: Callable[..., ButtonApp], tmp_path: Path
) -> None:
    window = app("--at", "300,200")
    x, y = window.center("button")
    macro = macro_from_screen(tmp_path / "m.json", [{"action": "left_click", "x": x, "y": y}])
    restyled = app("--at", "300,200", "--theme", "restyled")
    result = play(tmp_path, macro)
    assert result.returncode == 1, result.stderr
    failure = [line for line in result.stderr.splitlines() if "nothing clicked" in line]
    assert len(failure) == 1 and "not on the screen" in failure[0], result.stderr
    assert clicks(restyled.events_until_sync()) == []


def test_a_gone_button_stops_with_exit_1_and_no_click(app: Callable[..., ButtonApp], tmp_path: Path) -> None:
    window = app("--at", "300,200")
    x, y = window.center("button")
    macro = macro_from_screen(tmp_path / "m.json", [
        {"action": "left_click", "x": x, "y": y},
        {"action": "type", "text": "never typed"},
    ])
    gone = app("--at", "300,200", "--no-save")
    dry = play(tmp_path, macro, "--dry-run")
    assert dry.returncode == 1, dry.stderr  # a dry run checks anchors: a missing one is a failure
    assert "run failure: dry run: 1 of 2 steps' targets not found (step 1)" in dry.stderr
    report = tmp_path / "report.html"
    result = play(tmp_path, macro, "--report", str(report))
    assert result.returncode == 1, result.stderr
    assert "not on the screen" in result.stderr
    assert tiers(report) == ["not found", "-"] and report.read_text().count("not reached") == 1
    events = gone.events_until_sync()
    assert clicks(events) == [] and not [e for e in events if e["event"] == "text"]
    run = sorted((tmp_path / "history").iterdir())[-1]
    assert (run / "miss-0001-anchor.png").exists() and (run / "miss-0001-best.png").exists()


def test_data_rows_type_three_values_and_dry_run_types_none(app: Callable[..., ButtonApp], tmp_path: Path) -> None:
    window = app("--at", "300,200")
    x, y = window.center("field")
    macro = macro_from_screen(tmp_path / "m.json", [
        {"action": "left_click", "x": x, "y": y},
        {"action": "type", "text": "{customer}\n"},
    ])
    data = tmp_path / "rows.csv"
    data.write_text("customer\nAda Lovelace\nGrace Hopper\nKatherine Johnson\n", encoding="utf-8")
    dry = play(tmp_path, macro, "--data", str(data), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert [e for e in window.events_until_sync() if e["event"] in ("text", "click")] == []
    progress = [line for line in dry.stderr.splitlines() if line.startswith("row ")]
    assert progress == ["row 1 of 3", "row 2 of 3", "row 3 of 3"]
    assert dry.stderr.index("row 2 of 3") < dry.stderr.index("step 3:")  # said as row 2 starts
    french = tmp_path / "data.csv"
    french.write_text("nom\nAda\n", encoding="utf-8")
    bad = play(tmp_path, macro, "--data", str(french))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    assert "data.csv has no column 'customer' (its columns: nom); add it or give --vars customer=..." in bad.stderr
    result = play(tmp_path, macro, "--data", str(data))
    assert result.returncode == 0, result.stderr
    texts = [window.pump.wait_for(lambda e: e["event"] == "text", 10, "typed row")["text"] for _ in range(3)]
    assert texts == ["Ada Lovelace", "Grace Hopper", "Katherine Johnson"]


def test_the_kill_hotkey_ends_playback_with_no_later_step(app: Callable[..., ButtonApp], tmp_path: Path) -> None:
    window = app("--at", "300,200")
    x, y = window.center("button")
    macro = macro_from_screen(tmp_path / "m.json", [
        {"action": "wait", "time": 30},
        {"action": "left_click", "x": x, "y": y},
    ])
    env = dict(os.environ, DESKPILOT_CONFIG=str(tmp_path / "no-config.toml"), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "macro", "play", str(macro), "--history-dir", str(tmp_path / "h"),
         "--confirm", "never"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env, cwd=ROOT,
    )
    assert proc.stderr is not None
    lines = LinePump(proc.stderr)
    lines.wait_for(lambda line: "Wait 30 s" in line, 30, "the wait step")
    xdotool("key", "ctrl+alt+k")
    assert proc.wait(timeout=20) == 3, "".join(lines.drain())
    assert clicks(window.events_until_sync()) == []


def test_a_macro_made_from_a_scripted_run_replays_in_a_real_xterm_with_no_model(
    shell_xterm: tuple[int, int], tmp_path: Path  # noqa: F811 (the fixture imported above)
) -> None:
    from tests.support import call, model_point, write_script

    target = tmp_path / "lines.txt"
    script = write_script(tmp_path / "script.jsonl", [
        call('{"action": "left_click", "coordinate": ' + model_point(*shell_xterm) + "}"),
        call('{"action": "type", "text": "echo one >> ' + str(target) + '\\n"}'),
        call('{"action": "terminate", "status": "success"}'),
    ])
    env = dict(os.environ, DESKPILOT_CONFIG=str(tmp_path / "no-config.toml"))
    history = tmp_path / "history"
    run = subprocess.run(
        [sys.executable, "-m", "agent", "run", "append a line", "--script", str(script), "--history-dir",
         str(history), "--confirm", "never"], capture_output=True, text=True, env=env, timeout=60, cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    assert wait_until(lambda: target.exists() and target.read_text() == "one\n")
    macro = tmp_path / "from-run.json"
    made = subprocess.run(
        [sys.executable, "-m", "agent", "macro", "from-run", "latest", str(macro), "--history-dir", str(history)],
        capture_output=True, text=True, env=env, timeout=60, cwd=ROOT,
    )
    assert made.returncode == 0, made.stderr
    assert "2 steps, 1 with anchors" in made.stderr
    replay = play(tmp_path, macro)
    assert replay.returncode == 0, replay.stderr
    assert wait_until(lambda: target.read_text() == "one\none\n")
    # The replay ran no model: its run record says so.
    runs = sorted(p for p in (tmp_path / "history").iterdir() if p.is_dir())  # beside them: replays.json
    info = json.loads((runs[-1] / "run.json").read_text())
    assert info["backend"] == "macro" and info["model"] == "none"


# -- tier (d): the model grounds a step's description --------------------------------------


def described_macro(tmp: Path, path: Path, x: int, y: int) -> Path:
    """A click at (x, y) whose anchor is a look nothing on the screen has, and a description.

    No picture tier can find it: only the model, grounding the description, can. The
    settings file turns zoom-then-ground off, so each step is one model call.
    """
    from PIL import Image, ImageDraw

    from agent.computers.x11.screen import MssScreen

    size = MssScreen(1).capture().image.size
    look = Image.new("RGB", size, (250, 250, 250))
    draw = ImageDraw.Draw(look)
    for i in range(12):
        draw.ellipse((x - 40 + 9 * i, y - 40 + 5 * i, x + 11 * i, y + 20 + 3 * i), outline=(200, 20 * i, 90), width=3)
    anchor = make_anchor(look, (x, y))
    anchor.description = "the blue Save button"
    steps = [MacroStep(action={"action": "left_click", "x": x, "y": y}, anchor=anchor),
             MacroStep(action={"action": "type", "text": "after\n"})]
    save_macro(Macro(monitor=Monitor(width=size[0], height=size[1]), steps=steps), path)
    (tmp / "no-config.toml").write_text('refine = "off"\n', encoding="utf-8")
    return path


def test_tier_d_the_model_finds_the_described_button_and_the_report_names_it(
    app: Callable[..., ButtonApp], tmp_path: Path
) -> None:
    from tests.loopback_servers import StubServer, serving
    from tests.support import call, model_point

    window = app("--at", "500,300")
    x, y = window.center("button")
    macro = described_macro(tmp_path, tmp_path / "m.json", 200, 150)  # recorded elsewhere, looking different
    report = tmp_path / "report.html"
    reply = call(f'{{"action": "left_click", "coordinate": {model_point(x, y)}}}')
    with serving(StubServer(models=["qwen3-vl"], reply=reply)) as stub:
        result = play(tmp_path, macro, "--backend", "openai", "--base-url", stub.url, "--model", "qwen3-vl",
                      "--report", str(report))
        posts = [body for method, _, body, _ in stub.calls if method == "POST"]
    assert result.returncode == 0, result.stderr
    assert clicks(window.events_until_sync()) == ["save"]
    assert tiers(report) == ["d-model", "-"] and "healed by tier d-model" in result.stderr
    assert "1 step has a description: if tiers a-c cannot find one" in result.stderr
    assert len(posts) == 1 and "the blue Save button" in json.dumps(posts[0])


@pytest.mark.parametrize("how", ["--no-model", "server down"])
def test_tier_d_without_a_model_fails_the_step_in_one_line_and_clicks_nothing(
    app: Callable[..., ButtonApp], tmp_path: Path, how: str
) -> None:
    from tests.loopback_servers import StubServer, dead_port, serving
    from tests.support import call, model_point

    window = app("--at", "500,300")
    x, y = window.center("button")
    macro = described_macro(tmp_path, tmp_path / "m.json", 200, 150)
    reply = call(f'{{"action": "left_click", "coordinate": {model_point(x, y)}}}')
    with serving(StubServer(models=["qwen3-vl"], reply=reply)) as stub, dead_port() as port:
        url = stub.url if how == "--no-model" else f"http://127.0.0.1:{port}/v1"
        extra = ["--no-model"] if how == "--no-model" else []
        result = play(tmp_path, macro, "--backend", "openai", "--base-url", url, *extra)
    assert result.returncode == 1, result.stderr
    failure = [line for line in result.stderr.splitlines() if "nothing clicked" in line]
    assert len(failure) == 1
    if how == "--no-model":
        assert "not on the screen" in failure[0] and not [r for r in stub.calls if r[0] == "POST"]
    else:
        # Found before playback, in one line naming --no-model; then played with tier d off.
        lines = result.stderr.splitlines()
        (warning,) = [i for i, line in enumerate(lines) if line.startswith("the model tier is off")]
        assert "cannot reach the model server" in lines[warning] and "--no-model" in lines[warning]
        assert warning < min(i for i, line in enumerate(lines) if line.startswith("step 1"))
        assert "the model tier is off" in failure[0]
    events = window.events_until_sync()
    assert clicks(events) == [] and not [e for e in events if e["event"] == "text"]

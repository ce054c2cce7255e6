"""The recorder: raw events into steps (a table), and ``deskpilot macro record`` under real xdotool input."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.macros.schema import load_macro
from agent.macros.steps import RawEvent, build_steps, strip_kill_chord
from tests.conftest import xdotool
from tests.support import ROOT, LinePump
from tests.test_macro_desktop import ButtonApp, app  # noqa: F401 (a fixture)


def down(t: float, key: str, char: str = "") -> RawEvent:
    return RawEvent(t, "key_down", key=key, char=char)


def up(t: float, key: str) -> RawEvent:
    return RawEvent(t, "key_up", key=key)


def click(t: float, x: int, y: int, button: str = "left", to: tuple[int, int] | None = None) -> list[RawEvent]:
    ex, ey = to or (x, y)
    return [RawEvent(t, "button_down", x, y, button=button), RawEvent(t + 0.05, "button_up", ex, ey, button=button)]



def start_recording(macro: Path, tmp_path: Path, *options: str) -> tuple[subprocess.Popen[str], LinePump]:
    """``deskpilot macro record MACRO OPTIONS...`` as a user starts it, once it says it is recording."""
    env = dict(os.environ, DESKPILOT_CONFIG=str(tmp_path / "no-config.toml"), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "macro", "record", str(macro), *options],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env, cwd=ROOT,
    )
    assert proc.stderr is not None
    lines = LinePump(proc.stderr)
    lines.wait_for(lambda line: "recording" in line, 30, "the recording line")
    return proc, lines

CASES = [
    ("one click", click(0, 10, 20), [{"action": "left_click", "x": 10, "y": 20}]),
    ("double click", click(0, 10, 20) + click(0.2, 11, 20), [{"action": "double_click", "x": 10, "y": 20}]),
    ("triple click", click(0, 10, 20) + click(0.2, 10, 20) + click(0.4, 10, 21), [{"action": "triple_click", "x": 10, "y": 20}]),
    ("two slow clicks", click(0, 10, 20) + click(1.0, 10, 20), [{"action": "left_click", "x": 10, "y": 20}] * 2),
    ("right click", click(0, 5, 6, "right"), [{"action": "right_click", "x": 5, "y": 6}]),
    ("drag", click(0, 10, 20, to=(200, 220)), [{"action": "mouse_move", "x": 10, "y": 20}, {"action": "left_click_drag", "x": 200, "y": 220}]),
    ("scrolls add up", [RawEvent(0, "scroll", 5, 5, dy=-1), RawEvent(0.1, "scroll", 5, 6, dy=-1)], [{"action": "scroll", "x": 5, "y": 5, "pixels": -2}]),
    ("typed text with shift and non-ASCII", [down(0, "shift"), down(0.1, "h", "H"), up(0.2, "shift"), down(0.3, "i", "i"), down(0.4, "", "é"), down(0.5, "enter")],
     [{"action": "type", "text": "Hié\n"}]),
    ("a chord ends the text", [down(0, "a", "a"), down(0.1, "ctrl"), down(0.2, "s", "s"), up(0.3, "ctrl"), down(0.4, "b", "b")],
     [{"action": "type", "text": "a"}, {"action": "key", "keys": ["ctrl", "s"]}, {"action": "type", "text": "b"}]),
    ("a special key alone", [down(0, "escape")], [{"action": "key", "keys": ["escape"]}]),
    # Typed braces are doubled in the file, so replay types them instead of asking for a variable.
    ("typed braces", [down(0, "", "{"), down(0.1, "x", "x"), down(0.2, "", "}")], [{"action": "type", "text": "{{x}}"}]),
]


@pytest.mark.parametrize(("name", "events", "actions"), CASES, ids=[c[0] for c in CASES])
def test_raw_events_become_steps(name: str, events: list[RawEvent], actions: list[dict[str, object]]) -> None:
    assert [s.action for s in build_steps(events)] == actions


def test_the_kill_chord_at_the_end_is_not_recorded() -> None:
    events = [down(0, "x", "x"), down(1, "ctrl"), down(1.1, "alt"), down(1.2, "k", "k")]
    assert [s.action for s in build_steps(strip_kill_chord(events, ("ctrl", "alt", "k")))] == [{"action": "type", "text": "x"}]


def test_record_real_xdotool_input_until_the_kill_hotkey(app: Callable[..., ButtonApp], tmp_path: Path) -> None:  # noqa: F811
    window = app("--at", "300,200")
    bx, by = window.center("button")
    fx, fy = window.center("field")
    macro = tmp_path / "rec.json"
    proc, lines = start_recording(macro, tmp_path)
    xdotool("mousemove", str(fx), str(fy))
    xdotool("click", "1")
    xdotool("type", "--delay", "30", "Hi there")
    xdotool("key", "ctrl+a")
    xdotool("mousemove", str(bx), str(by))
    xdotool("click", "1")
    window.pump.wait_for(lambda e: e["event"] == "click", 10, "the recorded click")  # X delivered it all
    xdotool("key", "ctrl+alt+k")
    assert proc.wait(timeout=60) == 0, "".join(lines.drain())
    steps = load_macro(macro).steps
    assert [s.action for s in steps] == [
        {"action": "left_click", "x": fx, "y": fy},
        {"action": "type", "text": "Hi there"},
        {"action": "key", "keys": ["ctrl", "a"]},
        {"action": "left_click", "x": bx, "y": by},
    ]
    assert steps[0].anchor is not None and steps[3].anchor is not None
    assert steps[3].anchor.window_title == "deskpilot-buttons"
    assert steps[3].anchor.text == "Save"  # read by the real OCR when the recording ended
    out = "".join(lines.drain())
    assert "cutting the anchor of step 4 of 4 and reading its text" in out
    assert "X protocol error" not in out  # stopping the listeners is quiet
    assert oct(macro.stat().st_mode & 0o777) == "0o600"


@pytest.mark.process
def test_a_recording_with_nothing_in_it_writes_no_file(x_display: str, tmp_path: Path) -> None:
    macro = tmp_path / "empty.json"
    macro.write_text("an earlier file the user kept")
    proc, lines = start_recording(macro, tmp_path)
    xdotool("key", "ctrl+alt+k")
    assert proc.wait(timeout=60) == 1
    out = "".join(lines.drain())
    assert f"nothing was recorded; {macro} not written" in out and "Traceback" not in out
    assert macro.read_text() == "an earlier file the user kept"  # not replaced by an empty macro


@pytest.mark.parametrize("source", ["player", "agent"])
def test_the_recorder_leaves_out_what_deskpilot_injects(app: Callable[..., ButtonApp], tmp_path: Path, source: str) -> None:  # noqa: F811
    from tests.support import call, deskpilot, model_point, write_script
    from tests.test_macro_desktop import clicks, macro_from_screen, play

    window = app("--at", "300,200")
    sx, sy = window.center("button")
    x, y, w, h = window.ready["window"]
    cancel = macro_from_screen(tmp_path / "cancel.json", [{"action": "left_click", "x": x + w - 60, "y": sy}])
    macro = tmp_path / "rec.json"
    proc, lines = start_recording(macro, tmp_path)
    # Deskpilot's own click, while the recorder listens: a macro's, or an agent run's.
    if source == "player":
        played = play(tmp_path, cancel)
    else:
        script = write_script(tmp_path / "s.jsonl", [
            call('{"action": "left_click", "coordinate": ' + model_point(x + w - 60, sy) + "}"),
            call('{"action": "terminate", "status": "success"}'),
        ])
        played = deskpilot("run", "press cancel", "--script", str(script), "--confirm", "never",
                           "--history-dir", str(tmp_path / "runs"),
                           env=dict(os.environ, DESKPILOT_CONFIG=str(tmp_path / "no-config.toml")))
    assert played.returncode == 0, played.stderr
    window.pump.wait_for(lambda e: e["event"] == "click" and e["button"] == "cancel", 10, "the player's click")
    # Input right after Deskpilot acted is taken for its own (the mark's short grace):
    # the user acts once the mark has lapsed.
    from agent.computers.x11.marker import RootWindowMark
    from tests.support import wait_until

    mark = RootWindowMark()
    assert wait_until(lambda: not mark.active(), 5)
    mark.close()
    xdotool("mousemove", str(sx), str(sy))
    xdotool("click", "1")  # the user's click
    window.pump.wait_for(lambda e: e["event"] == "click" and e["button"] == "save", 10, "the user's click")
    xdotool("key", "ctrl+alt+k")
    assert proc.wait(timeout=60) == 0, "".join(lines.drain())
    assert [s.action for s in load_macro(macro).steps] == [{"action": "left_click", "x": sx, "y": sy}]
    assert "events Deskpilot injected were left out" in "".join(lines.drain())
    assert clicks(window.pump.seen) == ["cancel", "save"]


@pytest.mark.parametrize("server", ["up", "down"])
def test_record_describe_stores_the_models_phrase_or_keeps_the_recording_without(
    app: Callable[..., ButtonApp], tmp_path: Path, server: str  # noqa: F811
) -> None:
    import json
    from contextlib import ExitStack

    from agent.testing.chat_server import CannedChatServer, request_images, serving
    from tests.loopback_servers import dead_port

    window = app("--at", "300,200")
    bx, by = window.center("button")
    macro = tmp_path / "rec.json"
    with ExitStack() as stack:
        if server == "up":
            chat = stack.enter_context(serving(CannedChatServer(lambda body: "the blue Save button")))
            url = chat.url
        else:
            url = f"http://127.0.0.1:{stack.enter_context(dead_port())}/v1"
        proc, lines = start_recording(
            macro, tmp_path, "--describe", "--backend", "openai", "--base-url", url, "--model", "qwen3-vl"
        )
        xdotool("mousemove", str(bx), str(by))
        xdotool("click", "1")
        window.pump.wait_for(lambda e: e["event"] == "click", 10, "the recorded click")
        xdotool("key", "ctrl+alt+k")
        code = proc.wait(timeout=60)
        said = "".join(lines.drain())
    steps = load_macro(macro).steps  # saved either way
    assert [s.action for s in steps] == [{"action": "left_click", "x": bx, "y": by}]
    assert steps[0].anchor is not None
    if server == "up":
        assert code == 0, said
        assert steps[0].anchor.description == "the blue Save button"
        assert "describing step 1 (1 of 1)" in said and "  step 1: the blue Save button" in said
        (asked,) = chat.requests
        assert len(request_images(asked)) == 2 and "red ring" in json.dumps(asked["messages"])
    else:
        assert code == 1, said
        assert steps[0].anchor.description == ""
        (failed,) = [line for line in said.splitlines() if "could not describe" in line]
        assert f"{macro} is saved without descriptions" in failed

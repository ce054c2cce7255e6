"""``deskpilot parse`` and ``deskpilot screenshot`` as a user runs them: real processes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.support import call, deskpilot, display_size


@pytest.mark.process
def test_parse_prints_the_first_call_as_screen_json_and_notes_the_rest() -> None:
    reply = (
        "Thought: type the name, then save.\n"
        + call('{"action": "left_click", "coordinate": [500, 500]}')
        + call('{"action": "type", "text": "你好 world"}')
        + call('{"action": "key", "keys": ["Control", "s"]}')
    )
    result = deskpilot("parse", "--screen", "1920x1080+-1920+0", stdin=reply)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"action": "left_click", "x": -960, "y": 540}]
    assert result.stderr == "note: 2 more tool call(s) ignored; a run carries out only the first\n"
    single = deskpilot("parse", "--screen", "1920x1080", stdin=call('{"action": "type", "text": "你好 world"}'))
    assert (single.returncode, single.stderr) == (0, "")
    assert json.loads(single.stdout) == {"action": "type", "text": "你好 world"}


@pytest.mark.process
@pytest.mark.parametrize(
    ("config", "options", "expected"),
    [
        ("", [], (667, 373)),  # default budget: native, the 1932x1092 frame Qwen2.5 would see
        ("max_pixels = 1048576\n", [], (960, 540)),  # the settings file's budget: a 1344x756 frame
        ("max_pixels = 1048576\n", ["--max-pixels", "12845056"], (667, 373)),  # the option wins
        ("", ["--max-pixels", "1048576"], (960, 540)),
    ],
)
def test_parse_maps_qwen25_replies_with_the_run_budget(tmp_path: Path, config: str, options: list[str], expected: tuple[int, int]) -> None:
    settings = tmp_path / "config.toml"
    settings.write_text(config, encoding="utf-8")
    env = {**os.environ, "DESKPILOT_CONFIG": str(settings)}
    reply = call('{"action": "left_click", "coordinate": [672, 378]}')
    result = deskpilot("parse", "--screen", "1920x1080", "--frame", "qwen25", *options, stdin=reply, env=env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["x"], out["y"]) == expected


@pytest.mark.process
def test_parse_rejects_a_budget_out_of_range_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "DESKPILOT_CONFIG": str(tmp_path / "none.toml")}
    result = deskpilot("parse", "--screen", "1920x1080", "--max-pixels", "5", stdin=call('{"action": "wait", "time": 1}'), env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("deskpilot: error: --max-pixels: ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


@pytest.mark.process
@pytest.mark.parametrize(
    ("frame", "coordinate", "expected"),
    [("rel1000", "[1000, 0]", (1919, 0)), ("rel999", "[999, 999]", (1919, 1079)), ("qwen25", "[966, 546]", (960, 540))],
)
def test_parse_frames(frame: str, coordinate: str, expected: tuple[int, int]) -> None:
    reply = call('{"action": "mouse_move", "coordinate": ' + coordinate + "}")
    result = deskpilot("parse", "--screen", "1920x1080", "--frame", frame, stdin=reply)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["x"], out["y"]) == expected


def test_parse_defaults_to_the_real_primary_monitor(x_display: str) -> None:
    result = deskpilot("parse", stdin=call('{"action": "left_click", "coordinate": [1000, 1000]}'))
    assert result.returncode == 0, result.stderr
    width, height = display_size()
    assert json.loads(result.stdout) == {"action": "left_click", "x": width - 1, "y": height - 1}


BAD_INPUT = [
    (["parse", "--screen", "1920x1080"], "<tool_call>{not json}</tool_call>", "not valid JSON"),
    (["parse", "--screen", "1920x1080"], "I clicked the button at (3, 4).", "no action"),
    (["parse", "--screen", "1920x1080"], "", "the reply is empty"),
    (["parse", "--screen", "1920x1080"], call('{"action": "left_click", "coordinate": [2530, 10]}'), "outside the rel1000 frame"),
    (["parse", "--screen", "1920x1080"], call('{"action": "warp", "coordinate": [1, 1]}'), "unknown action 'warp'"),
    (["parse", "--screen", "1920x1080"], call('{"action": "key", "keys": ["hyper"]}'), "unknown key 'hyper'"),
    (["parse", "--screen", "1920by1080"], call('{"action": "wait", "time": 1}'), "bad screen"),
]


@pytest.mark.process
@pytest.mark.parametrize(("args", "stdin", "fragment"), BAD_INPUT)
def test_bad_input_exits_2_with_one_line_and_no_traceback(args: list[str], stdin: str, fragment: str) -> None:
    result = deskpilot(*args, stdin=stdin)
    assert result.returncode == 2
    assert result.stdout == ""
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.process
def test_a_bad_call_after_the_first_is_not_carried_out_nor_checked() -> None:
    # One call per answer: a run would click (0, 0) and never look at the second call.
    reply = call('{"action": "left_click", "coordinate": [1, 1]}') + call('{"action": "left_click", "coordinate": [1, 1001]}')
    result = deskpilot("parse", "--screen", "800x600", stdin=reply)
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"action": "left_click", "x": 0, "y": 0}
    assert "1 more tool call(s) ignored" in result.stderr


@pytest.mark.process
def test_parse_without_display_and_without_screen_says_what_to_do() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    result = deskpilot("parse", stdin=call('{"action": "wait", "time": 1}'), env=env)
    assert result.returncode == 2
    assert "--screen" in result.stderr and "Traceback" not in result.stderr


def test_screenshot_saves_a_private_png_of_the_monitor(x_display: str, tmp_path: Path) -> None:
    target = tmp_path / "shot.png"
    result = deskpilot("screenshot", str(target), "--monitor", "1")
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with Image.open(target) as image:
        assert image.size == display_size()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [(["--monitor", "7"], "no monitor 7"), (["--monitor", "1"], "suffixes")],
)
def test_screenshot_bad_input(x_display: str, tmp_path: Path, args: list[str], fragment: str) -> None:
    name = "shot.bmpx" if fragment == "suffixes" else "shot.png"
    result = deskpilot("screenshot", str(tmp_path / name), *args)
    assert result.returncode == 2 and fragment in result.stderr and "Traceback" not in result.stderr


@pytest.mark.process
def test_screenshot_on_a_display_that_is_not_there(tmp_path: Path) -> None:
    env = dict(os.environ, DISPLAY=":87")
    result = deskpilot("screenshot", str(tmp_path / "x.png"), env=env)
    assert result.returncode == 2 and "display" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.process
def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).with_name("deskpilot")
    result = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("deskpilot ")


@pytest.mark.process
def test_console_script_starts_the_tray_app_subcommand() -> None:
    exe = Path(sys.executable).with_name("deskpilot")
    result = subprocess.run([str(exe), "tray", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "usage: deskpilot tray" in result.stdout


@pytest.mark.process
def test_tray_without_a_display_is_one_clear_line() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-m", "ui"], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2 and "no display" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.process
def test_a_reader_that_closes_the_pipe_early_gets_no_traceback() -> None:
    """`deskpilot ... | head -1`: the rest of the output goes nowhere, quietly, exit 0."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line is written
    try:
        result = subprocess.run([sys.executable, "-m", "agent", "skill", "--list"], stdout=write_end,
                                stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert result.returncode == 0 and result.stderr == "", result.stderr

"""The command line as a newcomer meets it: help that lists everything with defaults, one-line
usage errors, and a run that checks what it can before it loads any model."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.support import DONE, deskpilot, write_script


@pytest.mark.process
def test_top_level_help_lists_the_tray_app() -> None:
    result = deskpilot("--help")
    assert result.returncode == 0
    assert re.search(r"^\s+tray\s+start the tray app", result.stdout, re.M), result.stdout


@pytest.mark.process
def test_every_run_option_says_what_it_does_and_its_default() -> None:
    result = deskpilot("run", "--help")
    assert result.returncode == 0
    # argparse wraps help text; join each option's lines before checking them.
    blocks = re.split(r"\n  (?=-)", result.stdout.split("options:", 1)[1])
    options = [b for b in blocks if b.lstrip().startswith("--")]
    assert len(options) == 19, options  # every option but -h
    for block in options:
        assert "(default:" in " ".join(block.split()), block


@pytest.mark.process
def test_history_help_shows_show_as_optional() -> None:
    result = deskpilot("history", "--help")
    assert "usage: deskpilot history [-h] [--history-dir DIR] [show RUN]" in result.stdout


@pytest.mark.process
@pytest.mark.parametrize("args", [("run",), ("run", "x", "--max-steps", "many"), ("frobnicate",), ("run", "x", "--confirm", "maybe")])
def test_a_usage_mistake_is_one_line_and_exit_2(args: tuple[str, ...]) -> None:
    result = deskpilot(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "error:" in lines[0] and "--help" in lines[0], result.stderr


@pytest.mark.process
def test_script_with_another_backend_is_refused(tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.jsonl", [DONE])
    result = deskpilot("run", "x", "--script", str(script), "--backend", "local")
    assert result.returncode == 2
    assert result.stderr.strip() == "deskpilot: error: --script replays recorded replies; it cannot go with --backend local"


@pytest.mark.process
def test_no_display_is_reported_before_any_model_loads(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["DESKPILOT_CONFIG"] = str(tmp_path / "none.toml")
    # A model that could never load: if the run tried it first, its error would show.
    result = deskpilot("run", "x", "--model", str(tmp_path / "no-such-model"), env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == "deskpilot: error: no display: DISPLAY is not set (start an X session or Xvfb)"


def test_a_missing_monitor_is_bad_input_before_any_model_loads(x_display: str, tmp_path: Path) -> None:
    result = deskpilot("run", "x", "--monitor", "7", "--model", str(tmp_path / "no-such-model"),
                       "--history-dir", str(tmp_path / "h"))
    assert result.returncode == 2, result.stderr
    assert "no monitor 7" in result.stderr and "model" not in result.stderr
    assert not (tmp_path / "h").exists() or not any((tmp_path / "h").iterdir())


def test_script_alone_means_the_script_backend_and_history_says_dry_run(x_display: str, tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.jsonl", ['<tool_call>{"name": "computer_use", "arguments": '
                                                 '{"action": "key", "keys": ["shift"]}}</tool_call>', DONE])
    history = tmp_path / "h"
    result = deskpilot("run", "press shift", "--script", str(script), "--dry-run", "--history-dir", str(history),
                       "--confirm", "never")
    assert result.returncode == 0, result.stderr
    (run_dir,) = history.iterdir()
    info = json.loads((run_dir / "run.json").read_text())
    assert info["backend"] == "script" and info["dry_run"] is True
    shown = deskpilot("history", "--history-dir", str(history), "show", "latest")
    assert "(dry run: nothing was performed)" in shown.stdout


def test_a_history_folder_that_cannot_be_written_is_exit_1(x_display: str, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    script = write_script(tmp_path / "s.jsonl", [DONE])
    result = deskpilot("run", "x", "--script", str(script), "--history-dir", str(blocker / "runs"))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "history folder" in lines[0]


@pytest.mark.parametrize("flags", [(), ("--no-marks", "--no-narrate")])
def test_no_marks_and_no_narrate_override_true_in_the_settings_file(
    x_display: str, tmp_path: Path, flags: tuple[str, ...]
) -> None:
    from agent.computer_use.marks import NO_TREE
    from agent.records.history import load_run
    from tests.support import call

    config = tmp_path / "config.toml"
    config.write_text("marks = true\nnarrate = true\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "AT_SPI_BUS_ADDRESS")}
    env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={tmp_path / 'no-bus'}"  # no tree: marks say so once
    env["DESKPILOT_CONFIG"] = str(config)
    script = write_script(tmp_path / "s.jsonl", [call('{"action": "wait", "time": 0.01}'), DONE])
    history = tmp_path / "h"
    result = deskpilot("run", "look", "--script", str(script), "--confirm", "never", "--history-dir", str(history),
                       *flags, env=env)
    assert result.returncode == 0, result.stderr
    _info, steps = load_run(history, "latest")
    if flags:  # the command line wins over the file: no marks tried, nothing said
        assert NO_TREE not in result.stderr
        assert [s.spoken for s in steps] == [[], []]
    else:  # the file's values are the defaults
        assert result.stderr.count(NO_TREE) == 1
        assert steps[0].spoken == ["Waiting 0.01 seconds", "Done"]

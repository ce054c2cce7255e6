"""A history folder that cannot be written, for real: a full small tmpfs and a read-only one.

Mounting needs root (CI runs as root); elsewhere these tests say why they skip.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import DONE, call, deskpilot, model_point, write_script

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "mnt"
    mount.mkdir()
    # Room for run.json and a step line, not for a full-screen PNG screenshot.
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mount)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_history_that_fills_up_ends_the_run_as_error_with_nothing_after(
    x_display: str, small_tmpfs: Path, probe, tmp_path: Path
) -> None:
    app = probe("--geometry", "400x300+700+300")
    points = [(720 + 30 * i, 320 + 20 * i) for i in range(8)]
    script = write_script(tmp_path / "s.jsonl", [
        *(call('{"action": "left_click", "coordinate": ' + model_point(x, y) + "}") for x, y in points),
        DONE,
    ])
    history = small_tmpfs / "runs"
    result = deskpilot("run", "click twice", "--script", str(script), "--confirm", "never", "--history-dir", str(history))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "run error" in last and "No space left on device" in last, result.stderr
    (run_dir,) = history.iterdir()
    info = json.loads((run_dir / "run.json").read_text())
    assert info["outcome"] == "error" and "No space left on device" in info["detail"]
    recorded = (run_dir / "steps.jsonl").read_bytes().count(b"\n") if (run_dir / "steps.jsonl").exists() else 0
    assert recorded < len(points), "the disk never filled: make the tmpfs smaller"
    # The step whose record failed had clicked already; no later step clicked.
    pressed = [(e["x"], e["y"]) for e in app.events_before_click(710, 310) if e["event"] == "press"]
    assert pressed == points[: recorded + 1]


def test_a_read_only_history_folder_is_one_line_and_exit_1(x_display: str, small_tmpfs: Path, tmp_path: Path) -> None:
    (small_tmpfs / "runs").mkdir()
    subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
    script = write_script(tmp_path / "s.jsonl", [DONE])
    result = deskpilot("run", "x", "--script", str(script), "--history-dir", str(small_tmpfs / "runs"))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Read-only file system" in lines[0] and "history folder" in lines[0], result.stderr


def _running_run(root: Path, **writer: object) -> str:
    from agent.records.history import RunRecorder
    from agent.records.schema import RunInfo

    recorder = RunRecorder.start(root, RunInfo(id="", task="open notes", backend="script", model="m", started_at=""))
    run_json = recorder.run_dir / "run.json"
    data = json.loads(run_json.read_text(encoding="utf-8"))
    data.update(writer)
    run_json.write_text(json.dumps(data), encoding="utf-8")
    return recorder.run_dir.name


@pytest.mark.process  # starts and reaps a process to get a pid that is gone
def test_a_run_whose_process_died_is_listed_as_interrupted(tmp_path: Path) -> None:
    from agent.records.history import list_runs, load_run

    dead = subprocess.Popen(["true"])
    dead.wait()  # reaped: its pid names no process now
    killed = _running_run(tmp_path, pid=dead.pid)
    live = _running_run(tmp_path)  # this process: still running
    rebooted = _running_run(tmp_path, pid=os.getpid(), boot_id="an-earlier-boot")
    older = _running_run(tmp_path, pid=None)  # written before runs knew their pid: cannot tell
    outcomes = {run.id: run.outcome for run in list_runs(tmp_path)}
    assert outcomes == {killed: "interrupted", live: "running", rebooted: "interrupted", older: "running"}
    info, _steps = load_run(tmp_path, killed)
    assert info.outcome == "interrupted" and "crash or a kill" in info.detail
    run_json = json.loads((tmp_path / killed / "run.json").read_text(encoding="utf-8"))
    assert run_json["outcome"] == "running"  # a reader says it, and never rewrites the run


@pytest.mark.process
def test_history_shows_a_dead_run_as_interrupted(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    _running_run(tmp_path / "history", pid=dead.pid)
    config = tmp_path / "config.toml"
    config.write_text(f'history_dir = "{tmp_path / "history"}"\n', encoding="utf-8")
    result = deskpilot("history", env=dict(os.environ, DESKPILOT_CONFIG=str(config)))
    assert result.returncode == 0, result.stderr
    assert "interrupted" in result.stdout and "running" not in result.stdout, result.stdout

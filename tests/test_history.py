"""agent.records.history: private run folders, crash-safe steps, lookups, and ``deskpilot history``."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from agent.errors import ConfigError, HistoryError
from agent.records.history import RunRecorder, default_history_dir, list_runs, load_run
from agent.records.schema import ActionRecord, RunInfo, StepRecord
from agent.wording import describe_step
from tests.support import deskpilot

ROOT = Path(__file__).resolve().parent.parent


def run_info(task: str = "Open the notes app", started_at: str = "2025-01-02T13:04:05+00:00") -> RunInfo:
    return RunInfo(
        id="", task=task, backend="script", model="fake-model",
        settings={"max_steps": 20, "dry_run": False}, started_at=started_at,
    )


def step(number: int, **fields: object) -> StepRecord:
    return StepRecord.model_validate(
        {"number": number, "started_at": f"2025-01-02T13:04:{number:02d}+00:00", **fields}
    )


def click(x: int, y: int, **fields: object) -> ActionRecord:
    return ActionRecord.model_validate({
        "model": {"action": "left_click", "coordinate": [500, 500]},
        "screen": {"action": "left_click", "x": x, "y": y},
        "decision": "allow",
        "performed": True,
        **fields,
    })


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)




# --- folders, files and ids -------------------------------------------------------------


def test_default_history_dir_is_in_the_user_data_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_history_dir() == tmp_path / "deskpilot" / "runs"


def test_start_makes_private_folders_and_a_running_run_json(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)  # a typical umask would leave new folders 0755
    try:
        root = tmp_path / "data" / "deskpilot" / "runs"
        recorder = RunRecorder.start(root, run_info())
    finally:
        os.umask(old_umask)
    for folder in (tmp_path / "data", tmp_path / "data" / "deskpilot", root, recorder.run_dir):
        assert mode(folder) == 0o700, folder
    run_json = recorder.run_dir / "run.json"
    assert mode(run_json) == 0o600
    stored = json.loads(run_json.read_text())
    assert stored["outcome"] == "running"
    assert stored["id"] == recorder.run_dir.name == recorder.info.id
    assert stored["task"] == "Open the notes app"


def test_an_existing_root_keeps_its_mode(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    recorder = RunRecorder.start(root, run_info())
    assert mode(root) == 0o755
    assert mode(recorder.run_dir) == 0o700


@pytest.mark.parametrize(
    ("task", "started_at", "run_id"),
    [
        ("Open the notes app", "2025-01-02T13:04:05+00:00", "20250102-130405-open-the-notes-app"),
        ("Open the notes app", "2025-01-02T14:04:05+01:00", "20250102-130405-open-the-notes-app"),
        ("Open the notes app", "2025-01-02T13:04:05", "20250102-130405-open-the-notes-app"),
        ("Save file: ~/Documents/Report (final).txt", "2025-01-02T13:04:05+00:00",
         "20250102-130405-save-file-documents-report-fin"),
        ("Café déjà vu!!", "2025-01-02T13:04:05+00:00", "20250102-130405-cafe-deja-vu"),
        ("打开记事本", "2025-01-02T13:04:05+00:00", "20250102-130405-run"),
        ("", "2025-01-02T13:04:05+00:00", "20250102-130405-run"),
        ("../../etc/passwd", "2025-01-02T13:04:05+00:00", "20250102-130405-etc-passwd"),
        ("a" * 29 + " b", "2025-01-02T13:04:05+00:00", "20250102-130405-" + "a" * 29),
    ],
)
def test_run_ids_are_sortable_and_readable(tmp_path: Path, task: str, started_at: str, run_id: str) -> None:
    recorder = RunRecorder.start(tmp_path, run_info(task, started_at))
    assert recorder.run_dir.name == run_id
    assert recorder.run_dir.parent == tmp_path
    assert len(run_id.split("-", 2)[2]) <= 30


def test_a_taken_id_gets_a_short_suffix(tmp_path: Path) -> None:
    names = [RunRecorder.start(tmp_path, run_info()).run_dir.name for _ in range(3)]
    assert names == [
        "20250102-130405-open-the-notes-app",
        "20250102-130405-open-the-notes-app-2",
        "20250102-130405-open-the-notes-app-3",
    ]


def test_an_empty_start_time_means_now(tmp_path: Path) -> None:
    recorder = RunRecorder.start(tmp_path, run_info(started_at=""))
    assert recorder.info.started_at
    assert recorder.run_dir.name.endswith("-open-the-notes-app")


def test_a_root_that_is_a_file_cannot_record_or_list(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "runs"
    not_a_folder.write_text("")
    with pytest.raises(HistoryError, match="not a folder"):
        RunRecorder.start(not_a_folder, run_info())
    with pytest.raises(ConfigError, match="not a folder"):
        list_runs(not_a_folder)


# --- recording and reading back -----------------------------------------------------------


def test_record_finish_list_load_round_trip(tmp_path: Path) -> None:
    recorder = RunRecorder.start(tmp_path, run_info())
    first = recorder.record_step(
        step(1, thought="Click Save.", actions=[click(812, 440)], timings={"plan_s": 1.25}),
        Image.new("RGB", (16, 9), "red"),
    )
    second = recorder.record_step(step(2, error="unusable answer"), None)
    recorder.finish("success", "the model finished the task (success)")

    assert first.screenshot == "step-0001.png"
    assert second.screenshot == ""
    png = recorder.run_dir / "step-0001.png"
    assert Image.open(png).size == (16, 9)
    for name in ("run.json", "steps.jsonl", "step-0001.png"):
        assert mode(recorder.run_dir / name) == 0o600, name
    assert sorted(p.name for p in recorder.run_dir.iterdir()) == ["run.json", "step-0001.png", "steps.jsonl"]

    info, steps = load_run(tmp_path, recorder.run_dir.name)
    assert steps == [first, second]
    assert info.outcome == "success"
    assert info.detail == "the model finished the task (success)"
    assert info.steps == 2
    assert info.ended_at is not None
    assert info.settings == {"max_steps": 20, "dry_run": False}
    assert list_runs(tmp_path) == [info]


def test_steps_file_is_created_by_the_first_step(tmp_path: Path) -> None:
    recorder = RunRecorder.start(tmp_path, run_info())
    assert not (recorder.run_dir / "steps.jsonl").exists()
    info, steps = load_run(tmp_path, "latest")
    assert (info.outcome, info.steps, steps) == ("running", 0, [])


def test_list_runs_is_newest_first_and_counts_steps_of_unfinished_runs(tmp_path: Path) -> None:
    old = RunRecorder.start(tmp_path, run_info("old", "2024-12-31T23:00:00+00:00"))
    old.finish("failure", "nope")
    new = RunRecorder.start(tmp_path, run_info("new", "2025-01-02T00:00:00+00:00"))
    for n in (1, 2, 3):
        new.record_step(step(n), None)
    middle = RunRecorder.start(tmp_path, run_info("middle", "2025-01-01T00:00:00+00:00"))
    middle.finish("stopped")

    runs = list_runs(tmp_path)
    assert [r.task for r in runs] == ["new", "middle", "old"]
    assert [(r.outcome, r.steps) for r in runs] == [("running", 3), ("stopped", 0), ("failure", 0)]


def test_list_runs_of_a_missing_root_is_empty(tmp_path: Path) -> None:
    assert list_runs(tmp_path / "nothing-here") == []


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "run.json is missing"),
        ("{not json", "run.json is not a valid run record"),
        ('{"id": "x"}', "run.json is not a valid run record: task: Field required"),
        ('{"id": "x", "task": "t", "backend": "b", "model": "m", "started_at": "s", "outcome": "maybe"}',
         "run.json is not a valid run record: outcome:"),
    ],
)
def test_a_broken_run_json_is_listed_as_an_error(tmp_path: Path, content: str | None, problem: str) -> None:
    good = RunRecorder.start(tmp_path, run_info("good", "2025-01-01T00:00:00+00:00"))
    good.finish("success")
    broken = tmp_path / "20250103-000000-broken"
    broken.mkdir()
    if content is not None:
        (broken / "run.json").write_text(content)
    (broken / "steps.jsonl").write_text(step(1).model_dump_json() + "\n")

    runs = list_runs(tmp_path)
    assert [r.id for r in runs] == ["20250103-000000-broken", good.run_dir.name]
    assert runs[0].outcome == "error"
    assert runs[0].detail.startswith(problem)
    assert "\n" not in runs[0].detail
    assert runs[0].steps == 1
    with pytest.raises(ConfigError, match="run 20250103-000000-broken: run.json"):
        load_run(tmp_path, "20250103")


def test_files_and_dot_folders_in_the_root_are_not_runs(tmp_path: Path) -> None:
    RunRecorder.start(tmp_path, run_info())
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / ".trash").mkdir()
    assert [r.task for r in list_runs(tmp_path)] == ["Open the notes app"]


# --- crash safety ---------------------------------------------------------------------------


def test_finish_replaces_run_json_atomically(tmp_path: Path) -> None:
    recorder = RunRecorder.start(tmp_path, run_info())
    run_json = recorder.run_dir / "run.json"
    before = os.stat(run_json).st_ino
    recorder.finish("gave_up", "too many unusable answers")
    # A new file renamed over the old one, not the old one rewritten in place.
    assert os.stat(run_json).st_ino != before
    assert mode(run_json) == 0o600
    assert json.loads(run_json.read_text())["outcome"] == "gave_up"
    assert [p.name for p in recorder.run_dir.iterdir()] == ["run.json"]


def test_a_finish_that_cannot_rename_rewrites_run_json_in_place_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = RunRecorder.start(tmp_path, run_info())

    def full_disk(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    recorder.finish("error", "the disk is full")
    info = json.loads((recorder.run_dir / "run.json").read_text())
    assert (info["outcome"], info["detail"]) == ("error", "the disk is full")
    assert [p.name for p in recorder.run_dir.iterdir()] == ["run.json"]


def test_a_finish_that_cannot_write_at_all_is_a_history_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = RunRecorder.start(tmp_path, run_info())
    old_text = (recorder.run_dir / "run.json").read_text()

    def full_disk(*args: object, **kwargs: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    monkeypatch.setattr("agent.records.history.open_private", full_disk)
    with pytest.raises(HistoryError, match="No space left on device"):
        recorder.finish("success")
    assert (recorder.run_dir / "run.json").read_text() == old_text
    assert [p.name for p in recorder.run_dir.iterdir()] == ["run.json"]


def write_steps(tmp_path: Path, count: int) -> Path:
    recorder = RunRecorder.start(tmp_path, run_info())
    for n in range(1, count + 1):
        recorder.record_step(step(n, thought=f"thought {n}"), None)
    return recorder.run_dir / "steps.jsonl"


def test_a_cut_off_last_line_is_skipped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_steps(tmp_path, 2)
    whole = step(3, thought="the one being written").model_dump_json()
    with path.open("a") as handle:
        handle.write(whole[: len(whole) // 2])
    with caplog.at_level(logging.WARNING, logger="agent.records.history"):
        info, steps = load_run(tmp_path, "latest")
    assert [s.number for s in steps] == [1, 2]
    assert info.steps == 2
    assert "cut-off last line 3" in caplog.text


def test_a_last_line_missing_only_its_newline_is_kept(tmp_path: Path) -> None:
    path = write_steps(tmp_path, 1)
    with path.open("a") as handle:
        handle.write(step(2).model_dump_json())
    _, steps = load_run(tmp_path, "latest")
    assert [s.number for s in steps] == [1, 2]


@pytest.mark.parametrize("bad", ["{garbage", '{"number": 0, "started_at": "x"}', '{"number": 2}'])
def test_a_corrupt_line_in_the_middle_costs_only_that_step(
    tmp_path: Path, bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_steps(tmp_path, 3)
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = bad + "\n"
    path.write_text("".join(lines))
    _, steps = load_run(tmp_path, "latest")
    assert [s.number for s in steps] == [1, 3]
    assert any("skipped line 2, not a valid step" in r.getMessage() for r in caplog.records)


def test_a_corrupt_complete_last_line_is_skipped_too(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_steps(tmp_path, 2)
    with path.open("a") as handle:
        handle.write("{oops}\n")
    _, steps = load_run(tmp_path, "latest")
    assert [s.number for s in steps] == [1, 2]
    assert any("skipped line 3" in r.getMessage() for r in caplog.records)


@pytest.mark.process
def test_history_show_lists_the_steps_around_a_torn_line(tmp_path: Path) -> None:
    path = write_steps(tmp_path, 3)
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = lines[1][: len(lines[1]) // 2] + "\n"  # a write torn in half
    path.write_text("".join(lines))
    result = deskpilot("history", "--history-dir", str(tmp_path), "show", "latest")
    assert result.returncode == 0, result.stderr
    assert "Step 1 " in result.stdout and "Step 3 " in result.stdout and "Step 2 " not in result.stdout
    assert "skipped line 2" in result.stderr


CHILD = """
import sys
from pathlib import Path
from PIL import Image
from agent.records.history import RunRecorder
from agent.records.schema import ActionRecord, RunInfo, StepRecord

info = RunInfo(id="", task="killed mid-run", backend="script", model="fake", started_at="2025-01-02T13:04:05+00:00")
recorder = RunRecorder.start(Path(sys.argv[1]), info)
image = Image.new("RGB", (32, 32), "blue")
action = ActionRecord(model={"action": "type", "text": "x"}, screen={"action": "type", "text": "x"},
                      decision="allow", performed=True)
n = 0
while True:
    n += 1
    # Long records make it likely that the kill lands in the middle of one.
    recorder.record_step(StepRecord(number=n, started_at=info.started_at, raw_text="r" * 20000,
                                    thought=f"step {n}", actions=[action]), image if n % 2 else None)
"""


@pytest.mark.process
def test_a_run_killed_with_sigkill_keeps_every_finished_step(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)], cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        finished = 0
        while finished < 3:
            if time.monotonic() > deadline:
                pytest.fail("the child recorded fewer than 3 steps in 60 s")
            try:
                # Polls the child: returns at once if it died, otherwise paces the loop.
                proc.wait(timeout=0.02)
            except subprocess.TimeoutExpired:
                pass
            else:
                pytest.fail(f"the child exited early: {proc.stderr.read() if proc.stderr else ''}")
            files = list(tmp_path.glob("*/steps.jsonl"))
            finished = files[0].read_bytes().count(b"\n") if files else 0
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        if proc.stderr:
            proc.stderr.close()

    [steps_file] = tmp_path.glob("*/steps.jsonl")
    complete = steps_file.read_bytes().count(b"\n")
    assert complete >= 3
    info, steps = load_run(tmp_path, "latest")
    # Every finished line comes back (a line cut short by the kill is dropped, never garbled).
    assert len(steps) in (complete, complete + 1)
    assert [s.number for s in steps] == list(range(1, len(steps) + 1))
    assert all(s.thought == f"step {s.number}" and len(s.raw_text) == 20000 for s in steps)
    for s in steps:
        if s.screenshot:
            assert Image.open(steps_file.parent / s.screenshot).size == (32, 32)
    assert info.outcome == "interrupted"  # run.json still says "running"; its process is gone
    assert info.steps == len(steps)
    [listed] = list_runs(tmp_path)
    assert (listed.outcome, listed.steps) == ("interrupted", complete)


# --- lookups ----------------------------------------------------------------------------------


@pytest.fixture
def three_runs(tmp_path: Path) -> Path:
    for task, started in [
        ("write a letter", "2025-01-01T09:00:00+00:00"),
        ("write a poem", "2025-01-01T09:30:00+00:00"),
        ("check the mail", "2025-02-01T08:00:00+00:00"),
    ]:
        RunRecorder.start(tmp_path, run_info(task, started)).finish("success")
    return tmp_path


@pytest.mark.parametrize(
    ("asked", "task"),
    [
        ("20250101-090000-write-a-letter", "write a letter"),
        ("20250101-0930", "write a poem"),
        ("202502", "check the mail"),
        ("latest", "check the mail"),
    ],
)
def test_load_run_by_id_prefix_or_latest(three_runs: Path, asked: str, task: str) -> None:
    info, _ = load_run(three_runs, asked)
    assert info.task == task


def test_an_ambiguous_prefix_names_the_candidates(three_runs: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_run(three_runs, "20250101")
    assert str(err.value) == (
        "20250101 matches several runs: 20250101-090000-write-a-letter, 20250101-093000-write-a-poem"
    )


def test_an_exact_id_wins_over_a_longer_one_it_prefixes(tmp_path: Path) -> None:
    first = RunRecorder.start(tmp_path, run_info())
    RunRecorder.start(tmp_path, run_info())  # ...-open-the-notes-app-2 starts with the first's id
    info, _ = load_run(tmp_path, first.run_dir.name)
    assert info.id == first.run_dir.name


@pytest.mark.parametrize("asked", ["2030", "nope", "../three_runs", "/etc"])
def test_an_unknown_run_is_a_config_error(three_runs: Path, asked: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"no run {asked} in {three_runs}")):
        load_run(three_runs, asked)


def test_latest_in_an_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no runs yet in"):
        load_run(tmp_path, "latest")


# --- describe_step ------------------------------------------------------------------------------


def test_describe_step_in_words() -> None:
    record = step(
        3,
        thought="I will click Save.\nThen type the name.",
        actions=[
            click(812, 440),
            ActionRecord(model={}, screen={"action": "type", "text": "hello"}, decision="confirm",
                         reason="typing into a terminal", confirmation="approved", performed=True),
            ActionRecord(model={}, screen={"action": "key", "keys": ["ctrl", "s"]}, decision="confirm",
                         confirmation="rejected", note="not yet"),
            ActionRecord(model={}, screen={"action": "key", "keys": ["ctrl", "alt", "delete"]}, decision="deny",
                         reason="a denied chord"),
            click(5, 5, performed=False, error="the pointer did not arrive"),
        ],
        timings={"capture_s": 0.125, "plan_s": 3.4},
        screenshot="step-0003.png",
    )
    assert describe_step(record) == [
        "Step 3  Click at (812, 440)  allowed, performed",
        "        Type 'hello'  asked (typing into a terminal), approved, performed",
        "        Press ctrl+s  asked, rejected, not performed  note: not yet",
        "        Press ctrl+alt+delete  denied (a denied chord), not performed",
        "        Click at (5, 5)  allowed, failed: the pointer did not arrive",
        "        thought: I will click Save.",
        "        timings: capture 0.12 s, plan 3.40 s",
        "        screenshot: step-0003.png",
    ]


def test_describe_a_step_without_actions() -> None:
    lines = describe_step(step(1, error="no <tool_call> in the answer", thought="\n\n  " + "long " * 50))
    assert lines[0] == "Step 1  no action"
    assert lines[1] == "        error: no <tool_call> in the answer"
    assert lines[2].startswith("        thought: long long")
    assert lines[2].endswith("…")
    assert len(lines[2]) == len("        thought: ") + 100


# --- deskpilot history --------------------------------------------------------------------------


@pytest.mark.process
def test_cli_history_lists_runs_newest_first(three_runs: Path) -> None:
    result = deskpilot("history", "--history-dir", str(three_runs))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [
        "20250201-080000-check-the-mail",
        "20250101-093000-write-a-poem",
        "20250101-090000-write-a-letter",
    ]
    assert "success" in lines[0]
    assert "0 steps" in lines[0]
    assert lines[0].endswith("check the mail")


@pytest.mark.process
def test_cli_history_in_an_empty_folder(tmp_path: Path) -> None:
    result = deskpilot("history", "--history-dir", str(tmp_path / "none"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"no runs yet in {tmp_path / 'none'}\n"


@pytest.mark.process
def test_cli_history_defaults_to_the_user_data_folder(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path), "DESKPILOT_CONFIG": str(tmp_path / "no-config.toml")}
    result = deskpilot("history", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"no runs yet in {tmp_path / 'deskpilot' / 'runs'}\n"


@pytest.mark.process
def test_cli_history_reads_the_folder_the_config_file_names(three_runs: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    config = tmp_path_factory.mktemp("config") / "config.toml"
    config.write_text(f"history_dir = {json.dumps(str(three_runs))}\n")
    env = {**os.environ, "DESKPILOT_CONFIG": str(config)}
    result = deskpilot("history", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("20250201-080000-check-the-mail")
    # --history-dir still wins over the file.
    other = deskpilot("history", "--history-dir", str(three_runs / "elsewhere"), env=env)
    assert other.stdout == f"no runs yet in {three_runs / 'elsewhere'}\n"


@pytest.mark.process
@pytest.mark.parametrize("dir_first", [True, False])
def test_cli_history_show(tmp_path: Path, dir_first: bool) -> None:
    recorder = RunRecorder.start(tmp_path, run_info())
    recorder.record_step(step(1, thought="Click Save.", actions=[click(812, 440)]), None)
    recorder.record_step(step(2, actions=[ActionRecord(
        model={}, screen={"action": "terminate", "status": "success"}, decision="allow", performed=True)]), None)
    recorder.finish("success", "the model finished the task (success)")

    where = ["--history-dir", str(tmp_path)]
    args = [*where, "show", "latest"] if dir_first else ["show", "20250102", *where]
    result = deskpilot("history", *args)
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0] == "Run 20250102-130405-open-the-notes-app"
    assert "  task:     Open the notes app" in out
    assert "  model:    fake-model" in out
    assert "  backend:  script" in out
    assert "  outcome:  success: the model finished the task (success)" in out
    assert "  steps:    2" in out
    assert "  settings: max_steps=20, dry_run=false" in out
    assert "Step 1  Click at (812, 440)  allowed, performed" in out
    assert "        thought: Click Save." in out
    assert "Step 2  Finish (success)  allowed, performed" in out


@pytest.mark.process
def test_cli_history_show_a_killed_run(tmp_path: Path) -> None:
    recorder = RunRecorder.start(tmp_path, run_info())
    recorder.record_step(step(1), None)
    with (recorder.run_dir / "steps.jsonl").open("a") as handle:
        handle.write('{"number": 2, "start')
    result = deskpilot("history", "show", "latest", "--history-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "  outcome:  running" in result.stdout.splitlines()
    assert "  ended:    -" in result.stdout.splitlines()
    assert "Step 1  no action" in result.stdout
    assert "Step 2" not in result.stdout
    assert "cut-off last line 2" in result.stderr


@pytest.mark.process
@pytest.mark.parametrize(
    ("asked", "message"),
    [("nope", "no run nope in {root}"), ("2025", "2025 matches several runs: "), ("latest", None)],
)
def test_cli_history_show_a_bad_run_is_one_line_and_exit_2(three_runs: Path, asked: str, message: str | None) -> None:
    root = three_runs if message else three_runs / "empty"
    result = deskpilot("history", "show", asked, "--history-dir", str(root))
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    expected = message.format(root=root) if message else f"no runs yet in {root}"
    assert result.stderr.startswith(f"deskpilot: error: {expected}")


@pytest.mark.process
def test_cli_history_show_needs_a_run(tmp_path: Path) -> None:
    result = deskpilot("history", "show", "--history-dir", str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_prune_runs_keeps_the_newest_and_never_a_running_one(tmp_path: Path) -> None:
    from agent.records.history import RunRecorder, list_runs, prune_runs
    from agent.records.schema import RunInfo

    ids = []
    for second in range(5):
        rec = RunRecorder.start(tmp_path, RunInfo(id="", task=f"t{second}", backend="script", model="m",
                                                  started_at=f"2026-11-24T10:00:0{second}+00:00"))
        if second != 0:
            rec.finish("success", "")
        ids.append(rec.info.id)
    removed = prune_runs(tmp_path, 2)
    assert sorted(removed) == sorted(ids[1:3])  # the oldest (ids[0]) is still running: kept
    assert [r.id for r in list_runs(tmp_path)] == [ids[4], ids[3], ids[0]]
    assert prune_runs(tmp_path, 0) == []

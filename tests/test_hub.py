"""Finding and fetching a model's files (hub.py, download.py): pure helpers as tables, real downloads from a loopback Hub."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from agent.backends.download import download_line, format_bytes, format_duration
from agent.backends.hub import (
    fetch,
    find_local,
    hf_command,
    is_hub_id,
    looks_like_path,
    missing_files,
    not_here_message,
    resolve_model,
)
from agent.errors import BackendError, StoppedError
from agent.progress import LineProgress, ProgressUpdate
from agent.testing.hub import FakeHub

ROOT = Path(__file__).resolve().parent.parent
REPO = "deskpilot-test/tiny-qwen3vl"

# ---------------------------------------------------------------------------- pure parts


@pytest.mark.parametrize(
    ("model", "path", "hub_id"),
    [
        ("Qwen/Qwen3-VL-8B-Instruct", False, True),
        ("./models/qwen", True, False),
        ("/opt/models/qwen", True, False),
        ("~/qwen", True, False),
        ("a/b/c", True, False),
        ("just-a-name", False, False),
        ("owner/../etc", True, False),
        ("owner/name with space", False, False),
    ],
)
def test_paths_and_hub_ids_are_told_apart(model: str, path: bool, hub_id: bool) -> None:
    assert looks_like_path(model) is path
    assert is_hub_id(model) is hub_id


@pytest.mark.parametrize(
    ("executable", "exists", "expected"),
    [
        ("/home/u/deskpilot/.venv/bin/python", True, "/home/u/deskpilot/.venv/bin/hf"),
        ("/usr/bin/python3", False, "hf"),
    ],
)
def test_the_hf_command_is_the_one_next_to_this_python(executable: str, exists: bool, expected: str) -> None:
    assert hf_command(executable, lambda _p: exists) == expected


INDEX = json.dumps({"weight_map": {"a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors"}})


@pytest.mark.parametrize(
    ("present", "index", "missing"),
    [
        ({"config.json", "model.safetensors"}, None, []),
        ({"model.safetensors"}, None, ["config.json"]),
        ({"config.json"}, None, ["model.safetensors"]),
        ({"config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}, INDEX, []),
        ({"config.json", "model-00001-of-00002.safetensors"}, INDEX, ["model-00002-of-00002.safetensors"]),
        ({"config.json"}, "{not json", ["model.safetensors.index.json (unreadable)"]),
    ],
)
def test_a_folder_is_complete_only_with_config_and_every_shard(present: set[str], index: str | None, missing: list[str]) -> None:
    assert missing_files(present, index) == missing


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0 B"), (999, "999 B"), (1500, "1.5 kB"), (2_000_000, "2.0 MB"), (17_500_000_000, "17.5 GB")],
)
def test_format_bytes(count: int, text: str) -> None:
    assert format_bytes(count) == text


@pytest.mark.parametrize(("seconds", "text"), [(0.4, "0 s"), (59, "59 s"), (61, "1 min 01 s"), (3725, "1 h 02 min")])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("done", "total", "elapsed", "text"),
    [
        (1_200_000_000, 17_500_000_000, 30.0, "downloading M: 1.2 GB of 17.5 GB (6%), 40.0 MB/s, 6 min 48 s left"),
        (1_000, 2_000_000, 0.2, "downloading M: 1.0 kB of 2.0 MB (0%)"),  # no rate from the first fraction of a second
        (2_000_000, None, 2.0, "downloading M: 2.0 MB, 1.0 MB/s"),
        (2_000_000, 2_000_000, 2.0, "downloading M: 2.0 MB of 2.0 MB (100%), 1.0 MB/s"),
    ],
)
def test_download_line_says_size_speed_and_time_left(done: int, total: int | None, elapsed: float, text: str) -> None:
    assert download_line("M", done, total, elapsed) == text


def test_the_not_here_message_is_one_line_naming_model_and_command() -> None:
    line = not_here_message("o/m", "downloads are off", "/v/bin/hf")
    assert "\n" not in line and "o/m is not on this machine" in line and "`/v/bin/hf download o/m`" in line
    partial = not_here_message("o/m", "downloads are off", "hf", ["model.safetensors"])
    assert "the cached copy of o/m is incomplete (missing model.safetensors)" in partial


def test_a_terminal_sees_updates_overwrite_one_line() -> None:
    out = io.StringIO()
    say = LineProgress(out, tty=True)
    say("starting")
    say(ProgressUpdate("10%"))
    say(ProgressUpdate("20%"))
    say("done")
    assert out.getvalue() == "starting\n\r10%\x1b[K\r20%\x1b[K\ndone\n"


def test_a_pipe_gets_a_few_update_lines_and_always_the_last() -> None:
    out = io.StringIO()
    say = LineProgress(out, tty=False, every=3)
    for n in range(1, 6):
        say(ProgressUpdate(f"{n}"))
    say("done")
    assert out.getvalue().splitlines() == ["1", "4", "5", "done"]


# ---------------------------------------------------------------------------- the loopback Hub


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty Hub cache, with huggingface_hub's offline switch (on for the suite) off: the
    only server these tests reach is the loopback one."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    return str(tmp_path / "hub-cache")


def _same_files(folder: Path, source: Path) -> None:
    for file in source.iterdir():
        assert (folder / file.name).read_bytes() == file.read_bytes(), file.name


def test_a_hub_id_downloads_with_progress_then_loads_from_the_cache_offline(tiny_model_dir: Path, cache: str) -> None:
    messages: list[str] = []
    with FakeHub({REPO: tiny_model_dir}, bytes_per_second=0.8e6) as hub:
        got = resolve_model(REPO, progress=messages.append, offline=False, cache_dir=cache, endpoint=hub.endpoint)
        asked = len(hub.requests)
        again = find_local(REPO, offline=True, cache_dir=cache)
        assert len(hub.requests) == asked, "a complete cached snapshot must need no network"
    assert got.source.value == "downloaded"
    _same_files(got.path, tiny_model_dir)
    assert again is not None and again.source.value == "Hugging Face cache" and again.path == got.path
    assert messages[0].startswith(f"downloading {REPO} (2.0 MB) into {cache}")
    updates = [m for m in messages if isinstance(m, ProgressUpdate)]
    assert len(updates) >= 2
    assert "of 2.0 MB" in updates[0] and updates[-1].startswith(f"downloading {REPO}: 2.0 MB of 2.0 MB (100%), ")
    assert any("/s, " in u and " left" in u for u in updates), updates  # speed and time left mid-download


def test_stopping_mid_file_leaves_nothing_a_later_run_takes_for_complete(tiny_model_dir: Path, cache: str) -> None:
    cancel = threading.Event()
    with FakeHub({REPO: tiny_model_dir}, hold_at=1_200_000) as hub:

        def stop_when_held() -> None:
            if hub.held.wait(30):
                cancel.set()
                hub.release.set()

        stopper = threading.Thread(target=stop_when_held)
        stopper.start()
        with pytest.raises(StoppedError):
            fetch(REPO, progress=lambda _m: None, cancel=cancel, cache_dir=cache, endpoint=hub.endpoint)
        stopper.join(10)
        assert hub.held.is_set(), "the download never reached the middle of the weights"

        repo_dir = Path(cache) / "models--deskpilot-test--tiny-qwen3vl"
        assert not list(repo_dir.rglob("*.incomplete")), "a half-written temporary file stayed behind"
        for snapshot_file in (repo_dir / "snapshots").rglob("*"):
            if snapshot_file.is_file():  # whatever was published is whole
                assert snapshot_file.read_bytes() == (tiny_model_dir / snapshot_file.name).read_bytes()
        with pytest.raises(BackendError, match=r"incomplete \(missing [^)]*model\.safetensors"):
            find_local(REPO, offline=True, cache_dir=cache)

        hub.hold_at = None
        resumed = resolve_model(REPO, progress=lambda _m: None, offline=False, cache_dir=cache, endpoint=hub.endpoint)
    _same_files(resumed.path, tiny_model_dir)


@pytest.mark.parametrize(
    ("repo", "fragment"),
    [
        ("someone/not-here", "not a model on the Hugging Face Hub"),
        ("someone/gated", "is gated: accept its terms"),
    ],
)
def test_the_hub_saying_no_is_one_line(tiny_model_dir: Path, cache: str, repo: str, fragment: str) -> None:
    with FakeHub({REPO: tiny_model_dir}, gated={"someone/gated"}) as hub, pytest.raises(BackendError) as info:
        resolve_model(repo, progress=lambda _m: None, offline=False, cache_dir=cache, endpoint=hub.endpoint)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_hub_is_one_line_naming_the_command(cache: str) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(BackendError) as info:
        resolve_model("someone/not-here", progress=lambda _m: None, offline=False, cache_dir=cache, endpoint=endpoint)
    text = str(info.value)
    assert "someone/not-here is not on this machine and the Hub cannot be reached" in text
    assert f"`{hf_command()} download someone/not-here`" in text and "\n" not in text


# ---------------------------------------------------------------------------- the CLI


def _run_cli(tmp_path: Path, model: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    full_env.update(
        {"HF_HOME": str(tmp_path / "hf-home"), "DESKPILOT_CONFIG": str(tmp_path / "no-config.toml"), **env}
    )
    return subprocess.run(
        [sys.executable, "-m", "agent", "run", "x", "--model", model, "--history-dir", str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=ROOT,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "why"),
    [
        ({"HF_HUB_OFFLINE": "1"}, "downloads are off (HF_HUB_OFFLINE=1)"),
        ({"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": "http://127.0.0.1:{port}"}, "the Hub cannot be reached"),
    ],
)
def test_deskpilot_run_with_a_model_not_here_fails_with_one_line(tmp_path: Path, env: dict[str, str], why: str, x_display: str) -> None:
    env = {k: v.format(port=_closed_port()) for k, v in env.items()}
    result = _run_cli(tmp_path, "someone/not-here", **env)
    assert result.returncode == 1  # the model is not here: a failure, as from every command (EXIT_CODES)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "someone/not-here is not on this machine" in lines[0] and why in lines[0]
    assert f"`{Path(sys.executable).parent / 'hf'} download someone/not-here`" in lines[0]


@pytest.mark.process
def test_a_library_warning_is_printed_once(tmp_path: Path) -> None:
    code = (
        "from agent.cli.main import _configure_logging\n"
        "_configure_logging(False)\n"
        "from huggingface_hub.utils import logging as hub_logging\n"
        "import logging\n"
        "hub_logging.get_logger('huggingface_hub.utils._http').warning('retrying soon')\n"
        "logging.getLogger('some.library').warning('plain library warning')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("retrying soon") == 1, result.stderr
    assert result.stderr.count("plain library warning") == 1, result.stderr


def test_ctrl_c_during_a_download_stops_it_and_publishes_no_partial_file(tiny_model_dir: Path, tmp_path: Path) -> None:
    with FakeHub({REPO: tiny_model_dir}, hold_at=1_200_000) as hub:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
        env.update(HF_HOME=str(tmp_path / "hf"), HF_ENDPOINT=hub.endpoint, HF_HUB_OFFLINE="0", DESKPILOT_CONFIG=str(tmp_path / "none.toml"))
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "run", "x", "--model", REPO, "--history-dir", str(tmp_path / "runs")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
        )
        try:
            assert hub.held.wait(120), "the download never reached the middle of the weights"
            proc.send_signal(signal.SIGINT)
            # The rest trickles in slowly, so the stop is seen before the file could complete.
            hub.bytes_per_second = 0.4e6
            hub.release.set()
            _, stderr = proc.communicate(timeout=60)
        finally:
            proc.kill()
    assert proc.returncode == 3, stderr
    assert stderr.splitlines()[-1] == "deskpilot: stopped: stopped while getting the model"
    repo_dir = tmp_path / "hf" / "hub" / "models--deskpilot-test--tiny-qwen3vl"
    assert not list(repo_dir.rglob("*.incomplete"))
    assert not list(repo_dir.rglob("model.safetensors")), "a stopped download published the weights"

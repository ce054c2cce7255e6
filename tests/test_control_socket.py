"""The stop socket every Wayland kill chord goes through: who may stop a run, and what `deskpilot stop` says."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.cli.main import main
from agent.computers.control_socket import StopListener, send_stop, socket_path, stop_command
from agent.errors import DisplayError


@pytest.fixture
def folder() -> Iterator[Path]:
    # Short, under /var/tmp: unix socket paths are limited to 107 bytes.
    path = Path(tempfile.mkdtemp(prefix="dpstop-", dir="/var/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def listener(folder: Path) -> Iterator[tuple[StopListener, threading.Event]]:
    stopped = threading.Event()
    found = StopListener(stopped.set, folder / "deskpilot" / "stop.sock")
    found.start()
    yield found, stopped
    assert found.stop() and not found.is_alive()


def test_the_socket_is_per_user_under_the_runtime_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert socket_path() == Path("/run/user/1000/deskpilot/stop.sock")
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert socket_path().parent.parent.name == f"deskpilot-{os.getuid()}"


def test_a_stop_reaches_the_listener_and_says_so(listener: tuple[StopListener, threading.Event]) -> None:
    found, stopped = listener
    assert stat.S_IMODE(found.path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(found.path.stat().st_mode) == 0o600
    assert send_stop(found.path, probe=True) and not stopped.is_set()  # a probe stops nothing
    assert send_stop(found.path) and stopped.is_set()


def test_nobody_listening_is_false(folder: Path) -> None:
    assert not send_stop(folder / "stop.sock", timeout_s=0.2)


def test_a_second_run_is_refused_and_a_stale_socket_replaced(
    listener: tuple[StopListener, threading.Event], folder: Path
) -> None:
    found, _ = listener
    with pytest.raises(DisplayError, match="already listening"):
        StopListener(lambda: None, found.path).start()
    # A socket file with nobody behind it (a run killed with -9) is taken over.
    stale = folder / "stale" / "stop.sock"
    stale.parent.mkdir()
    import socket

    with socket.socket(socket.AF_UNIX) as orphan:
        orphan.bind(str(stale))
    fresh = StopListener(lambda: None, stale)
    fresh.start()
    try:
        assert send_stop(stale, probe=True)
    finally:
        fresh.stop()
    assert not stale.exists()


def test_the_cli_stop_exits_0_when_it_stopped_a_run_and_1_when_none_ran(
    listener: tuple[StopListener, threading.Event], folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found, stopped = listener
    assert main(["stop", "--socket", str(found.path)]) == 0 and stopped.is_set()
    assert main(["stop", "--socket", str(folder / "none.sock")]) == 1
    assert "no run is listening" in capsys.readouterr().err


@pytest.mark.process
def test_the_chord_command_stops_a_run_from_a_bare_interpreter(
    listener: tuple[StopListener, threading.Event],
) -> None:
    found, stopped = listener
    argv = stop_command(found.path)
    assert argv[:2] == [sys.executable, "-S"]  # no site packages: the chord costs one bare start
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, env={})
    assert done.returncode == 0, done.stderr
    assert stopped.is_set()


@pytest.mark.process
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the sender as another user")
def test_another_user_cannot_stop_the_run(listener: tuple[StopListener, threading.Event]) -> None:
    found, stopped = listener
    # Open the folder and socket to everyone, so only the SO_PEERCRED check is left.
    found.path.parent.chmod(0o755)
    found.path.chmod(0o777)
    found.path.parent.parent.chmod(0o755)
    # A copy of the sender the other user can read (the checkout itself may be closed to it).
    script = Path(shutil.copy(stop_command()[2], found.path.parent))
    script.chmod(0o644)
    sender = ["/usr/bin/python3", "-S", str(script), "--socket", str(found.path)]
    done = subprocess.run(["runuser", "-u", "nobody", "--", *sender], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1, done.stderr
    assert not stopped.is_set()
    assert send_stop(found.path) and stopped.is_set()  # the same user still can

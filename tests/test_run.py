"""``deskpilot run`` end to end on a real X display: real xterm and Qt windows, xdotool input."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.records.history import list_runs, load_run
from tests.conftest import require_program, xdotool
from tests.support import model_point, wait_until

pytestmark = pytest.mark.e2e  # drives a whole Deskpilot program from outside


def call(args: str) -> str:
    return f'<tool_call>\n{{"name": "computer_use", "arguments": {args}}}\n</tool_call>'


DONE = call('{"action": "terminate", "status": "success"}')


class Run:
    """A `deskpilot run` process whose stderr lines arrive on a queue."""

    def __init__(self, tmp: Path, replies: list[str], *extra: str, task: str = "test task") -> None:
        script = tmp / "script.jsonl"
        script.write_text("".join(json.dumps({"reply": r}) + "\n" for r in replies), encoding="utf-8")
        self.history = tmp / "history"
        env = dict(os.environ, DESKPILOT_CONFIG=str(tmp / "no-config.toml"), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "run", task, "--backend", "script", "--script", str(script),
             "--history-dir", str(self.history), *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_for(self, fragment: str, timeout: float = 30) -> str:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {fragment!r} in {timeout}s; saw: {''.join(self.seen)}") from None
            self.seen.append(line)
            if fragment in line:
                return line

    def answer(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        out = self.proc.stdout.read() if self.proc.stdout else ""
        code = self.proc.wait(timeout=timeout)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code, out, "".join(self.seen)


@pytest.fixture
def shell_xterm(x_display: str, tmp_path: Path) -> Iterator[tuple[int, int]]:
    """A real xterm running a shell at a known place; yields a point inside it."""
    require_program("xterm")
    env = dict(os.environ, LC_ALL="C.UTF-8", PS1="$ ", HOME=str(tmp_path))
    term = subprocess.Popen(
        ["xterm", "-T", "deskpilot-shell", "-geometry", "80x12+300+500", "-e", "sh"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    xdotool("search", "--sync", "--onlyvisible", "--name", "deskpilot-shell")
    yield (500, 560)
    term.terminate()
    term.wait(timeout=10)
    xdotool("mousemove", "960", "540")


def test_scripted_run_types_a_command_into_a_real_xterm(shell_xterm: tuple[int, int], tmp_path: Path) -> None:
    target = tmp_path / "made-by-deskpilot.txt"
    replies = [
        call('{"action": "left_click", "coordinate": ' + model_point(*shell_xterm) + "}"),
        call('{"action": "type", "text": "echo hello from deskpilot > ' + str(target) + '"}'),
        call('{"action": "key", "keys": ["Return"]}'),  # one call per answer
        DONE,
    ]
    run = Run(tmp_path, replies)
    run.wait_for("Kill hotkey: ctrl+alt+k")
    run.wait_for("Deskpilot wants to: Press enter")  # Enter is risky: the terminal asks
    run.answer("y")
    code, _, err = run.finish()
    assert code == 0, err
    assert wait_until(lambda: target.exists() and target.read_text() == "hello from deskpilot\n")
    info, steps = load_run(run.history, "latest")
    assert info.outcome == "success" and [len(s.actions) for s in steps] == [1, 1, 1, 1]
    assert steps[2].actions[0].confirmation == "approved" and steps[2].actions[0].performed


def test_kill_hotkey_during_a_wait_exits_3_and_nothing_runs_after(shell_xterm: tuple[int, int], tmp_path: Path) -> None:
    target = tmp_path / "must-not-exist.txt"
    replies = [
        call('{"action": "left_click", "coordinate": ' + model_point(*shell_xterm) + "}"),
        call('{"action": "wait", "time": 30}'),
        # The leading newline runs whatever the hotkey's own keys left on the shell's line,
        # so a touch typed after the stop would really run: the check below can fail.
        call('{"action": "type", "text": "\\ntouch ' + str(target) + '\\n"}'),
        DONE,
    ]
    run = Run(tmp_path, replies, "--confirm", "never")
    run.wait_for("Wait 30 s")
    xdotool("key", "ctrl+alt+k")
    code, _, err = run.finish(timeout=20)
    assert code == 3, err
    info, steps = load_run(run.history, "latest")
    assert info.outcome == "stopped"
    assert all(not a.performed for s in steps[1:] for a in s.actions)
    # A marker command typed into the same terminal after the run: the shell runs its
    # input in order, so once the marker exists a command typed before it would have run.
    marker = tmp_path / "marker.txt"
    xdotool("mousemove", *map(str, shell_xterm))
    xdotool("key", "ctrl+u")  # the terminal's line kill: drop what the hotkey typed there
    xdotool("type", "--delay", "5", f"touch {marker}\n")
    assert wait_until(marker.exists)
    assert not target.exists()


def test_three_garbage_replies_exit_1_with_nothing_performed(probe, tmp_path: Path) -> None:
    app = probe("--geometry", "400x300+700+300")
    run = Run(tmp_path, ["I think I should click.", "<tool_call>{oops}</tool_call>", '{"action": "warp"}', DONE])
    code, _, err = run.finish()
    assert code == 1 and "3 unusable answers in a row" in err and "Traceback" not in err
    assert app.events_before_click(710, 310) == []


def test_a_denied_chord_is_never_sent(probe, tmp_path: Path) -> None:
    app = probe("--geometry", "400x300+700+300")
    replies = [
        call('{"action": "left_click", "coordinate": ' + model_point(800, 400) + "}"),
        call('{"action": "key", "keys": ["ctrl", "alt", "backspace"]}'),
        call('{"action": "type", "text": "ok"}'),
        DONE,
    ]
    run = Run(tmp_path, replies, "--confirm", "never")
    code, _, err = run.finish()
    assert code == 0, err
    assert app.wait_for("press")["x"] == 800
    keys = [app.wait_for("key") for _ in range(2)]
    assert [k["text"] for k in keys] == ["o", "k"]  # the first key events are the typed text
    _, steps = load_run(run.history, "latest")
    denied = steps[1].actions[0]
    assert denied.decision == "deny" and not denied.performed


def test_dry_run_performs_nothing(probe, tmp_path: Path) -> None:
    app = probe("--geometry", "400x300+700+300")
    replies = [call('{"action": "left_click", "coordinate": ' + model_point(800, 400) + "}"), DONE]
    run = Run(tmp_path, replies, "--dry-run")
    code, _, err = run.finish()
    assert code == 0 and "Dry run" in err
    assert app.events_before_click(710, 310) == []  # the planned click never arrived
    _, steps = load_run(run.history, "latest")
    assert steps[0].actions[0].confirmation == "dry_run"


def test_tiny_model_run_with_two_steps_ends_cleanly(x_display: str, tiny_model_dir: Path, tmp_path: Path) -> None:
    env = dict(os.environ, DESKPILOT_CONFIG=str(tmp_path / "none.toml"))
    result = subprocess.run(
        [sys.executable, "-m", "agent", "run", "open the editor", "--backend", "local", "--model", str(tiny_model_dir),
         "--precision", "fp32", "--max-steps", "2", "--history-dir", str(tmp_path / "h")],
        capture_output=True, text=True, timeout=300, env=env, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1, result.stderr
    assert "reached the step limit (2)" in result.stderr and "Traceback" not in result.stderr
    _, steps = load_run(tmp_path / "h", "latest")
    assert len(steps) == 2 and all(s.raw_text and s.error for s in steps)


def test_sigkill_leaves_every_finished_step_readable(x_display: str, tmp_path: Path) -> None:
    replies = [call('{"action": "wait", "time": 0.05}')] * 200
    run = Run(tmp_path, replies, "--confirm", "never", "--max-steps", "200")
    steps_file: list[Path] = []

    def three_steps() -> bool:
        runs = list(run.history.glob("*/steps.jsonl"))
        steps_file[:] = runs
        return bool(runs) and runs[0].read_bytes().count(b"\n") >= 3

    assert wait_until(three_steps, timeout=60)
    run.proc.send_signal(signal.SIGKILL)
    run.proc.wait(timeout=10)
    info = list_runs(run.history)[0]
    _, steps = load_run(run.history, info.id)
    assert len(steps) >= 3
    assert [s.number for s in steps] == list(range(1, len(steps) + 1))


def test_user_input_during_a_wait_pauses_the_run(x_display: str, tmp_path: Path) -> None:
    replies = [call('{"action": "wait", "time": 30}'), DONE]
    run = Run(tmp_path, replies, "--confirm", "never")
    run.wait_for("Wait 30 s")
    xdotool("mousemove", "300", "300")
    xdotool("mousemove", "320", "330")
    run.wait_for("Paused: user input detected")
    run.answer("q")
    code, _, err = run.finish(timeout=20)
    assert code == 3, err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--script", "/nonexistent.jsonl"], "does not exist"),
        (["--kill-hotkey", "k"], "hotkey"),
        (["--max-steps", "0"], "--max-steps"),
    ],
)
def test_bad_run_options_exit_2(x_display: str, tmp_path: Path, args: list[str], fragment: str) -> None:
    env = dict(os.environ, DESKPILOT_CONFIG=str(tmp_path / "none.toml"))
    script = tmp_path / "s.jsonl"
    script.write_text(json.dumps({"reply": DONE}) + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "agent", "run", "t", "--backend", "script", "--script", str(script),
         "--history-dir", str(tmp_path / "h"), *args],
        capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2 and fragment in result.stderr and "Traceback" not in result.stderr


def test_corrupt_config_file_is_reported_with_its_line(x_display: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('model = "x"\nmax_steps = = 3\n', encoding="utf-8")
    env = dict(os.environ, DESKPILOT_CONFIG=str(config))
    result = subprocess.run([sys.executable, "-m", "agent", "run", "t"], capture_output=True, text=True,
                            timeout=60, env=env, stdin=subprocess.DEVNULL)
    assert result.returncode == 2 and "line 2" in result.stderr and "Traceback" not in result.stderr
    assert config.read_text(encoding="utf-8") == 'model = "x"\nmax_steps = = 3\n'


def test_typing_an_answer_to_a_confirmation_is_not_a_takeover(probe, tmp_path: Path) -> None:
    """Regression: keystrokes the user makes to answer a prompt must not pause the run."""
    probe("--geometry", "400x300+700+300")
    replies = [call('{"action": "key", "keys": ["Return"]}'), DONE]
    run = Run(tmp_path, replies)
    run.wait_for("Deskpilot wants to: Press enter")
    xdotool("mousemove", "10", "10")
    xdotool("key", "y", "Return")  # what typing "y⏎" into a terminal window looks like to X
    run.answer("y")
    code, _, err = run.finish()
    assert code == 0, err
    assert "Paused" not in err


def test_ctrl_c_in_the_terminal_stops_the_run_with_exit_3(x_display: str, tmp_path: Path) -> None:
    replies = [call('{"action": "wait", "time": 30}'), call('{"action": "type", "text": "late"}'), DONE]
    run = Run(tmp_path, replies, "--confirm", "never")
    run.wait_for("Wait 30 s")
    run.proc.send_signal(signal.SIGINT)
    code, _, err = run.finish(timeout=20)
    assert code == 3, err
    _, steps = load_run(run.history, "latest")
    assert not any(a.performed for s in steps for a in s.actions)

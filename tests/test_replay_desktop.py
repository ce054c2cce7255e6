"""``deskpilot run`` replaying a task that succeeded before, on a real X display with a real Qt window.

The model is a loopback OpenAI-compatible server that counts every request; the
window reports every click and every Enter in its field. The first run asks the
model; the window then moves; the second run must make no request at all and still
click the moved field and button; with the Save button gone, the third run replays
the steps before it and asks the model from that step, its replayed steps in the prompt.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.records.history import list_runs, load_run
from agent.testing.chat_server import CannedChatServer, request_text, serving
from tests.support import ROOT, call, model_point
from tests.test_macro_desktop import ButtonApp, app, clicks  # noqa: F401 (app is a fixture)

pytestmark = pytest.mark.e2e  # drives a whole Deskpilot program from outside

TASK = "type hello into the customer name field and save it"
DONE = call('{"action": "terminate", "status": "success"}')


def click(x: int, y: int, what: str) -> str:
    return call(f'{{"action": "left_click", "coordinate": {model_point(x, y)}, "element_description": "{what}"}}')


def run(tmp: Path, server: CannedChatServer, *extra: str, task: str = TASK) -> subprocess.CompletedProcess[str]:
    (tmp / "config.toml").write_text('refine = "off"\n', encoding="utf-8")  # one request per step
    env = dict(os.environ, DESKPILOT_CONFIG=str(tmp / "config.toml"), PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "agent", "run", task, "--backend", "openai", "--base-url", server.url,
         "--model", "canned", "--history-dir", str(tmp / "history"), "--confirm", "never", *extra],
        capture_output=True, text=True, env=env, timeout=120, cwd=ROOT,
    )


def answering(replies: list[str]) -> CannedChatServer:
    """A server that gives ``replies`` in turn, over and over, and keeps every request."""
    turn = itertools.count()
    return CannedChatServer(lambda body: replies[next(turn) % len(replies)])


def the_task_on(window: ButtonApp) -> list[str]:
    """The model's four answers that do the task on ``window``: the field, typing, Save, done."""
    return [
        click(*window.center("field"), "the customer name field"),
        call('{"action": "type", "text": "hello\\n"}'),
        click(*window.center("button"), "the Save button"),
        DONE,
    ]


def posts(server: CannedChatServer) -> list[dict[str, Any]]:
    return [body for method, _, body, _ in server.calls if method == "POST" and body is not None]


def texts(events: list[dict[str, Any]]) -> list[str]:
    return [e["text"] for e in events if e["event"] == "text"]


def latest_steps(tmp: Path) -> tuple[str, list[Any]]:
    info = list_runs(tmp / "history")[0]
    return info.id, load_run(tmp / "history", info.id)[1]


def test_a_task_done_once_replays_with_no_model_request_into_the_moved_window_and_hands_over_where_it_changed(
    app: Callable[..., ButtonApp], tmp_path: Path  # noqa: F811 (the fixture imported above)
) -> None:
    first = app("--at", "300,200")
    server = answering(the_task_on(first))
    with serving(server):
        result = run(tmp_path, server)
    assert result.returncode == 0, result.stderr
    assert len(posts(server)) == 4 and "replaying" not in result.stderr
    events = first.events_until_sync()
    assert texts(events) == ["hello"] and clicks(events) == ["save"]
    first_id, steps = latest_steps(tmp_path)
    assert [s.source for s in steps] == ["model"] * 4

    # The window moved: the replay finds the field and the button where they are now.
    moved = app("--at", "760,430")
    idle = CannedChatServer(lambda body: DONE)
    with serving(idle):
        result = run(tmp_path, idle)
    assert result.returncode == 0, result.stderr
    assert idle.calls == []  # not one request: no chat, not even a look at /models
    assert "replaying the run of " in result.stderr and "no model; --fresh to ask the model" in result.stderr
    events = moved.events_until_sync()
    assert texts(events) == ["hello"] and clicks(events) == ["save"]
    fx, fy = moved.center("field")
    presses = [(e["x"], e["y"]) for e in events if e["event"] == "press"]
    assert all(abs(x - fx) > 40 or abs(y - fy) > 40 for x, y in presses)  # the field took its click
    replay_id, steps = latest_steps(tmp_path)
    assert [s.source for s in steps] == ["replay"] * 3
    shown = subprocess.run(
        [sys.executable, "-m", "agent", "history", "show", replay_id, "--history-dir", str(tmp_path / "history")],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    ).stdout
    assert shown.count("replayed from an earlier run, no model") == 3 and first_id in shown

    # The Save button is gone: steps 1 and 2 replay, the model is asked from step 3.
    changed = app("--at", "760,430", "--no-save")
    answers = [click(*changed.center("cancel"), "the Cancel button"), DONE]
    helper = answering(answers)
    with serving(helper):
        result = run(tmp_path, helper)
    assert result.returncode == 0, result.stderr
    assert "asking the model from step 3" in result.stderr
    asked = posts(helper)
    assert len(asked) == 2
    prompt = request_text(asked[0])
    assert "Steps 1 to 2 above were replayed" in prompt
    assert "left_click on 'the customer name field'" in prompt and '"text": "hello\\n"' in prompt
    events = changed.events_until_sync()
    assert texts(events) == ["hello"] and clicks(events) == ["cancel"]
    _, steps = latest_steps(tmp_path)
    assert [(s.number, s.source) for s in steps] == [(1, "replay"), (2, "replay"), (3, "model"), (4, "model")]


def test_fresh_asks_the_model_and_both_runs_are_listed_as_replays(
    app: Callable[..., ButtonApp], tmp_path: Path  # noqa: F811
) -> None:
    window = app("--at", "300,200")
    server = answering(the_task_on(window))
    with serving(server):
        assert run(tmp_path, server).returncode == 0
        window.events_until_sync()
        result = run(tmp_path, server, "--fresh")
    assert result.returncode == 0, result.stderr
    assert "replaying" not in result.stderr and len(posts(server)) == 8
    assert texts(window.events_until_sync()) == ["hello", "hello"]  # every event since the window opened
    listed = subprocess.run(
        [sys.executable, "-m", "agent", "replays", "list", "--history-dir", str(tmp_path / "history")],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert listed.returncode == 0 and listed.stdout.count(TASK) == 2, listed.stdout


def test_a_task_with_a_variable_replays_with_the_new_value_given_or_written_in_the_task(
    app: Callable[..., ButtonApp], tmp_path: Path  # noqa: F811
) -> None:
    window = app("--at", "300,200")
    template = "type {name} into the customer name field and save it"
    server = answering([
        click(*window.center("field"), "the customer name field"),
        call('{"action": "type", "text": "ada\\n"}'),
        click(*window.center("button"), "the Save button"),
        DONE,
    ])
    with serving(server):
        assert run(tmp_path, server, "--vars", "name=ada", task=template).returncode == 0
        moved = app("--at", "640,380")
        by_vars = run(tmp_path, server, "--vars", "name=grace", task=template)
        by_text = run(tmp_path, server, task="Type  Linus into the customer name field and save it")
    assert by_vars.returncode == 0 and by_text.returncode == 0, by_vars.stderr + by_text.stderr
    assert len(posts(server)) == 4  # the first run's alone
    events = moved.events_until_sync()
    assert texts(events) == ["grace", "Linus"] and clicks(events) == ["save", "save"]
    runs = list_runs(tmp_path / "history")
    assert [r.task for r in runs[:2]] == ["Type  Linus into the customer name field and save it",
                                          "type grace into the customer name field and save it"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["run", "rename {file} to {new}", "--vars", "new=b"], "the task has {file} but no value for it"),
        (["run", "open the invoice", "--vars", "file=a"], "--vars file: the task has no {file} to fill"),
        (["run", "open {file}", "--vars", "file"], "--vars: expected NAME=VALUE, got 'file'"),
        (["replays", "forget", "nope"], "no replay 'nope' (deskpilot replays list shows them)"),
        (["replays", "pin", "nope"], "no replay 'nope'"),
    ],
)
def test_bad_replay_input_is_one_line_and_exit_2_before_any_model_request(
    x_display: str, tmp_path: Path, args: list[str], fragment: str
) -> None:
    idle = CannedChatServer(lambda body: DONE)
    with serving(idle):
        extra = ["--backend", "openai", "--base-url", idle.url] if args[0] == "run" else []
        result = subprocess.run(
            [sys.executable, "-m", "agent", *args, *extra, "--history-dir", str(tmp_path / "history")],
            capture_output=True, text=True, timeout=60, cwd=ROOT,
            env=dict(os.environ, DESKPILOT_CONFIG=str(tmp_path / "none.toml")),
        )
    assert result.returncode == 2 and idle.calls == []
    assert result.stderr.count("\n") == 1 and fragment in result.stderr, result.stderr

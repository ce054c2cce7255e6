"""The tray app on a real X display: starting with and without a tray host, runs from the command
window, the overlay answered with real key presses, Stop and the hotkey, a corrupt settings file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.conftest import require_program, xdotool
from tests.support import call, model_point

pytestmark = pytest.mark.e2e  # drives a whole Deskpilot program from outside

DONE = call('{"action": "terminate", "status": "success"}')
EDIT_CENTRE = (900, 240)


def write_config(tmp_path: Path, replies: list[str], **extra: object) -> Path:
    script = tmp_path / "script.jsonl"
    script.write_text("".join(json.dumps({"reply": r}) + "\n" for r in replies), encoding="utf-8")
    lines = [
        'backend = "script"', f'script = "{script}"', f'history_dir = "{tmp_path / "history"}"',
        *(f"{k} = {json.dumps(v)}" for k, v in extra.items()),
    ]
    config = tmp_path / "config.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


@pytest.fixture
def desk(qtbot, x_display: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    from PySide6.QtWidgets import QApplication

    from ui.app import DeskpilotApp

    monkeypatch.setenv("DESKPILOT_CONFIG", str(tmp_path / "config.toml"))
    app = DeskpilotApp(QApplication.instance(), force_window=True)
    app.command.move(40, 380)
    yield app
    app.close()
    xdotool("mousemove", "960", "540")


def start_task(qtbot, desk, task: str = "do the thing") -> None:
    desk.open_command()
    desk.command.task.setEditText(task)
    qtbot.mouseClick(desk.command.run_button, Qt.MouseButton.LeftButton)


def wait_finished(qtbot, desk, timeout: int = 60000) -> object:
    qtbot.waitUntil(lambda: not desk.controller.running and desk.controller.last_result is not None, timeout=timeout)
    return desk.controller.last_result


def test_scripted_run_from_the_command_window_lists_its_steps(qtbot, desk, probe, tmp_path: Path) -> None:
    edit = probe("--edit", "--geometry", "600x80+600+200")
    write_config(tmp_path, [
        call('{"action": "left_click", "coordinate": ' + model_point(*EDIT_CENTRE) + "}"),
        call('{"action": "type", "text": "hello from the tray"}'),
        call('{"action": "key", "keys": ["enter"]}'),
        DONE,
    ], confirm="never")
    start_task(qtbot, desk)
    result = wait_finished(qtbot, desk)
    assert result.outcome == "success"
    assert edit.wait_for("text")["text"] == "hello from the tray"
    assert desk.command.steps.count() == 4
    first = desk.command.steps.item(0)
    assert "Click at (900, 240)  allowed, performed" in first.text() and not first.icon().isNull()
    assert "Finished: success" in desk.command.status.text()


@pytest.mark.parametrize(("key", "typed"), [("Return", "approved text"), ("Escape", None)])
def test_overlay_is_answered_with_real_key_presses(qtbot, desk, probe, tmp_path: Path, key: str, typed: str | None) -> None:
    edit = probe("--edit", "--geometry", "600x80+600+200")
    write_config(tmp_path, [
        call('{"action": "left_click", "coordinate": ' + model_point(*EDIT_CENTRE) + "}"),
        call('{"action": "type", "text": "approved text\\n"}'),  # a line break is risky: confirmed
        DONE,
    ], confirm="risky")
    ready: list[bool] = []
    desk.overlay.ready.connect(lambda: ready.append(True))
    start_task(qtbot, desk)
    qtbot.waitUntil(lambda: bool(ready), timeout=30000)  # shown, keyboard grabbed, armed
    # The overlay holds the keyboard wherever the pointer is; leaving the pointer on the
    # field keeps it focused (no window manager: focus follows the pointer) once the overlay goes.
    xdotool("mousemove", *map(str, EDIT_CENTRE))
    xdotool("key", key)
    result = wait_finished(qtbot, desk)
    assert result.outcome == "success"
    assert not desk.overlay.isVisible()
    if typed is None:
        text, before = edit.typed_before_marker(*EDIT_CENTRE)
        assert text == "zq", f"text reached the field after the rejection: {text!r}"
        assert not [e for e in before if e["event"] == "text"]
        assert "rejected" in desk.command.steps.item(1).text()
    else:
        assert edit.wait_for("text")["text"] == typed


@pytest.mark.parametrize("how", ["stop button", "kill hotkey"])
def test_stop_and_hotkey_end_a_run_with_nothing_after(qtbot, desk, probe, tmp_path: Path, how: str) -> None:
    edit = probe("--edit", "--geometry", "600x80+600+200")
    write_config(tmp_path, [
        call('{"action": "left_click", "coordinate": ' + model_point(*EDIT_CENTRE) + "}"),
        call('{"action": "wait", "time": 30}'),
        call('{"action": "type", "text": "must not arrive\\n"}'),
        DONE,
    ], confirm="never")
    start_task(qtbot, desk)
    qtbot.waitUntil(lambda: "Wait 30 s" in desk.command.status.text(), timeout=30000)
    if how == "stop button":
        qtbot.mouseClick(desk.command.stop_button, Qt.MouseButton.LeftButton)
    else:
        xdotool("key", "ctrl+alt+k")
    result = wait_finished(qtbot, desk, timeout=10000)
    assert result.outcome == "stopped"
    text, before = edit.typed_before_marker(*EDIT_CENTRE)
    # The hotkey's own keys may reach the field (ctrl/alt held); no typed text may.
    assert text == "zq", f"text reached the field after the stop: {text!r}"
    assert not [e for e in before if e["event"] == "text"], before


def test_a_corrupt_settings_file_is_reported_and_kept(qtbot, desk, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('model = "x"\nmax_steps = = 3\n', encoding="utf-8")
    start_task(qtbot, desk)
    assert "line 2" in desk.command.status.text() and not desk.controller.running
    desk.open_settings()
    dialog = desk.settings_dialog
    assert "line 2" in dialog.error_label.text() and dialog.load_error
    dialog.close()
    assert config.read_text(encoding="utf-8") == 'model = "x"\nmax_steps = = 3\n'


def launch(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, DESKPILOT_CONFIG=str(tmp_path / "config.toml"), XDG_RUNTIME_DIR=str(tmp_path))
    return subprocess.Popen([sys.executable, "-m", "ui", *args], stderr=subprocess.PIPE, text=True, env=env)


def test_without_a_tray_host_a_window_opens_and_says_why(x_display: str, tmp_path: Path) -> None:
    proc = launch(tmp_path)
    try:
        assert proc.stderr is not None
        assert "in its window (no system tray)" in proc.stderr.readline()
        window = xdotool("search", "--sync", "--onlyvisible", "--name", "^Deskpilot$").split()
        assert window
        second = subprocess.run([sys.executable, "-m", "ui"], capture_output=True, text=True, timeout=60,
                                env=dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path)))
        assert second.returncode == 0 and "already running; brought its window back" in second.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_with_a_tray_host_it_lives_in_the_tray(x_display: str, tmp_path: Path) -> None:
    require_program("trayer")
    tray_host = subprocess.Popen(["trayer", "--edge", "top", "--align", "right", "--widthtype", "pixel", "--width", "200"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        xdotool("search", "--sync", "--class", "trayer")
        proc = launch(tmp_path)
        try:
            assert proc.stderr is not None
            assert "in the system tray" in proc.stderr.readline()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    finally:
        tray_host.terminate()
        tray_host.wait(timeout=10)


def test_tray_state_shows_in_icon_and_tooltip(qtbot, x_display: str) -> None:
    from ui.tray import STATE_LOOK, Menu, Tray, state_icon

    images = {state: state_icon(state).pixmap(16, 16).toImage() for state in STATE_LOOK}
    assert len({img.pixelColor(8, 8).name() for img in images.values()}) == len(STATE_LOOK)
    tray = Tray(Menu())
    tray.set_state("waiting for you", "presses Enter")
    assert tray.icon.toolTip() == "Deskpilot: waiting for you — presses Enter"
    assert [a.text() for a in tray.menu.actions()] == ["New command…", "Stop", "Pause/Resume", "Skills…", "Macros…", "Describe the screen",
                                                  "Read the screen aloud", "History", "Settings", "Quit"]
    assert all(a.toolTip() for a in tray.menu.actions())


def test_the_window_follows_the_runs_state(qtbot, desk, tmp_path: Path) -> None:
    write_config(tmp_path, [call('{"action": "wait", "time": 0.2}'), DONE], confirm="never")
    states: list[str] = []
    desk.controller.state_changed.connect(lambda state, _detail: states.append(state))
    start_task(qtbot, desk)
    assert wait_finished(qtbot, desk).outcome == "success"
    assert "thinking" in states and "acting" in states and states[-1] == "idle"
    assert desk.window.state.text().startswith("State: idle")


def close_like_a_window_manager(window: int) -> None:
    """Send WM_DELETE_WINDOW, what a window manager sends when the user clicks the close button."""
    import Xlib.display
    from Xlib import X
    from Xlib.protocol import event

    display = Xlib.display.Display()
    try:
        target = display.create_resource_object("window", window)
        protocols, delete = display.intern_atom("WM_PROTOCOLS"), display.intern_atom("WM_DELETE_WINDOW")
        message = event.ClientMessage(window=target, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0]))
        target.send_event(message, event_mask=X.NoEventMask)
        display.sync()
    finally:
        display.close()


def visible_deskpilot_windows() -> list[str]:
    result = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^Deskpilot$"],
                            capture_output=True, text=True, timeout=10)
    return result.stdout.split()


def test_closing_the_fallback_window_and_starting_again_brings_it_back(x_display: str, tmp_path: Path) -> None:
    from tests.support import wait_until

    proc = launch(tmp_path)
    try:
        assert proc.stderr is not None
        assert "in its window (no system tray)" in proc.stderr.readline()
        (window,) = xdotool("search", "--sync", "--onlyvisible", "--name", "^Deskpilot$").split()
        close_like_a_window_manager(int(window))
        assert wait_until(lambda: visible_deskpilot_windows() == [])
        assert proc.poll() is None  # closing the window did not end Deskpilot
        second = subprocess.run([sys.executable, "-m", "ui"], capture_output=True, text=True, timeout=60,
                                env=dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path)))
        assert second.returncode == 0, second.stderr
        assert "brought its window back" in second.stderr
        assert wait_until(lambda: len(visible_deskpilot_windows()) == 1), visible_deskpilot_windows()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_long_state_wraps_instead_of_widening_the_window(qtbot, x_display: str) -> None:
    from ui.tray import WINDOW_MAX_WIDTH, FallbackWindow, Menu

    window = FallbackWindow(Menu(), "why")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    before = window.width()
    window.set_state("error", "Could not run: " + "the model failed to load because of a long reason " * 8)
    window.adjustSize()
    qtbot.wait(50)
    assert window.width() <= max(before, WINDOW_MAX_WIDTH)
    assert window.state.wordWrap()


# -- keyboard-first: global hotkeys, reading and describing aloud, spoken states ---------------


def test_the_command_hotkey_opens_the_command_window_from_anywhere(qtbot, desk) -> None:
    assert not desk.command.isVisible()
    xdotool("key", "ctrl+alt+n")
    qtbot.waitUntil(desk.command.isVisible, timeout=10000)


def test_read_the_screen_aloud_speaks_reading_then_the_lines(qtbot, desk, tmp_path: Path) -> None:
    from agent.testing.speech import FakeSpeech
    from tests.support import LinePump
    from tests.test_access_read import APPS as ACCESS_APPS

    speech = FakeSpeech()
    desk.speech_factory = lambda: speech
    # Deskpilot's own window (one button per menu entry) below and right of the page, on no
    # line of it: OCR joins text on the same row into one line.
    desk.window.move(1450, 720)
    qtbot.waitUntil(lambda: desk.window.pos().x() == 1450)
    page = subprocess.Popen([sys.executable, str(ACCESS_APPS / "text_page.py"), "--geometry", "900x600+100+100"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert page.stdout is not None
        LinePump(page.stdout, json_lines=True).wait_for(lambda e: e["event"] == "ready", 20, "ready")
        desk.menu.actions["read"].trigger()
        qtbot.waitUntil(lambda: "Read " in desk.command.status.text(), timeout=60000)
    finally:
        page.terminate()
        page.wait(timeout=10)
    said = [text for text, _ in speech.lines]
    assert said[0] == "Reading" and len(said) > 3
    # The text page's own lines, spoken as they were read (small OCR slips allowed).
    from agent.access.matching import closeness

    for want in ("Quarterly report for the garden club", "Meeting moved to Thursday at seven"):
        assert any(closeness(want, got) is not None for got in said[1:]), (want, said)


def test_describe_the_screen_speaks_the_models_answer(qtbot, desk, tmp_path: Path) -> None:
    from agent.testing.speech import FakeSpeech
    from tests.loopback_servers import StubServer, serving

    speech = FakeSpeech()
    desk.speech_factory = lambda: speech
    with serving(StubServer(models=["qwen3-vl"], reply="A test desktop with one Deskpilot window.")) as stub:
        (tmp_path / "config.toml").write_text(
            f'backend = "openai"\nbase_url = "{stub.url}"\nmodel = "qwen3-vl"\n', encoding="utf-8")
        desk.menu.actions["describe"].trigger()
        qtbot.waitUntil(lambda: "one Deskpilot window" in desk.command.status.text(), timeout=30000)
        posts = [r for r in stub.calls if r[0] == "POST"]
    assert [text for text, _ in speech.lines] == ["Describing the screen", "A test desktop with one Deskpilot window."]
    assert len(posts) == 1


def test_with_narration_on_the_tray_speaks_its_state_changes(qtbot, desk, tmp_path: Path) -> None:
    from agent.testing.speech import FakeSpeech

    speech = FakeSpeech()
    desk.speech_factory = lambda: speech
    write_config(tmp_path, [call('{"action": "wait", "time": 0.1}'), DONE], confirm="never", narrate=True)
    start_task(qtbot, desk)
    assert wait_finished(qtbot, desk).outcome == "success"
    said = [text for text, _ in speech.lines]
    assert "Deskpilot is thinking" in said and said[-1] == "Deskpilot is idle"
    # The run itself is narrated too: the action before it happens, kept in the step's record.
    actions = [line for line in said if not line.startswith("Deskpilot is")]
    assert actions, said
    from agent.api import list_runs, load_run

    _, steps = load_run(tmp_path / "history", list_runs(tmp_path / "history")[0].id)
    assert steps[0].spoken and steps[0].spoken[0] in actions


def test_the_quiet_hotkey_silences_speech(qtbot, desk) -> None:
    from agent.testing.speech import FakeSpeech

    speech = FakeSpeech()
    desk.speech_factory = lambda: speech
    desk.speech().say("a long line being spoken")
    xdotool("key", "ctrl+alt+q")
    qtbot.waitUntil(lambda: speech.stops >= 1, timeout=10000)


def test_the_tray_survives_settings_then_run_cycles(x_display: str, tmp_path: Path) -> None:
    """Issue 19: a closed Settings dialog freed by the garbage collector on a run's thread crashed the tray."""
    cycles = 6
    env = dict(os.environ, PYTHONFAULTHANDLER="1", XDG_RUNTIME_DIR=str(tmp_path), TMPDIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "tests.apps.tray_cycles", str(cycles)],
                            capture_output=True, text=True, env=env, timeout=280)
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.count(": success") == cycles and f"survived {cycles} cycles" in result.stdout

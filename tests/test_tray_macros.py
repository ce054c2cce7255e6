"""The tray's Macros window on a real X display: recording real xdotool input until the kill hotkey
or the window's own Stop recording button (whose click is left out), and a replay from the window
that clicks a real button through the policy."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.macros.schema import load_macro
from tests.conftest import xdotool
from tests.test_macro_desktop import ButtonApp, app, clicks, macro_from_screen  # noqa: F401 (a fixture)
from tests.test_tray_app import write_config


@pytest.fixture
def desk(qtbot, x_display: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    from PySide6.QtWidgets import QApplication

    from ui.app import DeskpilotApp

    monkeypatch.setenv("DESKPILOT_CONFIG", str(tmp_path / "config.toml"))
    write_config(tmp_path, [], confirm="never")
    desk = DeskpilotApp(QApplication.instance(), force_window=True)
    desk.open_macros()
    desk.macros_window.setGeometry(1100, 600, 700, 400)  # clear of the button window
    qtbot.waitExposed(desk.macros_window)
    yield desk
    desk.close()
    xdotool("mousemove", "960", "540")


def centre_of(widget) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    point = widget.mapToGlobal(widget.rect().center())
    return (point.x(), point.y())


@pytest.mark.parametrize("how", ["kill hotkey", "stop recording button"])
def test_record_from_the_window_until_the_kill_hotkey_or_stop(
    qtbot, desk, app: Callable[..., ButtonApp], tmp_path: Path, how: str  # noqa: F811
) -> None:
    window = app("--at", "300,200")
    bx, by = window.center("button")
    fx, fy = window.center("field")
    macros = desk.macros_window
    path = tmp_path / "rec.json"
    states: list[str] = []
    desk.macro_recorder.recording.connect(lambda: states.append(desk.window.state.text()))
    macros.record_to(path)
    qtbot.waitUntil(lambda: bool(states), timeout=30000)  # the listeners really listen
    assert states[0].startswith("State: recording") and macros.record_button.text() == "Stop &recording"
    assert desk.menu.actions["stop"].isEnabled()
    xdotool("mousemove", str(fx), str(fy))
    xdotool("click", "1")
    xdotool("type", "--delay", "30", "Hi there")
    xdotool("mousemove", str(bx), str(by))
    xdotool("click", "1")
    window.pump.wait_for(lambda e: e["event"] == "click", 10, "the recorded click")  # X delivered it all
    if how == "kill hotkey":
        xdotool("key", "ctrl+alt+k")
    else:
        # The user's click on Deskpilot's own button ends the recording and is not recorded.
        x, y = centre_of(macros.record_button)
        xdotool("mousemove", str(x), str(y))
        xdotool("click", "1")
    qtbot.waitUntil(lambda: not desk.macro_recorder.running, timeout=60000)
    assert [s.action for s in load_macro(path).steps] == [
        {"action": "left_click", "x": fx, "y": fy},
        {"action": "type", "text": "Hi there"},
        {"action": "left_click", "x": bx, "y": by},
    ]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert f"Recorded 3 steps into {path.name}" in macros.message.text()
    assert macros.path == path and macros.steps.count() == 3  # the new macro is open
    assert desk.window.state.text().startswith("State: idle") and not desk.menu.actions["stop"].isEnabled()


@pytest.mark.parametrize("confirm", ["never", "always"])
def test_play_from_the_window_clicks_the_button(
    qtbot, desk, app: Callable[..., ButtonApp], tmp_path: Path, confirm: str  # noqa: F811
) -> None:
    write_config(tmp_path, [], confirm=confirm)
    window = app("--at", "300,200")
    x, y = window.center("button")
    macro = macro_from_screen(tmp_path / "m.json", [{"action": "left_click", "x": x, "y": y}])
    moved = app("--at", f"{300 + 137},{200 + 91}")
    macros = desk.macros_window
    assert macros.open(macro)
    ready: list[bool] = []
    desk.overlay.ready.connect(lambda: ready.append(True))
    macros.play()
    assert macros.busy == "playing"
    if confirm == "always":
        # The tray's overlay asks, as in a run, and a real Return approves.
        qtbot.waitUntil(lambda: bool(ready), timeout=30000)
        assert "Click" in desk.overlay.request.words
        xdotool("key", "Return")
    qtbot.waitUntil(lambda: not macros.busy, timeout=60000)
    assert clicks(moved.events_until_sync()) == ["save"]
    text = macros.message.text()
    assert "Replay success: played 1 step" in text and "1 steps" not in text, text
    assert desk.controller.last_result.outcome == "success" and bool(ready) == (confirm == "always")


def test_the_kill_hotkey_stops_a_replay_from_the_window(
    qtbot, desk, app: Callable[..., ButtonApp], tmp_path: Path  # noqa: F811
) -> None:
    from agent.api import ActionDecided

    window = app("--at", "300,200")
    x, y = window.center("button")
    macro = macro_from_screen(
        tmp_path / "m.json", [{"action": "wait", "time": 30}, {"action": "left_click", "x": x, "y": y}]
    )
    decided: list[str] = []
    desk.controller.event.connect(lambda e: decided.append(e.action.name) if isinstance(e, ActionDecided) else None)
    macros = desk.macros_window
    assert macros.open(macro)
    macros.play()
    qtbot.waitUntil(lambda: "wait" in decided, timeout=30000)  # in the 30 s wait
    xdotool("key", "ctrl+alt+k")
    qtbot.waitUntil(lambda: not macros.busy, timeout=10000)
    assert desk.controller.last_result.outcome == "stopped"
    assert clicks(window.events_until_sync()) == []  # the click after the wait never came
    assert "Replay stopped" in macros.message.text()


@pytest.mark.parametrize("answer", ["a click on the picture", "Escape"])
def test_a_lost_target_is_asked_in_the_tray_and_the_users_point_is_clicked(
    qtbot, desk, app: Callable[..., ButtonApp], tmp_path: Path, answer: str  # noqa: F811
) -> None:
    from PySide6.QtCore import QPoint

    from agent.records.history import load_run

    window = app("--at", "300,200")
    x, y = window.center("button")
    macro = macro_from_screen(tmp_path / "m.json", [{"action": "left_click", "x": x, "y": y}])
    gone = app("--at", "300,200", "--no-save")  # no tier can find the button now
    wx, wy, _, _ = gone.ready["window"]
    macros = desk.macros_window
    assert macros.open(macro)
    macros.play()
    qtbot.waitUntil(
        lambda: desk.lost_window is not None and desk.lost_window._armed and desk.lost_window.has_keyboard_grab(),
        timeout=60000,
    )
    lost = desk.lost_window
    assert lost.isVisible() and desk.window.state.text().startswith("State: waiting for you")
    question = lost.question
    assert question is not None and question.number == 1 and "Click" in question.words
    if answer == "Escape":
        # The keyboard focus on the replayed window (the user clicked there, or a window
        # manager refused to let the question steal focus) and the pointer over it: the
        # question's keyboard grab makes Escape reach it all the same.
        xdotool("windowfocus", "--sync", str(gone.ready["wid"]))
        xdotool("mousemove", str(wx + 12), str(wy + 12))
        xdotool("key", "Escape")
    else:
        # The user points at the window's background, 12 px into it, on the screen picture.
        g = question.frame.geometry
        ix, iy = (wx + 12 - g.region.left) * g.scale_x, (wy + 12 - g.region.top) * g.scale_y
        spot = lost.picture.mapToGlobal(QPoint(round(ix * lost.picture.factor), round(iy * lost.picture.factor)))
        xdotool("mousemove", str(spot.x()), str(spot.y()))
        xdotool("click", "1")
    qtbot.waitUntil(lambda: not macros.busy, timeout=30000)
    assert not lost.isVisible()
    # A sync point: X delivers input in order, so once xdotool's press on the background
    # corner is reported, every press the replay sent before it has been too.
    sync = (wx + 4, wy + gone.ready["window"][3] - 4)
    xdotool("mousemove", *map(str, sync))
    xdotool("click", "1")
    gone.pump.wait_for(lambda e: e["event"] == "press" and (e["x"], e["y"]) == sync, 10, "the sync press")
    presses = [e for e in gone.pump.seen if e["event"] in ("press", "click") and (e.get("x"), e.get("y")) != sync]
    info, steps = load_run(tmp_path / "history", "latest")
    if answer == "Escape":
        assert presses == [] and info.outcome == "failure"
        assert "stopped, nothing clicked" in macros.message.text()
    else:
        assert presses == [{"event": "press", "x": wx + 12, "y": wy + 12}], presses
        assert info.outcome == "success" and steps[0].anchor_tier == "e-user"
        assert "Replay success" in macros.message.text()
    run_dir = next((tmp_path / "history").iterdir())
    assert (run_dir / "miss-0001-anchor.png").exists()  # the evidence is kept either way

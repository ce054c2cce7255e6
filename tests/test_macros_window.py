"""ui.macros_window: a macro's steps with thumbnails, moved and deleted by keyboard, saved back."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from agent.api import RunResult
from agent.macros.anchors import make_anchor
from agent.macros.schema import Macro, MacroStep, Monitor, load_macro, save_macro
from tests.macro_images import screen
from ui.macros_window import MacrosWindow


def make(tmp_path: Path) -> Path:
    path = tmp_path / "m.json"
    save_macro(Macro(monitor=Monitor(width=1920, height=1080), steps=[
        MacroStep(action={"action": "left_click", "x": 460, "y": 320}, anchor=make_anchor(screen(), (460, 320))),
        MacroStep(action={"action": "type", "text": "hello"}),
        MacroStep(action={"action": "key", "keys": ["ctrl", "s"]}),
    ]), path)
    return path


def test_steps_show_in_words_with_thumbnails_and_edit_by_keyboard(qtbot: QtBot, tmp_path: Path) -> None:
    path = make(tmp_path)
    window = MacrosWindow()
    qtbot.addWidget(window)
    assert window.open(path)
    items = [window.steps.item(i) for i in range(window.steps.count())]
    assert [i.text().split("  ")[0] for i in items] == ["1", "2", "3"]
    assert "Click at (460, 320)" in items[0].text() and not items[0].icon().isNull()
    assert items[1].icon().isNull()  # a type step has no anchor
    window.show()
    window.steps.setFocus()
    window.steps.setCurrentRow(2)
    QTest.keyClick(window.steps, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    words = [window.steps.item(i).text() for i in range(window.steps.count())]
    assert "Press ctrl+s" in words[1] and "Type 'hello'" in words[2] and window.steps.currentRow() == 1
    QTest.keyClick(window.steps, Qt.Key.Key_Delete)  # deletes the moved step, now step 2
    QTest.keyClick(window.steps, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)  # the last: stays
    assert "(changed)" in window.title.text()
    window.save_button.click()
    assert [s.name for s in load_macro(path).steps] == ["left_click", "type"]
    assert [s.action.get("text") for s in load_macro(path).steps] == [None, "hello"]
    assert "saved" in window.message.text()


def test_a_broken_file_is_shown_as_an_error(qtbot: QtBot, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    window = MacrosWindow()
    qtbot.addWidget(window)
    assert not window.open(bad)
    assert "not valid JSON" in window.message.text() and not window.save_button.isEnabled()


def keyboard_window(qtbot: QtBot, path: Path) -> MacrosWindow:
    window = MacrosWindow()
    qtbot.addWidget(window)
    assert window.open(path)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    return window


def alt(window: QWidget, key: Qt.Key) -> None:
    """Alt+key to the widget with the keyboard focus (mnemonics act in its window)."""
    QTest.keyClick(QApplication.focusWidget() or window, key, Qt.KeyboardModifier.AltModifier)


def typed(text: str, *, replace: bool = True) -> None:
    """Keys into whatever has the keyboard focus now, as a user would type them."""
    widget = QApplication.focusWidget()
    assert widget is not None
    if replace:
        QTest.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(widget, text)


def enter() -> None:
    widget = QApplication.focusWidget()
    assert widget is not None
    QTest.keyClick(widget, Qt.Key.Key_Return)


def dialog_up(qtbot: QtBot, window: MacrosWindow) -> QWidget:
    qtbot.waitUntil(lambda: window.dialog is not None and window.dialog.isVisible() and window.dialog.isActiveWindow())
    assert window.dialog is not None
    return window.dialog


def dialog_done(qtbot: QtBot, window: MacrosWindow) -> None:
    """The dialog is gone and the keyboard is back on the step list (as the window puts it)."""
    qtbot.waitUntil(lambda: window.dialog is None and window.isActiveWindow() and window.steps.hasFocus())


def test_insert_wait_insert_steps_set_text_and_save_by_keyboard_only(qtbot: QtBot, tmp_path: Path) -> None:
    path = make(tmp_path)
    window = keyboard_window(qtbot, path)
    window.steps.setFocus()
    QTest.keyClick(window.steps, Qt.Key.Key_Down)  # step 2, the type step
    # Enter on a type step: change its text.
    QTest.keyClick(window.steps, Qt.Key.Key_Return)
    dialog_up(qtbot, window)
    typed("hello {name}")
    enter()
    dialog_done(qtbot, window)
    assert "Type 'hello {name}'" in window.steps.item(1).text() and window.steps.currentRow() == 1
    # Alt+W: a 2.5 s wait after the selected step.
    alt(window, Qt.Key.Key_W)
    dialog_up(qtbot, window)
    typed("2.5")
    enter()
    dialog_done(qtbot, window)
    assert window.steps.count() == 4 and window.steps.currentRow() == 2
    # Alt+K: a key step (the default kind), then a type step (Alt+K picks the kind there too).
    alt(window, Qt.Key.Key_K)
    dialog_up(qtbot, window)
    alt(window, Qt.Key.Key_X)
    typed("ctrl+shift+t")
    enter()
    dialog_done(qtbot, window)
    alt(window, Qt.Key.Key_K)
    dialog_up(qtbot, window)
    alt(window, Qt.Key.Key_K)  # the kind list
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Down)
    alt(window, Qt.Key.Key_X)
    typed("bye")
    enter()
    dialog_done(qtbot, window)
    # Alt+T on the new type step: Set text.
    assert window.set_text_button.isEnabled()
    alt(window, Qt.Key.Key_T)
    dialog_up(qtbot, window)
    typed("see you")
    enter()
    dialog_done(qtbot, window)
    assert "(changed)" in window.title.text()
    QTest.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "saved" in window.message.text())
    actions = [s.action for s in load_macro(path).steps]
    assert actions[1:] == [
        {"action": "type", "text": "hello {name}"},
        {"action": "wait", "time": 2.5},
        {"action": "key", "keys": ["ctrl", "shift", "t"]},
        {"action": "type", "text": "see you"},
        {"action": "key", "keys": ["ctrl", "s"]},
    ]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_escape_cancels_an_insert_and_a_bad_step_is_an_error(qtbot: QtBot, tmp_path: Path) -> None:
    path = make(tmp_path)
    window = keyboard_window(qtbot, path)
    alt(window, Qt.Key.Key_W)
    dialog = dialog_up(qtbot, window)
    QTest.keyClick(dialog, Qt.Key.Key_Escape)
    dialog_done(qtbot, window)
    assert window.steps.count() == 3 and not window.dirty
    assert not window.insert_action_after_selected({"action": "left_click", "x": 1, "y": 2})
    assert "needs an anchor" in window.message.text() and window.steps.count() == 3


def test_play_asks_for_the_saved_file_with_speed_and_dry_run(qtbot: QtBot, tmp_path: Path) -> None:
    path = make(tmp_path)
    window = keyboard_window(qtbot, path)
    asked: list[tuple[Path, object]] = []
    window.play_requested.connect(lambda p, play: asked.append((p, play)))
    alt(window, Qt.Key.Key_E)  # the speed list
    qtbot.waitUntil(window.speed.hasFocus)
    QTest.keyClick(window.speed, Qt.Key.Key_Down)
    alt(window, Qt.Key.Key_Y)  # dry run on (a mnemonic clicks a moment later, as Qt animates it)
    qtbot.waitUntil(window.dry_run.isChecked)
    alt(window, Qt.Key.Key_P)
    qtbot.waitUntil(lambda: len(asked) == 1)
    assert asked[0][0] == path and asked[0][1].speed == 1.0 and asked[0][1].dry_run  # type: ignore[attr-defined]
    window.set_busy("playing", "playing …")
    assert window.play_button.text() == "Stop &playing" and not window.insert_wait_button.isEnabled()
    stops: list[bool] = []
    window.stop_requested.connect(lambda: stops.append(True))
    alt(window, Qt.Key.Key_P)
    qtbot.waitUntil(lambda: stops == [True])
    window.play_finished(RunResult("failure", "step 1 (Click at (460, 320)): stopped, nothing clicked", 1))
    assert "Replay failure" in window.message.text() and window.play_button.text() == "&Play"
    # Unsaved edits are not played: the replay reads the file.
    window.delete_selected()
    alt(window, Qt.Key.Key_P)
    qtbot.waitUntil(lambda: "Save the changes first" in window.message.text())
    assert len(asked) == 1


def test_every_control_has_an_accessible_name_and_the_mnemonics_are_unique(qtbot: QtBot, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QAbstractButton, QCheckBox, QComboBox, QLabel, QListWidget, QPushButton

    from ui.macros_window import StepDialog

    window = MacrosWindow()
    qtbot.addWidget(window)
    window.open(make(tmp_path))
    dialog = StepDialog(window)
    for top in (window, dialog):
        controls = [w for w in top.findChildren(QWidget) if isinstance(w, (QAbstractButton, QComboBox, QListWidget))
                    and w.window() is top]
        assert controls and all(w.accessibleName() for w in controls), [w.objectName() for w in controls if not w.accessibleName()]
        texts = [w.text() for w in top.findChildren(QPushButton) + top.findChildren(QCheckBox) + top.findChildren(QLabel)
                 if w.window() is top and "&" in w.text()]
        keys = [t[t.index("&") + 1].lower() for t in texts]
        assert len(keys) == len(set(keys)), texts


def test_a_tray_replay_plays_where_the_macro_was_recorded_unless_the_settings_name_a_monitor(
    qtbot: QtBot, tmp_path: Path
) -> None:
    import threading
    from typing import Any

    from agent.api import PauseGate, PlaySettings, Settings
    from ui.worker import MacroWorker, QtOperator

    class Session:
        """Keeps what the worker asked for; a real replay is covered by tests/test_tray_macros.py."""

        def __init__(self) -> None:
            self.asked: dict[str, Any] = {}

        def play_macro(self, settings: Settings, path: Path, operator: object, **options: Any) -> RunResult:
            self.asked = options
            return RunResult("success", "played 1 step", 1)

    answers = []
    for monitor in (Settings().monitor, 2):
        session = Session()
        worker = MacroWorker(
            session,  # type: ignore[arg-type]
            Settings(monitor=monitor),
            tmp_path / "m.json",
            PlaySettings(),
            QtOperator(),
            threading.Event(),
            PauseGate(),
            None,
        )
        results: list[RunResult] = []
        worker.finished.connect(results.append)
        worker.run()
        assert results and results[0].outcome == "success"
        answers.append(session.asked["find_monitor"])
    assert answers == [True, False]

"""ui.macros_window: a macro's steps with thumbnails, moved and deleted by keyboard, saved back."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

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

"""ui.history_window: runs newest first, step lines with decisions and errors, screenshots, keyboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QWidget
from pytestqt.qtbot import QtBot

from agent.records.history import RunRecorder
from agent.records.schema import ActionRecord, RunInfo, StepRecord
from ui import style
from ui.history_window import HistoryWindow, local_time

SHOT_SIZE = (320, 180)
RAW_CLICK = '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click"}}\n</tool_call>'


def run_info(task: str, started_at: str) -> RunInfo:
    return RunInfo(id="", task=task, backend="script", model="fake-model", started_at=started_at)


def step(number: int, **fields: object) -> StepRecord:
    return StepRecord.model_validate(
        {"number": number, "started_at": f"2025-01-02T13:04:{number:02d}+00:00", **fields}
    )


def click(x: int, y: int) -> ActionRecord:
    return ActionRecord(
        model={"action": "left_click", "coordinate": [500, 500]},
        screen={"action": "left_click", "x": x, "y": y},
        decision="allow",
        performed=True,
    )


def denied_chord() -> ActionRecord:
    return ActionRecord(
        model={"action": "key", "keys": ["ctrl", "alt", "delete"]},
        screen={"action": "key", "keys": ["ctrl", "alt", "delete"]},
        decision="deny",
        reason="the chord ctrl+alt+delete is on the denylist",
    )


@dataclass
class History:
    root: Path
    older: RunInfo  # two steps, the first with a screenshot, the second with an error
    newer: RunInfo  # one step with a denied action


@pytest.fixture
def history(tmp_path: Path) -> History:
    root = tmp_path / "runs"
    older = RunRecorder.start(root, run_info("Open the notes app", "2025-01-02T13:04:05+00:00"))
    older.record_step(
        step(1, actions=[click(100, 200)], raw_text=RAW_CLICK, thought="Click the notes icon"),
        Image.new("RGB", SHOT_SIZE, "teal"),
    )
    older.record_step(step(2, error="unusable answer: no tool call", raw_text="I am not sure."))
    older.finish("success", "the model finished the task")

    newer = RunRecorder.start(root, run_info("Restart the computer", "2025-01-03T08:00:00+00:00"))
    newer.record_step(step(1, actions=[denied_chord()], raw_text="<tool_call>key</tool_call>"))
    newer.finish("failure", "the model gave up")
    return History(root, older.info, newer.info)


def make_window(qtbot: QtBot, root: Path) -> HistoryWindow:
    window = HistoryWindow(root)
    qtbot.addWidget(window)
    return window


def row_texts(window: HistoryWindow, row: int) -> list[str]:
    item = window.runs_view.topLevelItem(row)
    return [item.text(column) for column in range(window.runs_view.columnCount())]


# --- runs -----------------------------------------------------------------------------------------


def test_runs_are_listed_newest_first_with_local_times(qtbot: QtBot, history: History) -> None:
    window = make_window(qtbot, history.root)
    assert "Deskpilot history" in window.windowTitle()
    assert window.run_ids() == [history.newer.id, history.older.id]
    expected_time = datetime.fromisoformat("2025-01-03T08:00:00+00:00").astimezone().strftime("%Y-%m-%d %H:%M:%S")
    assert row_texts(window, 0) == [expected_time, "failed", "1", "Restart the computer", history.newer.id]
    assert row_texts(window, 1)[1:] == ["succeeded", "2", "Open the notes app", history.older.id]
    assert window.empty_label.isHidden()


def test_the_newest_run_is_selected_at_first(qtbot: QtBot, history: History) -> None:
    window = make_window(qtbot, history.root)
    assert window.runs_view.currentItem() is window.runs_view.topLevelItem(0)
    assert "Restart the computer" in window.run_summary.text()
    assert "failed (the model gave up)" in window.run_summary.text()


def test_steps_show_actions_errors_and_thoughts(qtbot: QtBot, history: History) -> None:
    window = make_window(qtbot, history.root)
    assert window.select_run(history.older.id)
    first, second = window.step_texts()
    assert first.startswith("Step 1  Click at (100, 200)  allowed, performed")
    assert "thought: Click the notes icon" in first
    assert "screenshot: step-0001.png" in first
    assert second.startswith("Step 2  no action")
    assert "error: unusable answer: no tool call" in second

    error_item = window.steps_view.item(1)
    assert error_item.foreground().color() == QColor(style.ERROR_TEXT)
    assert error_item.font().bold()  # not told by colour alone
    assert error_item.data(Qt.ItemDataRole.AccessibleTextRole).startswith("Problem.")
    assert not window.steps_view.item(0).font().bold()


def test_a_denied_action_is_shown_as_denied(qtbot: QtBot, history: History) -> None:
    window = make_window(qtbot, history.root)
    assert window.select_run(history.newer.id)
    (text,) = window.step_texts()
    assert "Press ctrl+alt+delete  denied (the chord ctrl+alt+delete is on the denylist), not performed" in text
    assert window.steps_view.item(0).font().bold()


def test_a_step_shows_its_screenshot_and_model_text(qtbot: QtBot, history: History) -> None:
    window = make_window(qtbot, history.root)
    window.show()
    qtbot.waitExposed(window)
    window.select_run(history.older.id)
    assert window.select_step(1)

    original = window.screenshot_label.original
    assert original is not None
    assert (original.width(), original.height()) == SHOT_SIZE
    assert original.toImage().pixelColor(5, 5) == QColor("teal")
    shown = window.screenshot_label.pixmap()
    assert not shown.isNull()
    # Scaled to the label, with the screenshot's aspect ratio kept.
    assert shown.width() <= window.screenshot_label.width()
    assert shown.height() <= window.screenshot_label.height()
    assert abs(shown.width() / shown.height() - SHOT_SIZE[0] / SHOT_SIZE[1]) < 0.03
    assert "320 by 180 pixels" in window.screenshot_label.accessibleDescription()
    assert window.raw_text.toPlainText() == RAW_CLICK

    window.select_step(2)
    assert window.screenshot_label.original is None
    assert "No screenshot" in window.screenshot_label.text()
    assert window.raw_text.toPlainText() == "I am not sure."


def test_the_screenshot_follows_the_label_size(qtbot: QtBot, history: History) -> None:
    window = make_window(qtbot, history.root)
    window.show()
    qtbot.waitExposed(window)
    window.select_run(history.older.id)
    window.select_step(1)
    window.resize(900, 500)
    qtbot.waitUntil(lambda: window.screenshot_label.pixmap().width() <= window.screenshot_label.width())
    before = window.screenshot_label.pixmap().size()
    window.resize(1600, 1000)
    qtbot.waitUntil(lambda: window.screenshot_label.pixmap().size() != before)
    assert window.screenshot_label.original.size().toTuple() == SHOT_SIZE


def test_a_missing_or_foreign_screenshot_is_a_message(qtbot: QtBot, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    recorder = RunRecorder.start(root, run_info("Odd files", "2025-01-04T10:00:00+00:00"))
    recorder.record_step(step(1, screenshot="step-0001.png"))  # named but never written
    recorder.record_step(step(2, screenshot="../../secret.png"))
    recorder.finish("stopped")
    (tmp_path / "secret.png").write_bytes(b"not for the history window")

    window = make_window(qtbot, root)
    window.select_step(1)
    assert window.screenshot_label.original is None
    assert "missing or unreadable" in window.screenshot_label.text()
    window.select_step(2)
    assert window.screenshot_label.original is None
    assert "unusable screenshot file" in window.screenshot_label.text()


def test_refresh_shows_new_runs_and_keeps_the_selection(qtbot: QtBot, history: History) -> None:
    window = make_window(qtbot, history.root)
    window.select_run(history.older.id)
    window.select_step(2)
    newest = RunRecorder.start(history.root, run_info("Write a note", "2025-01-05T09:30:00+00:00"))
    newest.record_step(step(1, actions=[click(5, 5)]))

    qtbot.mouseClick(window.refresh_button, Qt.MouseButton.LeftButton)

    assert window.run_ids() == [newest.info.id, history.newer.id, history.older.id]
    assert row_texts(window, 0)[1:3] == ["running or cut off", "1"]
    assert window.runs_view.currentItem().text(4) == history.older.id
    assert window.steps_view.currentRow() == 1


def test_a_broken_run_is_listed_and_explained(qtbot: QtBot, history: History) -> None:
    (history.root / history.older.id / "run.json").unlink()
    window = make_window(qtbot, history.root)
    assert row_texts(window, 1)[1] == "error"
    window.select_run(history.older.id)
    assert "Cannot read this run" in window.run_summary.text()
    assert "run.json is missing" in window.run_summary.text()
    assert window.step_texts() == []


# --- empty states ---------------------------------------------------------------------------------


@pytest.mark.parametrize("make_root", [
    lambda tmp: tmp,  # an empty folder
    lambda tmp: tmp / "not-yet-created",
], ids=["empty folder", "missing folder"])
def test_no_runs_shows_the_empty_state(qtbot: QtBot, tmp_path: Path, make_root: object) -> None:
    root = make_root(tmp_path)  # type: ignore[operator]
    window = make_window(qtbot, root)
    window.show()
    assert window.empty_label.isVisible()
    assert "No runs yet" in window.empty_label.text()
    assert str(root) in window.empty_label.text()
    assert window.empty_label.accessibleName() == "No runs"
    assert not window.runs_view.isVisible()
    assert window.run_ids() == []
    # The message is reachable with Tab, after Refresh.
    window.activateWindow()
    window.refresh_button.setFocus(Qt.FocusReason.TabFocusReason)
    QTest.keyClick(window.refresh_button, Qt.Key.Key_Tab)
    assert window.focusWidget() is window.empty_label


def test_the_empty_state_goes_away_after_a_run_and_a_refresh(qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path)
    window.show()
    assert window.empty_label.isVisible()
    RunRecorder.start(tmp_path, run_info("First run", "2025-01-02T13:04:05+00:00")).finish("success")
    window.refresh()
    assert window.empty_label.isHidden()
    assert window.runs_view.isVisible()
    assert len(window.run_ids()) == 1


def test_a_history_path_that_is_a_file_is_an_error_message(qtbot: QtBot, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    root.write_text("oops")
    window = make_window(qtbot, root)
    assert "Cannot read the history" in window.empty_label.text()
    assert "is not a folder" in window.empty_label.text()
    assert window.empty_label.property("role") == "error"


# --- keyboard and screen readers -------------------------------------------------------------------


def test_tab_cycles_through_the_controls(qtbot: QtBot, history: History) -> None:
    window = make_window(qtbot, history.root)
    window.show()
    window.activateWindow()
    window.refresh_button.setFocus(Qt.FocusReason.TabFocusReason)
    visited: list[QWidget] = []
    for _ in range(5):
        focused = window.focusWidget()
        visited.append(focused)
        QTest.keyClick(focused, Qt.Key.Key_Tab)
    expected = [window.refresh_button, window.runs_view, window.steps_view, window.raw_text]
    assert visited == [*expected, window.refresh_button]
    for widget in expected:
        assert widget.accessibleName(), widget
        assert widget.accessibleDescription(), widget


def test_every_focusable_widget_has_an_accessible_name(qtbot: QtBot, history: History) -> None:
    window = make_window(qtbot, history.root)

    def inner_part(widget: QWidget) -> bool:
        parent = widget.parentWidget()
        while parent is not None and parent is not window:
            if isinstance(parent, QAbstractSpinBox | QComboBox):
                return True
            parent = parent.parentWidget()
        return widget.objectName() == "qt_scrollarea_viewport"

    focusable = [
        w for w in window.findChildren(QWidget)
        if w.focusPolicy() & Qt.FocusPolicy.TabFocus and not inner_part(w)
    ]
    assert set(focusable) >= {window.refresh_button, window.runs_view, window.steps_view, window.raw_text}
    for widget in focusable:
        assert widget.accessibleName(), widget
    assert window.screenshot_label.accessibleName() == "Screenshot"


def test_the_keyboard_moves_through_runs_and_steps(qtbot: QtBot, history: History) -> None:
    window = make_window(qtbot, history.root)
    window.show()
    window.activateWindow()
    window.runs_view.setFocus()
    QTest.keyClick(window.runs_view, Qt.Key.Key_Down)
    assert window.runs_view.currentItem().text(4) == history.older.id
    window.steps_view.setFocus()
    QTest.keyClick(window.steps_view, Qt.Key.Key_Down)
    QTest.keyClick(window.steps_view, Qt.Key.Key_Home)
    assert window.steps_view.currentRow() == 0
    assert window.screenshot_label.original is not None


def test_local_time_reads_utc_records_in_the_local_zone() -> None:
    assert local_time("2025-01-02T13:04:05+00:00") == (
        datetime.fromisoformat("2025-01-02T13:04:05+00:00").astimezone().strftime("%Y-%m-%d %H:%M:%S")
    )
    assert local_time("2025-01-02T13:04:05") == local_time("2025-01-02T13:04:05+00:00")
    assert local_time("") == local_time(None) == ""
    assert local_time("yesterday") == "yesterday"


"""ui.settings_dialog and ui.style: editing, validating and saving settings; broken files; contrast."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QFile, Qt, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QDialog, QLabel, QMessageBox, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from agent.config import Settings, load_settings, save_settings
from agent.errors import ConfigError
from ui import style
from ui.settings_dialog import PIXELS_PER_TOKEN, FieldError, SettingsDialog

CORRUPT = b'backend = "local"\nmax_steps = = 3\n'


class Answers:
    """A confirmation stand-in that records each question and gives a fixed answer."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.questions: list[tuple[str, str]] = []

    def __call__(self, title: str, question: str) -> bool:
        self.questions.append((title, question))
        return self.answer


def make_dialog(qtbot: QtBot, path: Path | None, confirm: Callable[[str, str], bool] | None = None) -> SettingsDialog:
    dialog = SettingsDialog(path, confirm=confirm)
    qtbot.addWidget(dialog)
    return dialog


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def select(combo: QComboBox, value: str) -> None:
    index = combo.findData(value)
    assert index >= 0, value
    combo.setCurrentIndex(index)


def tab_chain(window: QWidget, start: QWidget, presses: int) -> list[QWidget]:
    """The widgets real Tab presses visit from ``start``, as the controls users see."""
    window.show()
    window.activateWindow()
    start.setFocus(Qt.FocusReason.TabFocusReason)
    visited: list[QWidget] = []
    for _ in range(presses):
        focused = window.focusWidget()
        assert focused is not None
        # A spin box's inner line edit stands for the spin box.
        if isinstance(focused.parent(), QAbstractSpinBox):
            focused = focused.parent()
        visited.append(focused)
        QTest.keyClick(window.focusWidget(), Qt.Key.Key_Tab)
    return visited


def part_of_a_control(widget: QWidget, window: QWidget) -> bool:
    """Inner parts (a spin box's line edit, a combo box's pop-up list, viewports) are not controls."""
    if widget.objectName() == "qt_scrollarea_viewport":
        return True
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        if isinstance(parent, QAbstractSpinBox | QComboBox):
            return True
        parent = parent.parentWidget()
    return False


# --- loading and saving --------------------------------------------------------------------------


def test_a_missing_file_shows_the_defaults_and_writes_nothing(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "deskpilot" / "config.toml"
    dialog = make_dialog(qtbot, path)
    assert dialog.load_error is None
    assert dialog.settings() == Settings()
    assert dialog.save_button.isEnabled()
    assert dialog.image_tokens_spin.value() == Settings().max_pixels // PIXELS_PER_TOKEN
    assert dialog.denied_chords_edit.toPlainText().splitlines() == Settings().denied_chords
    dialog.reject()
    assert not path.exists()


def test_the_default_path_comes_from_the_environment(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "from-env.toml"
    save_settings(Settings(max_steps=7), path)
    monkeypatch.setenv("DESKPILOT_CONFIG", str(path))
    dialog = make_dialog(qtbot, None)
    assert dialog.path == path
    assert dialog.max_steps_spin.value() == 7


def test_edits_are_saved_privately_and_load_back_equal(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    dialog = make_dialog(qtbot, path)
    select(dialog.backend_combo, "openai")
    dialog.model_edit.setText("qwen3-vl-served")
    dialog.base_url_edit.setText("http://10.0.0.5:8000/v1")
    dialog.api_key_edit.setText("sk-secret")
    dialog.image_tokens_spin.setValue(880)
    select(dialog.confirm_combo, "always")
    dialog.confirm_timeout_spin.setValue(30)
    dialog.kill_hotkey_edit.setText("ctrl+shift+q")
    dialog.risky_regions_edit.setPlainText("400x300+1500+0\n\n  200x100+-1920+0  \n")
    dialog.risky_windows_edit.setPlainText("(?i)bank\npassword")
    dialog.denied_chords_edit.setPlainText("ctrl+alt+delete\nsuper+l")
    dialog.max_steps_spin.setValue(12)
    dialog.history_dir_edit.setText(str(tmp_path / "runs"))
    dialog.history_keep_spin.setValue(50)
    dialog.monitor_spin.setValue(2)

    with qtbot.waitSignal(dialog.saved, timeout=5000) as saved:
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    assert dialog.result() == QDialog.DialogCode.Accepted
    assert mode(path) == 0o600
    written = load_settings(path)
    assert written == saved.args[0]
    assert written == Settings(
        backend="openai", model="qwen3-vl-served", base_url="http://10.0.0.5:8000/v1", api_key="sk-secret",
        max_pixels=880 * PIXELS_PER_TOKEN, confirm="always", confirm_timeout_s=30.0, kill_hotkey="ctrl+shift+q",
        risky_regions=["400x300+1500+0", "200x100+-1920+0"], risky_windows=["(?i)bank", "password"],
        denied_chords=["ctrl+alt+delete", "super+l"], max_steps=12, history_dir=str(tmp_path / "runs"),
        history_keep_runs=50, monitor=2,
    )
    # A second dialog shows what was saved.
    assert make_dialog(qtbot, path).settings() == written


def test_values_the_form_rounds_are_kept_unless_changed(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    save_settings(Settings(max_pixels=1_000_000, confirm_timeout_s=12.345), path)
    dialog = make_dialog(qtbot, path)
    dialog.max_steps_spin.setValue(9)
    assert dialog.save()
    assert load_settings(path) == Settings(max_pixels=1_000_000, confirm_timeout_s=12.345, max_steps=9)

    dialog = make_dialog(qtbot, path)
    dialog.image_tokens_spin.setValue(2048)
    assert dialog.settings().max_pixels == 2048 * PIXELS_PER_TOKEN


def test_the_image_budget_is_labelled_in_tokens_and_pixels(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, tmp_path / "config.toml")
    dialog.image_tokens_spin.setValue(1024)
    assert "tokens" in dialog.image_tokens_spin.text()
    assert "1,048,576 pixels" in dialog._pixels_hint.text()


def test_fields_follow_the_backend(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, tmp_path / "config.toml")
    select(dialog.backend_combo, "script")
    assert dialog.script_edit.isEnabled() and dialog.script_browse.isEnabled()
    assert not dialog.base_url_edit.isEnabled() and not dialog.precision_combo.isEnabled()
    select(dialog.backend_combo, "openai")
    assert dialog.base_url_edit.isEnabled() and dialog.api_key_edit.isEnabled()
    assert not dialog.script_edit.isEnabled()
    select(dialog.backend_combo, "local")
    assert dialog.precision_combo.isEnabled() and not dialog.api_key_edit.isEnabled()


def test_the_api_key_is_not_shown(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, tmp_path / "config.toml")
    assert dialog.api_key_edit.echoMode() == dialog.api_key_edit.EchoMode.Password


# --- validation -----------------------------------------------------------------------------------


INVALID = [
    ("kill hotkey with two keys", lambda d: d.kill_hotkey_edit.setText("ctrl+k+j"), "kill_hotkey_edit", "Kill hotkey"),
    ("kill hotkey without a modifier", lambda d: d.kill_hotkey_edit.setText("k"), "kill_hotkey_edit", "Kill hotkey"),
    ("empty kill hotkey", lambda d: d.kill_hotkey_edit.setText(""), "kill_hotkey_edit", "Kill hotkey"),
    ("region", lambda d: d.risky_regions_edit.setPlainText("10x10+0+0\nbig+1+2"), "risky_regions_edit",
     "Risky screen regions, line 2"),
    ("zero-size region", lambda d: d.risky_regions_edit.setPlainText("0x10+0+0"), "risky_regions_edit",
     "Risky screen regions, line 1"),
    ("denied chord", lambda d: d.denied_chords_edit.setPlainText("ctrl+nosuchkey"), "denied_chords_edit",
     "Denied key chords, line 1"),
    ("window pattern", lambda d: d.risky_windows_edit.setPlainText("ok\n(unclosed"), "risky_windows_edit",
     "Risky window titles, line 2"),
    ("empty model", lambda d: d.model_edit.setText("  "), "model_edit", "Model"),
]


@pytest.mark.parametrize(("edit", "widget_name", "words"), [case[1:] for case in INVALID],
                         ids=[case[0] for case in INVALID])
def test_an_invalid_field_is_shown_inline_and_nothing_is_written(
    qtbot: QtBot, tmp_path: Path, edit: Callable[[SettingsDialog], None], widget_name: str, words: str
) -> None:
    path = tmp_path / "config.toml"
    save_settings(Settings(max_steps=5), path)
    before = path.read_bytes()
    dialog = make_dialog(qtbot, path)
    dialog.show()
    edit(dialog)
    with pytest.raises(FieldError) as raised:
        dialog.settings()
    assert isinstance(raised.value, ConfigError)

    emitted: list[object] = []
    dialog.saved.connect(emitted.append)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    assert path.read_bytes() == before
    assert emitted == []
    assert dialog.isVisible()  # still open, so the user can fix it
    assert dialog.problem_label.isVisible()
    assert dialog.problem_label.text().startswith(words)
    assert dialog.problem_label.accessibleName()
    field = getattr(dialog, widget_name)
    assert dialog.focusWidget() is field
    assert field.property("invalid") == "true"
    assert words in field.accessibleDescription()


def test_fixing_the_field_saves_and_clears_the_problem(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    dialog = make_dialog(qtbot, path)
    dialog.kill_hotkey_edit.setText("ctrl+k+j")
    assert not dialog.save()
    assert not path.exists()
    dialog.kill_hotkey_edit.setText("ctrl+alt+j")
    assert dialog.save()
    assert dialog.problem_label.isHidden()
    assert dialog.kill_hotkey_edit.property("invalid") == "false"
    assert load_settings(path).kill_hotkey == "ctrl+alt+j"


@pytest.mark.parametrize(("backend", "setup", "words"), [
    ("openai", lambda d: d.base_url_edit.setText("ftp://server"), "Server URL"),
    ("script", lambda d: d.script_edit.setText(""), "Script file"),
])
def test_the_chosen_backend_needs_its_fields(
    qtbot: QtBot, tmp_path: Path, backend: str, setup: Callable[[SettingsDialog], None], words: str
) -> None:
    path = tmp_path / "config.toml"
    dialog = make_dialog(qtbot, path)
    select(dialog.backend_combo, backend)
    setup(dialog)
    assert not dialog.save()
    assert dialog.problem_label.text().startswith(words)
    assert not path.exists()


# --- a file that cannot be read ------------------------------------------------------------------


@pytest.mark.parametrize(("content", "words"), [
    (CORRUPT, "line 2"),
    (b"max_steps = 0\n", "max_steps"),
    (b"colour = 'blue'\n", "unknown setting 'colour'"),
    (b'risky_regions = ["nonsense"]\n', "nonsense"),
    (b"\xff\xfe\n", "UTF-8"),
])
def test_a_broken_file_is_reported_and_never_overwritten(
    qtbot: QtBot, tmp_path: Path, content: bytes, words: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(content)
    os.chmod(path, 0o644)
    confirm = Answers(True)
    dialog = make_dialog(qtbot, path, confirm)
    dialog.show()

    assert dialog.load_error is not None and words in dialog.load_error
    assert dialog.error_label.isVisible()
    assert words in dialog.error_label.text()
    assert words in dialog.error_label.accessibleDescription()
    assert dialog.error_label.accessibleName()
    assert not dialog.save_button.isEnabled()
    assert dialog.reset_button.isVisible() and dialog.open_folder_button.isVisible()
    assert not dialog.save()
    with pytest.raises(ConfigError):
        load_settings(path)

    dialog.close()
    assert path.read_bytes() == content
    assert mode(path) == 0o644
    assert confirm.questions == []  # nothing asked, nothing replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_the_broken_file_error_names_line_2(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(CORRUPT)
    dialog = make_dialog(qtbot, path)
    assert "line 2" in dialog.error_label.text()
    assert str(path) in dialog.error_label.text()


def test_reset_declined_changes_nothing(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(CORRUPT)
    confirm = Answers(False)
    dialog = make_dialog(qtbot, path, confirm)
    emitted: list[object] = []
    dialog.saved.connect(emitted.append)

    qtbot.mouseClick(dialog.reset_button, Qt.MouseButton.LeftButton)

    assert len(confirm.questions) == 1
    assert str(path) in confirm.questions[0][1]
    assert path.read_bytes() == CORRUPT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]
    assert dialog.load_error is not None and not dialog.save_button.isEnabled()
    assert emitted == []


def test_reset_confirmed_keeps_a_backup_and_writes_the_defaults(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(CORRUPT)
    (tmp_path / "config.toml.broken").write_bytes(b"an older backup\n")
    dialog = make_dialog(qtbot, path, Answers(True))
    dialog.show()

    with qtbot.waitSignal(dialog.saved, timeout=5000) as saved:
        qtbot.mouseClick(dialog.reset_button, Qt.MouseButton.LeftButton)

    assert saved.args[0] == Settings()
    assert load_settings(path) == Settings()
    assert mode(path) == 0o600
    backup = tmp_path / "config.toml.broken-2"  # the older backup is left alone
    assert backup.read_bytes() == CORRUPT
    assert mode(backup) == 0o600
    assert (tmp_path / "config.toml.broken").read_bytes() == b"an older backup\n"
    assert dialog.load_error is None
    assert dialog.save_button.isEnabled() and dialog.error_label.isHidden()
    assert dialog.backend_combo.isVisible()
    assert "config.toml.broken-2" in dialog._notice.text()


def test_the_real_question_defaults_to_cancel(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(CORRUPT)
    dialog = make_dialog(qtbot, path)
    dialog.show()

    def answer(press: Callable[[QMessageBox], None]) -> None:
        box = dialog.confirm_box
        if box is None or not box.isVisible():
            QTimer.singleShot(10, lambda: answer(press))  # the box opens inside reset_to_defaults
            return
        press(box)

    # Enter takes the default button, which must be the harmless one.
    QTimer.singleShot(0, lambda: answer(lambda box: QTest.keyClick(box, Qt.Key.Key_Return)))
    assert dialog.reset_to_defaults() is False
    assert path.read_bytes() == CORRUPT

    dialog.confirm_box = None
    QTimer.singleShot(0, lambda: answer(
        lambda box: next(b for b in box.buttons() if b.text() == "Replace with defaults").click()
    ))
    assert dialog.reset_to_defaults() is True
    assert load_settings(path) == Settings()


def test_a_file_broken_while_the_dialog_is_open_is_not_overwritten(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    save_settings(Settings(), path)
    dialog = make_dialog(qtbot, path)
    path.write_bytes(CORRUPT)  # the user edits the file by hand meanwhile
    dialog.max_steps_spin.setValue(3)
    assert not dialog.save()
    assert path.read_bytes() == CORRUPT
    assert dialog.load_error is not None and "line 2" in dialog.error_label.text()
    assert not dialog.save_button.isEnabled()


# --- keyboard and screen readers -------------------------------------------------------------------


def test_tab_reaches_every_enabled_control_in_order(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, tmp_path / "config.toml")
    select(dialog.backend_combo, "openai")
    expected = [
        dialog.backend_combo, dialog.model_edit, dialog.base_url_edit, dialog.api_key_edit,
        dialog.monitor_spin, dialog.image_tokens_spin, dialog.frame_combo, dialog.screenshots_spin,
        dialog.confirm_combo, dialog.confirm_timeout_spin, dialog.kill_hotkey_edit,
        dialog.denied_chords_edit, dialog.risky_regions_edit, dialog.risky_windows_edit,
        dialog.max_steps_spin, dialog.history_dir_edit, dialog.history_browse, dialog.history_keep_spin,
    ]
    buttons = {dialog.save_button, dialog.cancel_button, dialog.defaults_button}

    visited = tab_chain(dialog, dialog.backend_combo, len(expected) + len(buttons) + 1)

    assert visited[: len(expected)] == expected
    assert set(visited[len(expected): -1]) == buttons
    assert visited[-1] is dialog.backend_combo  # and round again
    for widget in visited:
        assert widget.accessibleName(), widget
        assert widget.accessibleDescription(), widget


def test_tab_in_a_broken_file_dialog_reaches_the_error_and_the_way_out(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(CORRUPT)
    dialog = make_dialog(qtbot, path)
    visited = tab_chain(dialog, dialog.error_label, 5)
    assert visited == [
        dialog.error_label, dialog.reset_button, dialog.open_folder_button, dialog.cancel_button,
        dialog.error_label,
    ]
    assert dialog.cancel_button.text() == "Close"


def test_every_control_has_an_accessible_name_and_a_label(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, tmp_path / "config.toml")
    controls = [
        w for w in dialog.findChildren(QWidget)
        if w.focusPolicy() & Qt.FocusPolicy.TabFocus and not part_of_a_control(w, dialog)
    ]
    assert len(controls) >= 25
    for widget in controls:
        assert widget.accessibleName(), widget
    buddies = {label.buddy() for label in dialog.findChildren(QLabel) if label.buddy() is not None}
    for field in dialog._field_widgets.values():
        assert field in buddies, field.accessibleName()
    # Alt+letter shortcuts are unique, so each one reaches exactly one field.
    texts = [w.text() for w in dialog.findChildren(QLabel) + dialog.findChildren(QPushButton)]
    letters = [m.group(1).lower() for text in texts if (m := re.search(r"&(\w)", text))]
    assert len(letters) >= 20
    assert len(letters) == len(set(letters)), letters


# --- ui.style: colours that meet WCAG --------------------------------------------------------------


@pytest.mark.parametrize(("fg", "bg", "ratio"), [
    ("#000000", "#ffffff", 21.0),
    ("#ffffff", "#000000", 21.0),
    ("#777777", "#777777", 1.0),
    ("#767676", "#ffffff", 4.54),
    ("#777777", "#ffffff", 4.48),
])
def test_contrast_ratio_matches_wcag(fg: str, bg: str, ratio: float) -> None:
    assert style.contrast_ratio(QColor(fg), QColor(bg)) == pytest.approx(ratio, abs=0.01)


@pytest.mark.parametrize("pair", style.COLOUR_PAIRS, ids=[p.use for p in style.COLOUR_PAIRS])
def test_every_colour_pair_meets_its_minimum(pair: style.ColourPair) -> None:
    assert style.contrast_ratio(QColor(pair.foreground), QColor(pair.background)) >= pair.minimum


def test_the_stylesheet_uses_only_checked_colours() -> None:
    used = {c.lower() for c in re.findall(r"#[0-9a-fA-F]{6}\b", style.stylesheet())}
    checked = {c.lower() for p in style.COLOUR_PAIRS for c in (p.foreground, p.background)}
    assert used and used <= checked, used - checked
    # The arrow images the stylesheet names ship inside Qt.
    for url in re.findall(r"url\(([^)]+)\)", style.stylesheet()):
        assert QFile.exists(url), url


def test_the_palette_text_colours_meet_4_5(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, tmp_path / "config.toml")
    palette = dialog.palette()
    role = QPalette.ColorRole
    for fg, bg in [
        (role.WindowText, role.Window), (role.Text, role.Base), (role.ButtonText, role.Button),
        (role.HighlightedText, role.Highlight), (role.PlaceholderText, role.Base),
        (role.ToolTipText, role.ToolTipBase),
    ]:
        for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
            ratio = style.contrast_ratio(palette.color(group, fg), palette.color(group, bg))
            assert ratio >= style.TEXT_MIN_CONTRAST, (fg, bg, group, ratio)
    disabled = style.contrast_ratio(
        palette.color(QPalette.ColorGroup.Disabled, role.WindowText),
        palette.color(QPalette.ColorGroup.Disabled, role.Window),
    )
    assert disabled >= style.TEXT_MIN_CONTRAST


def test_set_accessible_sets_name_description_and_tooltip(qtbot: QtBot) -> None:
    widget = QLabel("x")
    qtbot.addWidget(widget)
    assert style.set_accessible(widget, "Name", "What it does") is widget
    assert (widget.accessibleName(), widget.accessibleDescription(), widget.toolTip()) == (
        "Name", "What it does", "What it does"
    )


def test_settings_without_a_control_keep_their_values_through_a_save(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('narrate = true\nhotkey_read = "ctrl+alt+F9"\nspeech_rate = 220\nrefine = "always"\n', encoding="utf-8")
    dialog = make_dialog(qtbot, path)
    dialog.max_steps_spin.setValue(7)
    assert dialog.save()
    saved = load_settings(path)
    assert (saved.max_steps, saved.narrate, saved.hotkey_read, saved.speech_rate, saved.refine) == (
        7, True, "ctrl+alt+F9", 220, "always")

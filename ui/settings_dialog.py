"""The settings dialog: edits the user's config file, and never overwrites one it cannot read."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError
from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from agent.api import (
    BACKENDS,
    CONFIRM_MODES,
    FRAMES,
    PRECISIONS,
    ConfigError,
    Settings,
    check_settings,
    default_config_path,
    default_history_dir,
    load_settings,
    save_settings,
)
from ui.style import apply_style, set_accessible, set_invalid, set_role

# (title, question) -> True when the user agreed; tests pass their own answer.
Confirm = Callable[[str, str], bool]

PIXELS_PER_TOKEN = 32 * 32  # Qwen3-VL merges 32x32 pixels into one image token

_BACKENDS = tuple(BACKENDS.items())
_PRECISIONS = tuple(PRECISIONS.items())
_CONFIRM_MODES = tuple(CONFIRM_MODES.items())
_FRAMES = tuple(FRAMES.items())

# What each setting is called on screen, for validation messages.
FIELD_LABELS: dict[str, str] = {
    "backend": "Backend",
    "model": "Model",
    "precision": "Precision",
    "base_url": "Server URL",
    "api_key": "API key",
    "script": "Script file",
    "frame": "Coordinate frame",
    "max_steps": "Maximum steps",
    "confirm": "Ask before acting",
    "confirm_timeout_s": "Confirmation timeout",
    "monitor": "Monitor",
    "max_pixels": "Image budget",
    "screenshots_in_prompt": "Screenshots in the prompt",
    "history_dir": "History folder",
    "history_keep_runs": "History size",
    "kill_hotkey": "Kill hotkey",
    "denied_chords": "Denied key chords",
    "risky_regions": "Risky screen regions",
    "risky_windows": "Risky window titles",
    "refine": "Zoom-then-ground",
}


class FieldError(ConfigError):
    """A form value that does not validate; ``field`` names the Settings key it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class SettingsDialog(QDialog):
    """Edits every user setting; Save validates, writes the file atomically (0600) and emits ``saved``.

    A file that cannot be read is shown with its error and left alone: Save is off and
    the only way to replace it is "Reset to defaults", after the user confirms, with the
    broken file kept next to it as a backup.
    """

    saved = Signal(object)  # the Settings just written

    def __init__(
        self, path: Path | None = None, parent: QWidget | None = None, *, confirm: Confirm | None = None
    ) -> None:
        super().__init__(parent)
        self._path = path or default_config_path()
        self._confirm = confirm or self._ask
        self._load_error: str | None = None
        self._shown = Settings()  # what the form was last filled with
        self.confirm_box: QMessageBox | None = None
        self._descriptions: dict[QWidget, str] = {}
        self._invalid: QWidget | None = None
        self.setWindowTitle("Deskpilot settings")
        set_accessible(self, "Deskpilot settings", f"Settings stored in {self._path}")
        self._build()
        apply_style(self)
        self.resize(680, 760)
        try:
            loaded = load_settings(self._path)
        except ConfigError as err:
            self._enter_broken_state(str(err))
        else:
            self._fill(loaded)

    # --- public API -------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The config file this dialog reads and writes."""
        return self._path

    @property
    def load_error(self) -> str | None:
        """Why the file could not be read, or None when it was read (or did not exist)."""
        return self._load_error

    def settings(self) -> Settings:
        """The form as Settings; FieldError (a ConfigError) names the first field that is wrong."""
        data = self._form_values()
        # check_settings first, on the raw values, so its line-numbered messages win over
        # the field types' terser ones for the same mistake.
        self._check(Settings.model_construct(**data))  # type: ignore[arg-type]
        try:
            settings = Settings.model_validate(data)
        except ValidationError as err:
            item = err.errors()[0]
            field = str(item["loc"][0]) if item["loc"] else ""
            label = FIELD_LABELS.get(field, field or "Settings")
            raise FieldError(field, f"{label}: {str(item['msg']).removeprefix('Value error, ')}") from None
        return settings

    def save(self) -> bool:
        """Validate and write the form; on a problem show it next to the buttons and write nothing."""
        self._clear_problem()
        if self._load_error is not None:
            return False
        try:
            settings = self.settings()
        except FieldError as err:
            self._show_problem(str(err), self._field_widgets.get(err.field))
            return False
        try:
            # Someone may have broken the file by hand since the dialog opened; it stays theirs.
            load_settings(self._path)
        except ConfigError as err:
            self._enter_broken_state(str(err))
            return False
        try:
            save_settings(settings, self._path)
        except (OSError, ConfigError) as err:
            self._show_problem(f"Could not save the settings: {_reason(err)}", None)
            return False
        self._shown = settings
        self.saved.emit(settings)
        self.accept()
        return True

    def reset_to_defaults(self) -> bool:
        """After the user confirms, keep a backup of the file and replace it with the defaults."""
        backup_hint = f"{self._path.name}.broken"
        question = (
            f"Replace the settings file\n{self._path}\nwith Deskpilot's default settings?\n\n"
            f"The current file is kept next to it as {backup_hint} (or a numbered variant)."
        )
        if not self._confirm("Reset settings to defaults?", question):
            return False
        settings = Settings()
        try:
            backup = _backup(self._path)
            save_settings(settings, self._path)
        except (OSError, ConfigError) as err:
            self._show_problem(f"Could not reset the settings: {_reason(err)}", None)
            return False
        self._leave_broken_state()
        self._fill(settings)
        kept = f" The old file is kept as {backup.name}." if backup else ""
        self._notice.setText("The settings were reset to the defaults." + kept)
        set_accessible(self._notice, "Settings reset", self._notice.text())
        self._notice.show()
        self.saved.emit(settings)
        return True

    def restore_form_defaults(self) -> None:
        """Put the defaults into the form; nothing is written until Save."""
        self._clear_problem()
        self._fill(Settings())

    # --- building the form ------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)

        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        # Selectable by keyboard makes the banner focusable, so it can be read and copied.
        self.error_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.error_label.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        set_role(self.error_label, "error")
        set_accessible(self.error_label, "Settings file error")
        self.error_label.hide()
        outer.addWidget(self.error_label)

        broken_row = QHBoxLayout()
        self.reset_button = set_accessible(
            QPushButton("&Reset to defaults…"),
            "Reset to defaults",
            "Replace the unreadable settings file with the defaults, after asking; a backup is kept",
        )
        self.reset_button.clicked.connect(self.reset_to_defaults)
        self.open_folder_button = set_accessible(
            QPushButton("&Open the file's folder"),
            "Open the file's folder",
            "Show the folder holding the settings file, to fix the file in a text editor",
        )
        self.open_folder_button.clicked.connect(self._open_folder)
        broken_row.addWidget(self.reset_button)
        broken_row.addWidget(self.open_folder_button)
        broken_row.addStretch(1)
        self._broken_buttons = QWidget()
        self._broken_buttons.setLayout(broken_row)
        self._broken_buttons.hide()
        outer.addWidget(self._broken_buttons)

        self._notice = QLabel()
        self._notice.setWordWrap(True)
        set_role(self._notice, "notice")
        self._notice.hide()
        outer.addWidget(self._notice)

        self._form = QWidget()
        form_layout = QVBoxLayout(self._form)
        form_layout.addWidget(self._model_group())
        form_layout.addWidget(self._screen_group())
        form_layout.addWidget(self._safety_group())
        form_layout.addWidget(self._runs_group())
        form_layout.addStretch(1)
        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setWidget(self._form)
        self._scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # only its fields take focus
        outer.addWidget(self._scroll, 1)
        # Takes the form's room while the form is hidden, so the banner stays its natural size.
        self._filler = QWidget()
        self._filler.hide()
        outer.addWidget(self._filler, 1)

        path_label = QLabel(f"Settings file: {self._path}")
        path_label.setWordWrap(True)
        path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        set_role(path_label, "hint")
        outer.addWidget(path_label)

        self.problem_label = QLabel()
        self.problem_label.setWordWrap(True)
        set_role(self.problem_label, "error")
        self.problem_label.hide()
        outer.addWidget(self.problem_label)

        self._buttons = QDialogButtonBox()
        self.save_button = set_accessible(
            self._buttons.addButton(QDialogButtonBox.StandardButton.Save),
            "Save",
            "Check the settings and write them to the settings file",
        )
        self.cancel_button = set_accessible(
            self._buttons.addButton(QDialogButtonBox.StandardButton.Cancel),
            "Cancel",
            "Close without saving",
        )
        self.defaults_button = set_accessible(
            self._buttons.addButton(QDialogButtonBox.StandardButton.RestoreDefaults),
            "Restore defaults",
            "Put the default settings into the form; nothing is written until Save",
        )
        self.save_button.setText("&Save")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        self.cancel_button.clicked.connect(self.reject)
        self.defaults_button.clicked.connect(self.restore_form_defaults)
        outer.addWidget(self._buttons)

        self._field_widgets: dict[str, QWidget] = {
            "backend": self.backend_combo,
            "model": self.model_edit,
            "precision": self.precision_combo,
            "base_url": self.base_url_edit,
            "api_key": self.api_key_edit,
            "script": self.script_edit,
            "frame": self.frame_combo,
            "max_steps": self.max_steps_spin,
            "confirm": self.confirm_combo,
            "confirm_timeout_s": self.confirm_timeout_spin,
            "monitor": self.monitor_spin,
            "max_pixels": self.image_tokens_spin,
            "screenshots_in_prompt": self.screenshots_spin,
            "history_dir": self.history_dir_edit,
            "history_keep_runs": self.history_keep_spin,
            "kill_hotkey": self.kill_hotkey_edit,
            "denied_chords": self.denied_chords_edit,
            "risky_regions": self.risky_regions_edit,
            "risky_windows": self.risky_windows_edit,
        }
        self._set_tab_order()

    def _model_group(self) -> QGroupBox:
        group, form = _group("Model")
        self.backend_combo = _combo(_BACKENDS)
        self.backend_combo.currentIndexChanged.connect(self._update_backend_fields)
        self._row(form, "&Backend", self.backend_combo, "Where the model runs")

        self.model_edit = QLineEdit()
        self.model_edit.setPlaceholderText("Qwen/Qwen3-VL-8B-Instruct or a folder")
        self.model_browse = QPushButton("Browse…")
        self.model_browse.clicked.connect(self._browse_model)
        set_accessible(
            self.model_browse, "Browse for a model folder", "Choose a folder holding a downloaded model"
        )
        self._row(
            form,
            "&Model",
            self.model_edit,
            "A Hugging Face model id or the folder of a downloaded model; for a server, the name it serves",
            extra=self.model_browse,
        )

        self.precision_combo = _combo(_PRECISIONS)
        self._row(form, "&Precision", self.precision_combo, "How the local model's weights are loaded")

        self.base_url_edit = QLineEdit()
        self.base_url_edit.setPlaceholderText("http://127.0.0.1:8000/v1")
        self._row(form, "Server &URL", self.base_url_edit, "The OpenAI-compatible server's base URL")

        self.api_key_edit = QLineEdit()
        self.api_key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key_edit.setPlaceholderText("none")
        self._row(
            form,
            "API ke&y",
            self.api_key_edit,
            "The server's API key, if it needs one; stored in the settings file, readable only by you",
        )

        self.script_edit = QLineEdit()
        self.script_browse = QPushButton("Browse…")
        self.script_browse.clicked.connect(self._browse_script)
        set_accessible(self.script_browse, "Browse for a script file", "Choose a JSON Lines file of replies")
        self._row(
            form,
            "Scr&ipt file",
            self.script_edit,
            "A JSON Lines file of scripted model replies, for the script backend",
            extra=self.script_browse,
        )
        return group

    def _screen_group(self) -> QGroupBox:
        group, form = _group("Screen")
        self.monitor_spin = QSpinBox()
        self.monitor_spin.setRange(0, 32)
        self._row(
            form,
            "Mo&nitor",
            self.monitor_spin,
            "Which monitor the agent sees: 1 is the primary, 0 all of them together",
        )

        self.image_tokens_spin = QSpinBox()
        self.image_tokens_spin.setRange(64, 16384)
        self.image_tokens_spin.setSingleStep(64)
        self.image_tokens_spin.setSuffix(" image tokens")
        self.image_tokens_spin.setGroupSeparatorShown(True)
        self._pixels_hint = QLabel()
        set_role(self._pixels_hint, "hint")
        self.image_tokens_spin.valueChanged.connect(self._update_pixels_hint)
        self._row(
            form,
            "Ima&ge budget",
            self.image_tokens_spin,
            "How much of each screenshot the model sees, in image tokens of 32 by 32 pixels; "
            "more tokens give finer detail and slower steps",
        )
        form.addRow("", self._pixels_hint)

        self.frame_combo = _combo(_FRAMES)
        self._row(form, "Coordinate &frame", self.frame_combo, "How the model writes screen positions")

        self.screenshots_spin = QSpinBox()
        self.screenshots_spin.setRange(1, 8)
        self._row(
            form,
            "Screens&hots in the prompt",
            self.screenshots_spin,
            "How many recent screenshots the model sees at each step",
        )
        return group

    def _safety_group(self) -> QGroupBox:
        group, form = _group("Safety")
        self.confirm_combo = _combo(_CONFIRM_MODES)
        self._row(form, "&Ask before acting", self.confirm_combo, "When the agent waits for your yes")

        self.confirm_timeout_spin = QDoubleSpinBox()
        self.confirm_timeout_spin.setRange(0.1, 3600.0)
        self.confirm_timeout_spin.setDecimals(1)
        self.confirm_timeout_spin.setSuffix(" s")
        self._row(
            form,
            "Confirmation &timeout",
            self.confirm_timeout_spin,
            "Seconds to wait for your answer before the action is skipped",
        )

        self.kill_hotkey_edit = QLineEdit()
        self.kill_hotkey_edit.setPlaceholderText("ctrl+alt+k")
        self._row(
            form,
            "&Kill hotkey",
            self.kill_hotkey_edit,
            "The key chord that stops the agent at once, e.g. ctrl+alt+k; needs ctrl, alt or super",
        )

        self.denied_chords_edit = _lines_edit("ctrl+alt+delete")
        self._row(
            form,
            "&Denied key chords",
            self.denied_chords_edit,
            "Key chords the agent may never press, one per line",
        )
        self.risky_regions_edit = _lines_edit("400x300+1500+0")
        self._row(
            form,
            "Risky scr&een regions",
            self.risky_regions_edit,
            "Screen areas where every action is confirmed, one per line as WIDTHxHEIGHT+X+Y",
        )
        self.risky_windows_edit = _lines_edit("(?i)bank|password")
        self._row(
            form,
            "Risky &window titles",
            self.risky_windows_edit,
            "Regular expressions, one per line; acting in a window whose title matches is confirmed",
        )
        return group

    def _runs_group(self) -> QGroupBox:
        group, form = _group("Runs and history")
        self.max_steps_spin = QSpinBox()
        self.max_steps_spin.setRange(1, 1000)
        self._row(form, "Ma&ximum steps", self.max_steps_spin, "A run gives up after this many steps")

        self.history_dir_edit = QLineEdit()
        self.history_dir_edit.setPlaceholderText(str(default_history_dir()))
        self.history_browse = QPushButton("Browse…")
        self.history_browse.clicked.connect(self._browse_history)
        set_accessible(self.history_browse, "Browse for a history folder", "Choose where runs are kept")
        self._row(
            form,
            "History fo&lder",
            self.history_dir_edit,
            f"Where runs and their screenshots are kept; empty means {default_history_dir()}",
            extra=self.history_browse,
        )

        self.history_keep_spin = QSpinBox()
        self.history_keep_spin.setRange(0, 100_000)
        self.history_keep_spin.setSuffix(" runs")
        self._row(form, "History si&ze", self.history_keep_spin, "How many recent runs the history keeps")
        return group

    def _row(
        self,
        form: QFormLayout,
        label_text: str,
        widget: QWidget,
        description: str,
        extra: QWidget | None = None,
    ) -> None:
        label = QLabel(label_text)
        label.setBuddy(widget)  # Alt+letter jumps to the field, and readers pair label and field
        name = label_text.replace("&", "")
        set_accessible(widget, name, description)
        self._descriptions[widget] = description
        if extra is None:
            form.addRow(label, widget)
            return
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(widget, 1)
        row.addWidget(extra)
        form.addRow(label, row)

    def _set_tab_order(self) -> None:
        chain: list[QWidget] = [
            self.error_label,
            self.reset_button,
            self.open_folder_button,
            self.backend_combo,
            self.model_edit,
            self.model_browse,
            self.precision_combo,
            self.base_url_edit,
            self.api_key_edit,
            self.script_edit,
            self.script_browse,
            self.monitor_spin,
            self.image_tokens_spin,
            self.frame_combo,
            self.screenshots_spin,
            self.confirm_combo,
            self.confirm_timeout_spin,
            self.kill_hotkey_edit,
            self.denied_chords_edit,
            self.risky_regions_edit,
            self.risky_windows_edit,
            self.max_steps_spin,
            self.history_dir_edit,
            self.history_browse,
            self.history_keep_spin,
        ]
        # The button box comes last and orders its own buttons as the platform lays them out.
        for first, second in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(first, second)

    # --- form <-> settings ------------------------------------------------------------------

    def _fill(self, settings: Settings) -> None:
        self._shown = settings
        _select(self.backend_combo, settings.backend)
        self.model_edit.setText(settings.model)
        _select(self.precision_combo, settings.precision)
        self.base_url_edit.setText(settings.base_url)
        self.api_key_edit.setText(settings.api_key)
        self.script_edit.setText(settings.script)
        self.monitor_spin.setValue(settings.monitor)
        self.image_tokens_spin.setValue(round(settings.max_pixels / PIXELS_PER_TOKEN))
        _select(self.frame_combo, settings.frame)
        self.screenshots_spin.setValue(settings.screenshots_in_prompt)
        _select(self.confirm_combo, settings.confirm)
        self.confirm_timeout_spin.setValue(settings.confirm_timeout_s)
        self.kill_hotkey_edit.setText(settings.kill_hotkey)
        self.denied_chords_edit.setPlainText("\n".join(settings.denied_chords))
        self.risky_regions_edit.setPlainText("\n".join(settings.risky_regions))
        self.risky_windows_edit.setPlainText("\n".join(settings.risky_windows))
        self.max_steps_spin.setValue(settings.max_steps)
        self.history_dir_edit.setText(settings.history_dir)
        self.history_keep_spin.setValue(settings.history_keep_runs)
        self._update_backend_fields()
        self._update_pixels_hint()

    def _form_values(self) -> dict[str, object]:
        # Values the spin boxes round (a pixel budget that is not a whole number of tokens, a
        # timeout with more decimals) are kept as they were unless the user changed them.
        tokens = self.image_tokens_spin.value()
        max_pixels = tokens * PIXELS_PER_TOKEN
        if tokens == round(self._shown.max_pixels / PIXELS_PER_TOKEN):
            max_pixels = self._shown.max_pixels
        timeout = self.confirm_timeout_spin.value()
        if timeout == round(self._shown.confirm_timeout_s, 1):
            timeout = self._shown.confirm_timeout_s
        # Settings without a control here (speech, the tray's hotkeys, refine...) keep what
        # the file says: the form only overrides what it shows.
        values: dict[str, object] = self._shown.model_dump()
        values.update(
            {
                "backend": self.backend_combo.currentData(),
                "model": self.model_edit.text().strip(),
                "precision": self.precision_combo.currentData(),
                "base_url": self.base_url_edit.text().strip(),
                "api_key": self.api_key_edit.text().strip(),
                "script": self.script_edit.text().strip(),
                "frame": self.frame_combo.currentData(),
                "max_steps": self.max_steps_spin.value(),
                "confirm": self.confirm_combo.currentData(),
                "confirm_timeout_s": timeout,
                "monitor": self.monitor_spin.value(),
                "max_pixels": max_pixels,
                "screenshots_in_prompt": self.screenshots_spin.value(),
                "history_dir": self.history_dir_edit.text().strip(),
                "history_keep_runs": self.history_keep_spin.value(),
                "kill_hotkey": self.kill_hotkey_edit.text().strip(),
                "denied_chords": _lines(self.denied_chords_edit),
                "risky_regions": _lines(self.risky_regions_edit),
                "risky_windows": _lines(self.risky_windows_edit),
            }
        )
        return values

    def _check(self, settings: Settings) -> None:
        """The checks a run makes (``check_settings``), worded with the form's labels."""
        for problem in check_settings(settings):
            label = FIELD_LABELS.get(problem.field, problem.field)
            line = re.match(r"line (\d+): (.*)", problem.message, re.S)
            text = f"{label}, line {line[1]}: {line[2]}" if line else f"{label}: {problem.message}"
            raise FieldError(problem.field, text)

    # --- states and messages ----------------------------------------------------------------

    def _enter_broken_state(self, message: str) -> None:
        self._load_error = message
        text = (
            "Deskpilot cannot read its settings file, so it has left the file as it is.\n\n"
            f"{message}\n\n"
            "Fix the file in a text editor and open Settings again, or reset it to the defaults."
        )
        self.error_label.setText(text)
        set_accessible(self.error_label, "Settings file error", text)
        self.error_label.show()
        self._broken_buttons.show()
        self._scroll.hide()
        self._filler.show()
        self._notice.hide()
        self.save_button.setEnabled(False)
        self.defaults_button.hide()  # "Reset to defaults…" above is the way out of this state
        self.cancel_button.setText("Close")
        self.error_label.setFocus(Qt.FocusReason.OtherFocusReason)

    def _leave_broken_state(self) -> None:
        self._load_error = None
        self.error_label.hide()
        self._broken_buttons.hide()
        self._scroll.show()
        self._filler.hide()
        self.save_button.setEnabled(True)
        self.defaults_button.show()
        self.cancel_button.setText("Cancel")
        self.backend_combo.setFocus(Qt.FocusReason.OtherFocusReason)

    def _show_problem(self, message: str, widget: QWidget | None) -> None:
        self.problem_label.setText(message)
        set_accessible(self.problem_label, "Problem", message)
        self.problem_label.show()
        if widget is None:
            return
        self._invalid = widget
        set_invalid(widget, True)
        # Screen readers announce the description when focus lands on the field.
        widget.setAccessibleDescription(f"{message}. {self._descriptions.get(widget, '')}")
        if widget.isEnabled():
            widget.setFocus(Qt.FocusReason.OtherFocusReason)
            self._scroll.ensureWidgetVisible(widget)

    def _clear_problem(self) -> None:
        self.problem_label.hide()
        self.problem_label.clear()
        if self._invalid is not None:
            set_invalid(self._invalid, False)
            self._invalid.setAccessibleDescription(self._descriptions.get(self._invalid, ""))
            self._invalid = None

    def _update_backend_fields(self) -> None:
        backend = self.backend_combo.currentData()
        self.model_edit.setEnabled(backend != "script")
        self.model_browse.setEnabled(backend == "local")
        self.precision_combo.setEnabled(backend == "local")
        self.base_url_edit.setEnabled(backend == "openai")
        self.api_key_edit.setEnabled(backend == "openai")
        self.script_edit.setEnabled(backend == "script")
        self.script_browse.setEnabled(backend == "script")

    def _update_pixels_hint(self) -> None:
        pixels = self.image_tokens_spin.value() * PIXELS_PER_TOKEN
        self._pixels_hint.setText(f"= {pixels:,} pixels per screenshot (1 token = 32×32 pixels)")

    # --- pop-ups ----------------------------------------------------------------------------

    def _ask(self, title: str, question: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Warning, title, question, parent=self)
        replace = box.addButton("Replace with defaults", QMessageBox.ButtonRole.DestructiveRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)  # Enter must not destroy anything
        box.setEscapeButton(cancel)
        set_accessible(box, title, question)
        self.confirm_box = box  # for tests that answer the real box
        box.exec()
        return box.clickedButton() is replace

    def _open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._path.parent)))

    def _browse_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a model folder", self.model_edit.text())
        if folder:
            self.model_edit.setText(folder)

    def _browse_script(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, "Choose a script file", self.script_edit.text(), "JSON Lines (*.jsonl);;All files (*)"
        )
        if name:
            self.script_edit.setText(name)

    def _browse_history(self) -> None:
        start = self.history_dir_edit.text() or str(default_history_dir())
        folder = QFileDialog.getExistingDirectory(self, "Choose a history folder", start)
        if folder:
            self.history_dir_edit.setText(folder)


def _group(title: str) -> tuple[QGroupBox, QFormLayout]:
    group = QGroupBox(title)
    form = QFormLayout(group)
    # Wrapped rows keep long labels readable at large font sizes.
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
    return group, form


def _combo(choices: tuple[tuple[str, str], ...]) -> QComboBox:
    combo = QComboBox()
    for value, text in choices:
        combo.addItem(text, value)
    return combo


def _select(combo: QComboBox, value: str) -> None:
    index = combo.findData(value)
    combo.setCurrentIndex(max(index, 0))


def _lines_edit(example: str) -> QPlainTextEdit:
    edit = QPlainTextEdit()
    edit.setTabChangesFocus(True)  # otherwise Tab types a tab and keyboard users are stuck
    edit.setPlaceholderText(f"one per line, e.g. {example}")
    edit.setFixedHeight(edit.fontMetrics().lineSpacing() * 5 + 12)
    return edit


def _lines(edit: QPlainTextEdit) -> list[str]:
    return [line.strip() for line in edit.toPlainText().splitlines() if line.strip()]


def _reason(err: OSError | ConfigError) -> str:
    if isinstance(err, OSError):
        return f"{err.strerror or err} ({err.filename})" if err.filename else str(err.strerror or err)
    return str(err)


def _backup(path: Path) -> Path | None:
    """Copy ``path`` (if it exists) to a new ``NAME.broken[-N]`` beside it, private; returns the copy."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    for n in range(1, 1000):
        backup = path.with_name(f"{path.name}.broken" + ("" if n == 1 else f"-{n}"))
        try:
            # O_EXCL: an earlier backup is never overwritten.
            fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return backup
    raise ConfigError(f"cannot keep a backup of {path}: too many backups next to it")

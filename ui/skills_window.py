"""The Skills window: capture a region, pick a skill, see the validated result (Copy, Save, HTML preview)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtGui import QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agent.api import (
    ConfigError,
    DeskpilotError,
    Session,
    Settings,
    SkillOutputError,
    capture_for_skill,
    default_lang,
    parse_region,
    render_preview,
    save_private_text,
    skill_job,
    skill_names,
)
from ui.style import set_accessible

log = logging.getLogger(__name__)


class SkillWorker(QObject):
    """Captures (with Deskpilot's windows hidden), asks the model, and renders an HTML preview."""

    captured = Signal()
    finished = Signal(str, bool, object)  # text, is_html, preview PIL image or None
    failed = Signal(str)

    def __init__(
        self,
        session: Session,
        settings: Settings,
        skill: str,
        region: str,
        lang: str,
        wrap_computer: Callable[[Any], Any],
        stop: threading.Event,
    ) -> None:
        super().__init__()
        self._session, self._settings, self._skill = session, settings, skill
        self._region, self._lang, self._wrap, self._stop = region, lang, wrap_computer, stop

    @Slot()
    def run(self) -> None:
        try:
            target: Any = parse_region(self._region) if self._region.strip() else self._settings.monitor
            try:
                image = capture_for_skill(target, self._stop, self._wrap)
            finally:
                self.captured.emit()
            job = skill_job(self._skill, [image], {}, self._lang, self._settings.max_pixels)
            result = self._session.run_skill(self._settings, job, stop=self._stop)
            is_html = job.skill.output == "html"
            preview = None
            if is_html:
                try:
                    preview = render_preview(result.validated.text, image.size, self._stop)
                except ConfigError as err:  # no Chromium: the HTML is still the result
                    log.info("no preview: %s", err)
            self.finished.emit(result.validated.text, is_html, preview)
        except SkillOutputError as err:
            self.failed.emit(f"{err} (nothing was made up in its place)")
        except DeskpilotError as err:
            self.failed.emit(str(err))
        except Exception as err:  # a bug must surface in the window, not kill the thread silently
            log.exception("skill failed")
            self.failed.emit(f"internal error: {err}")


class SkillsWindow(QWidget):
    """Pick a skill and a region, run it, and keep the result: Copy, Save, and a preview for HTML."""

    run_requested = Signal(str, str, str)  # skill, region (empty: the monitor), language

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Deskpilot skills")
        self.skill = QComboBox()
        self.skill.addItems(skill_names())
        set_accessible(self.skill, "Skill", "The screen skill to run on the captured region")
        self.region = QLineEdit()
        self.region.setPlaceholderText("WxH+X+Y; empty: the whole monitor")
        set_accessible(self.region, "Region", "The screen rectangle to capture, as WIDTHxHEIGHT+X+Y")
        self.lang = QComboBox()
        self.lang.addItems(["en", "zh"])
        self.lang.setCurrentText(default_lang())
        set_accessible(self.lang, "Language", "The language of the prompt and the answer")
        self.run = QPushButton("Capture and run")
        set_accessible(self.run, "Capture and run", "Capture the region and run the skill on it")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.result = QPlainTextEdit()
        self.result.setReadOnly(True)
        set_accessible(self.result, "Result", "The model's validated answer")
        self.copy = QPushButton("Copy")
        set_accessible(self.copy, "Copy", "Copy the result to the clipboard")
        self.save = QPushButton("Save…")
        set_accessible(self.save, "Save", "Save the result to a file (readable only by you)")
        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        set_accessible(self.preview, "Preview", "The HTML result as Chromium renders it")
        self.preview.hide()

        form = QFormLayout()
        form.addRow("Skill", self.skill)
        form.addRow("Region", self.region)
        form.addRow("Language", self.lang)
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy)
        buttons.addWidget(self.save)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.run)
        layout.addWidget(self.status)
        layout.addWidget(self.result, 1)
        layout.addWidget(self.preview)
        layout.addLayout(buttons)
        self.run.clicked.connect(self._run)
        self.copy.clicked.connect(self.copy_result)
        self.save.clicked.connect(self._save_dialog)
        self.set_result_actions(False)

    def _run(self) -> None:
        self.run_requested.emit(self.skill.currentText(), self.region.text(), self.lang.currentText())

    def set_result_actions(self, enabled: bool) -> None:
        self.copy.setEnabled(enabled)
        self.save.setEnabled(enabled)

    def show_busy(self, message: str) -> None:
        self.run.setEnabled(False)
        self.status.setText(message)

    def show_result(self, text: str, is_html: bool, preview: Any) -> None:
        self.run.setEnabled(True)
        self.result.setPlainText(text)
        self.set_result_actions(True)
        self.status.setText("Done: the answer passed the skill's checks.")
        if is_html and preview is not None:
            rgb = preview.convert("RGB")
            image = QImage(rgb.tobytes(), rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888)
            self.preview.setPixmap(QPixmap.fromImage(image.copy()).scaledToWidth(480))
            self.preview.show()
        else:
            self.preview.clear()
            self.preview.hide()

    def show_error(self, message: str) -> None:
        self.run.setEnabled(True)
        self.status.setText(f"Failed: {message}")

    def copy_result(self) -> None:
        QGuiApplication.clipboard().setText(self.result.toPlainText())

    def save_to(self, path: Path) -> None:
        save_private_text(path, self.result.toPlainText())
        self.status.setText(f"Saved {path}")

    def _save_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save the result")
        if name:
            self.save_to(Path(name))


class SkillRunner(QObject):
    """Wires the window to a worker thread; the window hides while the screen is captured."""

    def __init__(
        self,
        window: SkillsWindow,
        session: Session,
        settings_loader: Callable[[], Settings],
        wrap_computer: Callable[[Any], Any],
    ) -> None:
        super().__init__()
        self.window, self._session, self._load, self._wrap = window, session, settings_loader, wrap_computer
        self._thread: QThread | None = None
        self._worker: SkillWorker | None = None
        self.stop = threading.Event()
        window.run_requested.connect(self.start)

    @property
    def running(self) -> bool:
        return self._thread is not None

    @Slot(str, str, str)
    def start(self, skill: str, region: str, lang: str) -> None:
        if self.running:
            return
        try:
            settings = self._load()
            if region.strip():
                parse_region(region)
        except ConfigError as err:
            self.window.show_error(str(err))
            return
        self.stop = threading.Event()
        self.window.show_busy("capturing …")
        self.window.hide()  # Deskpilot's own window is never in the capture
        thread = QThread()
        worker = SkillWorker(self._session, settings, skill, region, lang, self._wrap, self.stop)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.captured.connect(self._captured)
        worker.finished.connect(self.window.show_result)
        worker.failed.connect(self.window.show_error)
        worker.finished.connect(thread.quit)
        worker.failed.connect(thread.quit)
        thread.finished.connect(self._cleanup)
        self._thread, self._worker = thread, worker
        thread.start()

    def _captured(self) -> None:
        self.window.show()
        self.window.show_busy("asking the model …")

    def _cleanup(self) -> None:
        if self._thread is not None:
            self._thread.wait()
        self._thread, self._worker = None, None

    def shutdown(self) -> None:
        self.stop.set()
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait(10_000)

"""The tray's Skills window on the real X server: the capture leaves it out, the result is shown, copied, saved."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from agent.api import Session, Settings
from agent.testing.chat_server import CannedChatServer, request_images, serving
from tests.test_skill_validators import ALT, PAGE
from ui.skills_window import SkillRunner, SkillsWindow


@pytest.fixture
def window(qtbot: QtBot, x_display: str) -> SkillsWindow:
    window = SkillsWindow()
    qtbot.addWidget(window)
    return window


def run(qtbot: QtBot, window: SkillsWindow, server: CannedChatServer, skill: str, region: str) -> SkillRunner:
    settings = Settings(backend="openai", base_url=server.url, model="canned")
    runner = SkillRunner(window, Session(), lambda: settings, lambda computer: computer)
    window.skill.setCurrentText(skill)
    window.region.setText(region)
    window.run.click()
    qtbot.waitUntil(lambda: not runner.running and window.run.isEnabled(), timeout=30_000)
    return runner


def test_the_window_is_not_in_its_own_capture_and_shows_the_result(
    qtbot: QtBot, window: SkillsWindow, probe: Any, tmp_path: Path
) -> None:
    probe("--geometry", "384x256+600+400", "--colour", "#12c034")
    window.setGeometry(600, 400, 384, 256)
    window.show()
    qtbot.waitExposed(window)
    with serving(CannedChatServer(reply=lambda _body: f'"{ALT}"')) as server:
        run(qtbot, window, server, "alt-text", "384x256+600+400")
    assert window.status.text().startswith("Done"), window.status.text()
    assert window.result.toPlainText() == ALT + "\n"
    shown = request_images(server.requests[0])[0]
    colours = shown.getcolors(maxcolors=4096) or []
    green = sum(n for n, (r, g, b) in colours if abs(r - 0x12) < 16 and abs(g - 0xC0) < 16 and abs(b - 0x34) < 16)
    assert green / (shown.width * shown.height) > 0.98  # only the window underneath, none of ours
    assert window.isVisible()
    window.copy_result()
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == ALT + "\n"
    window.save_to(tmp_path / "alt.txt")
    assert (tmp_path / "alt.txt").read_text(encoding="utf-8") == ALT + "\n"
    assert stat.S_IMODE((tmp_path / "alt.txt").stat().st_mode) == 0o600


def test_html_gets_a_chromium_preview(qtbot: QtBot, window: SkillsWindow) -> None:
    with serving(CannedChatServer(reply=lambda _body: f"```html\n{PAGE}\n```")) as server:
        run(qtbot, window, server, "design-to-html", "384x256+0+0")
    assert window.result.toPlainText() == PAGE + "\n"
    assert window.preview.isVisibleTo(window) and not window.preview.pixmap().isNull()


def test_a_rejected_answer_is_reported_not_shown(qtbot: QtBot, window: SkillsWindow) -> None:
    with serving(CannedChatServer(reply=lambda _body: "short")) as server:
        run(qtbot, window, server, "alt-text", "384x256+0+0")
    assert len(server.requests) == 2
    assert window.status.text().startswith("Failed: alt-text: the model's answer was rejected twice")
    assert window.result.toPlainText() == "" and not window.copy.isEnabled()

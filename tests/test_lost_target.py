"""ui.lost_target: healing tier (e) asked in the tray; Enter, Esc, a click on the picture, the timeout."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from agent.api import Frame, LostTarget, Region
from agent.geometry import CaptureGeometry
from ui.lost_target import LostTargetWindow

# A HiDPI monitor right of the primary: 2 image pixels per input unit, origin (1920, 0).
GEOMETRY = CaptureGeometry(Region(1920, 0, 960, 540), 1920, 1080)


def question(best: bool = True) -> LostTarget:
    return LostTarget(
        number=3,
        words="Click at (2150, 160)",
        crop=Image.new("RGB", (40, 30), (200, 30, 30)),
        frame=Frame(Image.new("RGB", (1920, 1080), (240, 240, 240)), GEOMETRY),
        reason="the anchor is not on the screen (best score 0.41)",
        best_box=(400, 300, 40, 30) if best else None,
        best_point=(2140, 157) if best else None,
        best_score=0.41 if best else None,
    )


def asked(qtbot: QtBot, q: LostTarget, timeout_s: float = 30.0) -> tuple[LostTargetWindow, list[object]]:
    window = LostTargetWindow(arm_delay_s=0.0)
    qtbot.addWidget(window)
    answers: list[object] = []
    window.decided.connect(answers.append)
    window.ask(q, timeout_s)
    qtbot.waitUntil(lambda: window._armed)
    return window, answers


def test_enter_accepts_the_best_candidate(qtbot: QtBot) -> None:
    window, answers = asked(qtbot, question())
    QTest.keyClick(window, Qt.Key.Key_Return)
    assert answers == [(2140, 157)] and not window.isVisible()


def test_escape_stops(qtbot: QtBot) -> None:
    window, answers = asked(qtbot, question())
    QTest.keyClick(window, Qt.Key.Key_Escape)
    assert answers == [None] and not window.isVisible()


def test_a_click_on_the_picture_is_that_screen_point_through_the_frame_geometry(qtbot: QtBot) -> None:
    window, answers = asked(qtbot, question())
    picture = window.picture
    factor = picture.factor
    assert factor < 1.0  # 1920x1080 is shown scaled down
    # Image pixel (1000, 600) on the scaled picture: screen (1920 + 500, 0 + 300).
    QTest.mouseClick(picture, Qt.MouseButton.LeftButton, pos=QPoint(round(1000 * factor) + 1, round(600 * factor) + 1))
    (point,) = answers
    assert isinstance(point, tuple)
    assert abs(point[0] - 2420) <= 1 and abs(point[1] - 300) <= 1


def test_without_a_candidate_enter_accepts_nothing(qtbot: QtBot) -> None:
    window, answers = asked(qtbot, question(best=False))
    assert not window.accept_button.isEnabled()
    QTest.keyClick(window, Qt.Key.Key_Return)
    assert answers == [] and window.question is not None
    QTest.keyClick(window, Qt.Key.Key_Escape)
    assert answers == [None]


def test_the_countdown_running_out_stops(qtbot: QtBot) -> None:
    window, answers = asked(qtbot, question(), timeout_s=0.2)
    qtbot.waitUntil(lambda: answers == [None], timeout=5000)
    assert not window.isVisible()


def test_a_withdrawn_question_gets_no_answer(qtbot: QtBot) -> None:
    window, answers = asked(qtbot, question())
    window.hide_now()
    QTest.keyClick(window, Qt.Key.Key_Return)
    assert answers == [] and not window.isVisible()


def test_the_window_and_its_controls_have_accessible_names(qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QPushButton

    window, _ = asked(qtbot, question())
    buttons = window.findChildren(QPushButton)
    assert buttons and all(b.accessibleName() for b in buttons)
    assert window.picture.accessibleName() == "Current screen" and window.crop.accessibleName() == "Recorded target"
    assert "Step 3 (Click at (2150, 160))" in window.accessibleDescription()
    keys = [b.text()[b.text().index("&") + 1].lower() for b in buttons]
    assert len(keys) == len(set(keys))

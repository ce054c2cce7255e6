"""Healing tier (e) in the tray: a macro step's target was found by no tier, so the user is asked.

The window shows the recorded crop beside the current screen with the best candidate
boxed. Enter accepts the candidate, a click on the screen picture points at the target
there (mapped through the frame's geometry to a screen point), Esc or Stop stops the
replay, and so does the countdown running out. Whatever the answer, the player still
sends the action through the policy and the confirmation.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from PySide6.QtCore import QPoint, QRect, Qt, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QGuiApplication,
    QHideEvent,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from agent.api import LostTarget, image_to_screen
from ui.keyboard_grab import KeyboardGrab
from ui.style import apply_style, set_accessible

log = logging.getLogger(__name__)

TITLE = "Deskpilot: where is the target?"
# Enter is ignored for this long after the window appears, as on the confirmation
# overlay: a key meant for another window must not accept a candidate unseen.
ARM_DELAY_S = 0.5
PICTURE_MAX = (960, 600)  # the screen picture is scaled down to fit this (logical pixels)
CROP_MIN_SIDE = 96  # small crops are scaled up to at least this, so they can be seen
CANDIDATE = "#ff2bd1"  # the overlay's marker colour: no theme uses it


def _pixmap(image: Any) -> QPixmap:
    """A PIL image as a QPixmap (a copy: the bytes buffer does not outlive this call)."""
    rgb = image.convert("RGB")
    qimage = QImage(rgb.tobytes(), rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(qimage.copy())


class ScreenPicture(QLabel):
    """The current screen, scaled; a left click reports the image pixel under it."""

    clicked_at = Signal(int, int)  # image pixels of the frame

    def __init__(self) -> None:
        super().__init__()
        self.factor = 1.0  # displayed pixels per image pixel
        self.setCursor(Qt.CursorShape.CrossCursor)

    def show_frame(self, image: Any, box: tuple[int, int, int, int] | None) -> None:
        pixmap = _pixmap(image)
        if box is not None:
            painter = QPainter(pixmap)
            for colour, width in ((QColor(0, 0, 0, 230), 8), (QColor(CANDIDATE), 4)):
                painter.setPen(QPen(colour, width))
                painter.drawRect(QRect(box[0], box[1], box[2], box[3]))
            painter.end()
        self.factor = min(
            1.0, PICTURE_MAX[0] / max(1, pixmap.width()), PICTURE_MAX[1] / max(1, pixmap.height())
        )
        shown = pixmap.scaled(
            max(1, round(pixmap.width() * self.factor)),
            max(1, round(pixmap.height() * self.factor)),
            Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.setPixmap(shown)
        # Exactly the picture's size: a click's position is then its place on the picture.
        self.setFixedSize(shown.size())

    def image_point(self, pos: QPoint) -> tuple[int, int]:
        return (math.floor(pos.x() / self.factor), math.floor(pos.y() / self.factor))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if event.button() == Qt.MouseButton.LeftButton:
            x, y = self.image_point(event.position().toPoint())
            self.clicked_at.emit(x, y)
            return
        super().mousePressEvent(event)


class LostTargetWindow(QWidget):
    """Asks where a lost macro target is; one ``decided(point or None)`` per ``ask``.

    ``point`` is a screen point in input units, like the ones the player acts on. The
    window is unmapped before ``decided`` is emitted, so the click that follows never
    lands on it. ``hide_now()`` withdraws the question without a decision.
    """

    decided = Signal(object)  # tuple[int, int] | None

    def __init__(self, *, arm_delay_s: float = ARM_DELAY_S) -> None:
        super().__init__(None, Qt.WindowType.Window | Qt.WindowType.WindowStaysOnTopHint)
        self.setWindowTitle(TITLE)
        self.setObjectName("deskpilotWindow")
        apply_style(self)
        set_accessible(
            self,
            "Deskpilot: where is the target?",
            "A macro step's target was not found. Enter accepts the boxed candidate, a click on the "
            "screen picture points at the target, Esc stops the replay",
        )
        self._arm_delay_s = arm_delay_s
        self._question: LostTarget | None = None
        self._armed = False
        self._deadline = 0.0

        self.headline = QLabel("")
        self.headline.setTextFormat(Qt.TextFormat.PlainText)
        self.headline.setWordWrap(True)
        self.detail = QLabel("")
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.detail.setWordWrap(True)
        self.countdown = QLabel("")
        self.crop = set_accessible(QLabel(), "Recorded target", "The crop of the target as it was recorded")
        self.crop.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        self.picture = set_accessible(
            ScreenPicture(),
            "Current screen",
            "The screen now; the best candidate is boxed. Click where the target is",
        )
        self.picture.clicked_at.connect(self._on_picture_click)
        self.accept_button = set_accessible(
            QPushButton("&Accept the candidate"), "Accept the candidate", "Act on the boxed candidate (Enter)"
        )
        self.stop_button = set_accessible(
            QPushButton("&Stop the replay"), "Stop the replay", "Stop here; nothing is clicked (Esc)"
        )
        self.accept_button.setAutoDefault(True)
        self.stop_button.setAutoDefault(True)
        self.accept_button.clicked.connect(self._on_accept)
        self.stop_button.clicked.connect(lambda: self._decide(None))

        pictures = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(QLabel("Recorded:"))
        left.addWidget(self.crop)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(QLabel("Now (click where it is):"))
        right.addWidget(self.picture)
        pictures.addLayout(left)
        pictures.addLayout(right, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.accept_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        buttons.addWidget(self.countdown)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.detail)
        layout.addLayout(pictures)
        layout.addLayout(buttons)

        self._timeout = QTimer(self, singleShot=True)
        self._timeout.timeout.connect(lambda: self._decide(None))
        self._tick = QTimer(self, interval=250)
        self._tick.timeout.connect(self._update_countdown)
        self._arm = QTimer(self, singleShot=True)
        self._arm.timeout.connect(self._on_armed)
        # Enter and Esc must reach this window wherever the pointer is (see ui.keyboard_grab).
        self._grab = KeyboardGrab(self, "lost-target window")

    @property
    def question(self) -> LostTarget | None:
        return self._question

    def ask(self, question: LostTarget, timeout_s: float) -> None:
        """Show ``question`` and start the countdown (after which it stops)."""
        self._question = question
        self._armed = False
        self._deadline = time.monotonic() + timeout_s
        headline = f"Step {question.number} ({question.words}): the target is not on the screen"
        self.headline.setText(headline)
        if question.best_box is not None and question.best_score is not None:
            detail = (
                f"The closest match (boxed, score {question.best_score:.2f}) was not close enough. "
                "Enter accepts it, a click on the picture points at the target, Esc stops."
            )
        else:
            detail = "Nothing on the screen resembles it. Click on the picture where it is, or Esc stops."
        self.detail.setText(detail)
        self.setAccessibleDescription(f"{headline}. {detail}")
        crop = _pixmap(question.crop)
        if min(crop.width(), crop.height()) < CROP_MIN_SIDE:
            factor = CROP_MIN_SIDE / max(1, min(crop.width(), crop.height()))
            crop = crop.scaled(round(crop.width() * factor), round(crop.height() * factor))
        self.crop.setPixmap(crop)
        self.picture.show_frame(question.frame.image, question.best_box)
        self.accept_button.setEnabled(question.best_point is not None)
        self._update_countdown()
        self._timeout.start(max(0, round(timeout_s * 1000)))
        self._tick.start()
        self._arm.start(max(0, round(self._arm_delay_s * 1000)))
        self.show()
        self.raise_()
        self.activateWindow()
        self._grab.start()
        (self.accept_button if self.accept_button.isEnabled() else self.stop_button).setFocus()

    def has_keyboard_grab(self) -> bool:
        return self._grab.grabbed

    def hide_now(self) -> None:
        """Withdraw the question (the replay stopped meanwhile): no ``decided`` follows."""
        self._question = None
        self._stop_timers()
        self._unmap()

    def screen_point(self, image_x: int, image_y: int) -> tuple[int, int] | None:
        """An image pixel of the question's frame as a screen point (input units), or None off it."""
        if self._question is None:
            return None
        frame = self._question.frame
        g = frame.geometry
        if not (0 <= image_x < frame.image.width and 0 <= image_y < frame.image.height):
            return None
        return image_to_screen((image_x, image_y), g)

    # -- answers ---------------------------------------------------------------------------
    def _on_armed(self) -> None:
        self._armed = True

    def _on_accept(self) -> None:
        if self._question is not None and self._armed and self._question.best_point is not None:
            self._decide(self._question.best_point)

    def _on_picture_click(self, image_x: int, image_y: int) -> None:
        point = self.screen_point(image_x, image_y)
        if point is not None:
            self._decide(point)

    def _decide(self, point: tuple[int, int] | None) -> None:
        if self._question is None:
            return
        self._question = None
        self._stop_timers()
        self._unmap()  # off the screen before the player acts where the user pointed
        self.decided.emit(point)

    def _stop_timers(self) -> None:
        for timer in (self._timeout, self._tick, self._arm):
            timer.stop()

    def _unmap(self) -> None:
        grabbed = self._grab.grabbed
        self._grab.release()
        if self.isVisible() or grabbed:
            self.hide()
            QGuiApplication.sync()  # the server has unmapped it (and ungrabbed) when this returns

    def _update_countdown(self) -> None:
        left = max(1, math.ceil(self._deadline - time.monotonic() - 1e-6))
        self.countdown.setText(f"Stops in {left} s")

    # -- Qt overrides -----------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if event.key() == Qt.Key.Key_Escape:
            self._decide(None)
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not self.stop_button.hasFocus():
            self._on_accept()
        else:
            super().keyPressEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 (Qt override)
        self._grab.release()  # an X grab must never outlive the window
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        # Closing the window is a "no": the replay stops, nothing clicked.
        self._decide(None)
        super().closeEvent(event)

"""The confirmation overlay: marks on the monitor what the agent is about to do and asks the user."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QGuiApplication,
    QHideEvent,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QPolygonF,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agent.api import (
    Region,
    ScreenAction,
    describe_action,
)
from ui.keyboard_grab import KeyboardGrab

log = logging.getLogger(__name__)

APPROVED: Final = "approved"
APPROVED_FOR_SESSION: Final = "approved_for_session"
REJECTED: Final = "rejected"
TIMED_OUT: Final = "timed_out"
OUTCOMES: Final = (APPROVED, APPROVED_FOR_SESSION, REJECTED, TIMED_OUT)

# Colours. Every text/background pair is listed in COLOUR_PAIRS and checked for WCAG
# contrast by the tests. The marker colour is deliberately one no desktop theme uses:
# the capture tests look for it to prove the overlay never reaches a screenshot.
PANEL = "#15171c"
PANEL_BORDER = "#5b6270"
TEXT = "#ffffff"
CAPTION = "#aeb4bf"
REASON = "#d7dbe3"
COUNTDOWN = "#ffd166"
APPROVE = "#1b6e32"
REJECT = "#a8231c"
NEUTRAL = "#363c48"
FOCUS = "#ffd400"
INPUT_TEXT = "#111111"
INPUT_PLACEHOLDER = "#595959"
INPUT_SURFACE = "#ffffff"
MARKER = "#ff2bd1"
MARKER_RGB: Final = (0xFF, 0x2B, 0xD1)
MARKER_HALO = QColor(0, 0, 0, 230)
# Without a backdrop (the screen could not be read) the veil is opaque: translucency
# needs a compositor, and without one the "transparent" parts paint black anyway.
VEIL_OPAQUE = "#202329"
VEIL_ALPHA = 150  # over the backdrop: dim it to about 40% so the marker and panel stand out

TEXT_MIN_CONTRAST = 4.5
OUTLINE_MIN_CONTRAST = 3.0
# (what, foreground, background, minimum ratio)
COLOUR_PAIRS: Final[tuple[tuple[str, str, str, float], ...]] = (
    ("headline", TEXT, PANEL, TEXT_MIN_CONTRAST),
    ("caption", CAPTION, PANEL, TEXT_MIN_CONTRAST),
    ("reason", REASON, PANEL, TEXT_MIN_CONTRAST),
    ("countdown", COUNTDOWN, PANEL, TEXT_MIN_CONTRAST),
    ("approve button text", TEXT, APPROVE, TEXT_MIN_CONTRAST),
    ("reject button text", TEXT, REJECT, TEXT_MIN_CONTRAST),
    ("other button text", TEXT, NEUTRAL, TEXT_MIN_CONTRAST),
    ("note field text", INPUT_TEXT, INPUT_SURFACE, TEXT_MIN_CONTRAST),
    ("note field placeholder", INPUT_PLACEHOLDER, INPUT_SURFACE, TEXT_MIN_CONTRAST),
    ("focus outline on the panel", FOCUS, PANEL, OUTLINE_MIN_CONTRAST),
    ("focus outline on the approve button", FOCUS, APPROVE, OUTLINE_MIN_CONTRAST),
    ("focus outline on the reject button", FOCUS, REJECT, OUTLINE_MIN_CONTRAST),
    ("focus outline on other buttons", FOCUS, NEUTRAL, OUTLINE_MIN_CONTRAST),
    ("marker on its halo", MARKER, "#000000", OUTLINE_MIN_CONTRAST),
)

# Approvals are ignored for this long after the overlay appears: a user typing Enter
# into another window just as it pops up must not approve an action unseen.
ARM_DELAY_S = 0.5
_TICK_MS = 200
_MARGIN = 32
_PANEL_MAX_WIDTH = 980
_RING_RADIUS = 34.0

_STYLESHEET = f"""
QFrame#confirmPanel {{ background: {PANEL}; border: 2px solid {PANEL_BORDER}; border-radius: 12px; }}
QLabel {{ background: transparent; color: {TEXT}; }}
QLabel#caption {{ color: {CAPTION}; font-size: 18px; }}
QLabel#headline {{ font-size: 36px; font-weight: 700; }}
QLabel#reason {{ color: {REASON}; font-size: 21px; }}
QLabel#countdown {{ color: {COUNTDOWN}; font-size: 19px; font-weight: 600; }}
QPushButton {{
    color: {TEXT}; background: {NEUTRAL}; font-size: 18px; font-weight: 600;
    border: 3px solid {NEUTRAL}; border-radius: 8px; padding: 9px 18px;
}}
QPushButton#approve {{ background: {APPROVE}; border-color: {APPROVE}; }}
QPushButton#reject {{ background: {REJECT}; border-color: {REJECT}; }}
QPushButton:focus, QPushButton#approve:focus, QPushButton#reject:focus {{ border-color: {FOCUS}; }}
QLineEdit {{
    color: {INPUT_TEXT}; background: {INPUT_SURFACE}; font-size: 18px;
    border: 3px solid {PANEL_BORDER}; border-radius: 6px; padding: 6px;
}}
QLineEdit:focus {{ border-color: {FOCUS}; }}
"""


@dataclass(frozen=True)
class ConfirmRequest:
    """One action waiting for the user's yes or no, in the words and place the overlay shows."""

    words: str
    reason: str
    action: str  # the action name, e.g. "left_click"
    point: tuple[int, int] | None  # virtual-desktop screen pixels
    drag_from: tuple[int, int] | None
    monitor: Region  # the monitor being acted on, virtual-desktop coordinates
    timeout_s: float

    @classmethod
    def from_action(
        cls,
        action: ScreenAction,
        reason: str,
        monitor: Region,
        timeout_s: float,
        drag_from: tuple[int, int] | None = None,
    ) -> ConfirmRequest:
        return cls(
            words=describe_action(action.to_json_dict()),
            reason=reason,
            action=action.name,
            point=action.screen_xy,
            drag_from=drag_from,
            monitor=monitor,
            timeout_s=timeout_s,
        )


def logical_geometry(monitor: Region, screens: Sequence[tuple[QRect, float]]) -> tuple[QRect, float]:
    """Where ``monitor`` (X pixels) lies in Qt's logical coordinates, and the pixels per logical unit.

    ``screens`` are Qt's screens as (logical geometry, device pixel ratio). Qt keeps a
    screen's top-left at its native position and divides only the size, so a point maps
    by scaling its offset from that corner.
    """
    for geometry, ratio in screens:
        native = QRect(
            geometry.left(),
            geometry.top(),
            round(geometry.width() * ratio),
            round(geometry.height() * ratio),
        )
        if native.contains(monitor.left, monitor.top):
            return (
                QRect(
                    geometry.left() + round((monitor.left - geometry.left()) / ratio),
                    geometry.top() + round((monitor.top - geometry.top()) / ratio),
                    round(monitor.width / ratio),
                    round(monitor.height / ratio),
                ),
                ratio,
            )
    return QRect(monitor.left, monitor.top, monitor.width, monitor.height), 1.0


def countdown_text(remaining_s: float) -> str:
    """'Rejects in 27 s': whole seconds, rounded up so it never shows 0 while still waiting."""
    return f"Rejects in {max(1, math.ceil(remaining_s - 1e-6))} s"


class _Button(QPushButton):
    """A push button whose accelerator (Alt+letter) acts at once.

    QPushButton "animates" a mnemonic: it clicks 100 ms later and until then the focus
    stays where it was, so Alt+N followed quickly by Enter pressed Approve instead of
    opening the note. Here the accelerator clicks before the next key is read.
    """

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Shortcut and self.isEnabled():
            self.setFocus(Qt.FocusReason.ShortcutFocusReason)
            self.click()
            return True
        return super().event(event)


def _name(widget: QWidget, name: str, description: str) -> None:
    widget.setAccessibleName(name)
    widget.setAccessibleDescription(description)


class ConfirmOverlay(QWidget):
    """A frameless, always-on-top window over one monitor that asks to approve one action.

    ``ask(request)`` shows it; exactly one ``decided(outcome, note)`` follows per ask
    (outcome in OUTCOMES), unless ``hide_now()`` withdraws the question first. The window
    is unmapped before ``decided`` is emitted, so an approved click never lands on it.
    ``suspend()``/``resume()`` take it off the screen for a screenshot without ending the
    question (see ``ui.capture_guard``).

    Keys: Enter activates the focused button (Approve has the focus at first), Esc
    rejects, Tab moves between buttons, Alt+A/S/R/N are the buttons' accelerators, and
    Enter in the note field rejects with the note. The keyboard is grabbed while the
    overlay is mapped: without a window manager X sends keys to the window under the
    pointer, which would be the very window the agent wants to act on.
    """

    decided = Signal(str, str)  # outcome, note
    ready = Signal()  # once per ask: shown, keyboard grabbed (or given up on), approvals armed

    def __init__(
        self, parent: QWidget | None = None, *, arm_delay_s: float = ARM_DELAY_S, fullscreen: bool = False
    ) -> None:
        # X11BypassWindowManagerHint: a window manager must neither move, frame nor
        # re-stack it; it has to cover exactly the monitor the action is on.
        super().__init__(
            parent,
            Qt.WindowType.Window
            | Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint
            | Qt.WindowType.X11BypassWindowManagerHint,
        )
        self.setObjectName("confirmOverlay")
        self.setWindowTitle("Deskpilot: confirm action")
        # Painted in full by paintEvent; translucency is not used because without a
        # compositor it paints black, and with one the overlay would still be captured.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setStyleSheet(_STYLESHEET)
        _name(self, "Deskpilot confirmation", "Deskpilot asks before it acts")

        self._arm_delay_s = arm_delay_s
        # Where the desktop gives a plain client no "always on top" (Wayland), the overlay
        # asks to be fullscreen on the acted monitor instead: every compositor stacks a
        # fullscreen window above the others on its output and gives it the keyboard.
        self._fullscreen = fullscreen
        self._request: ConfirmRequest | None = None
        self._deadline = 0.0
        self._suspended = 0
        self._ready_sent = False
        self._is_armed = False
        self._scale = 1.0
        self._backdrop: QPixmap | None = None

        self._timeout = QTimer(self, singleShot=True)
        self._timeout.timeout.connect(lambda: self._decide(TIMED_OUT, ""))
        self._tick = QTimer(self, interval=_TICK_MS)
        self._tick.timeout.connect(self._update_countdown)
        self._arm = QTimer(self, singleShot=True)
        self._arm.timeout.connect(self._on_armed)
        self._grab = KeyboardGrab(self, "confirmation overlay")
        self._grab.settled.connect(self._maybe_ready)

        self._build_panel()

    # -- construction ------------------------------------------------------------
    def _build_panel(self) -> None:
        panel = self._panel = QFrame(self)
        panel.setObjectName("confirmPanel")
        layout = self._panel_layout = QVBoxLayout(panel)
        layout.setContentsMargins(28, 22, 28, 22)
        layout.setSpacing(10)

        self.caption = self._label("caption", "Deskpilot wants to", "What follows is the next action")
        self.headline = self._label("headline", "", "The action waiting for approval")
        self.reason_label = self._label("reason", "", "Why this action needs your approval")
        # Typed text can make a long headline; it wraps rather than widening the panel.
        self.headline.setWordWrap(True)
        self.reason_label.setWordWrap(True)
        self.countdown = self._label("countdown", "", "Time left before the action is rejected")
        for label in (self.caption, self.headline, self.reason_label, self.countdown):
            layout.addWidget(label)

        buttons = QHBoxLayout()
        buttons.setSpacing(12)
        self.approve_button = self._button(
            "approve", "&Approve", "Approve", "Carry out this action (Enter)", self._on_approve
        )
        self.session_button = self._button(
            "approveSession",
            "Approve for this &session",
            "Approve for this session",
            "Carry out this action, and for the rest of this session do not ask again "
            "about actions held for the same reason (Alt+S)",
            self._on_approve_for_session,
        )
        self.reject_button = self._button(
            "reject", "&Reject", "Reject", "Do not carry out this action (Esc)", self._on_reject
        )
        self.note_button = self._button(
            "rejectWithNote",
            "Reject with &note…",
            "Reject with note",
            "Reject and tell the agent why in a short note (Alt+N)",
            self._open_note,
        )
        for button in (self.approve_button, self.session_button, self.reject_button, self.note_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

        self.note_edit = QLineEdit(panel)
        self.note_edit.setObjectName("note")
        self.note_edit.setPlaceholderText("Why not? Press Enter to reject with this note")
        # The placeholder colour comes only from the palette, never the stylesheet.
        palette = self.note_edit.palette()
        palette.setColor(QPalette.ColorRole.PlaceholderText, QColor(INPUT_PLACEHOLDER))
        self.note_edit.setPalette(palette)
        _name(
            self.note_edit,
            "Rejection note",
            "A note for the agent about why the action is rejected; Enter rejects with it, Esc rejects",
        )
        self.note_edit.returnPressed.connect(self._on_note_entered)
        self.note_edit.hide()
        layout.addWidget(self.note_edit)

        QWidget.setTabOrder(self.approve_button, self.session_button)
        QWidget.setTabOrder(self.session_button, self.reject_button)
        QWidget.setTabOrder(self.reject_button, self.note_button)
        QWidget.setTabOrder(self.note_button, self.note_edit)

    def _label(self, name: str, text: str, description: str) -> QLabel:
        label = QLabel(text, self._panel)
        label.setObjectName(name)
        # Model and policy text is shown as typed: rich text in it must not render.
        label.setTextFormat(Qt.TextFormat.PlainText)
        _name(label, text or name, description)
        return label

    def _button(
        self, name: str, text: str, accessible: str, description: str, slot: Callable[[], None]
    ) -> QPushButton:
        button = _Button(text, self._panel)
        button.setObjectName(name)
        # Enter presses the focused button, as in a dialog (a plain QWidget parent
        # would otherwise leave Enter to Space only).
        button.setAutoDefault(True)
        button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        _name(button, accessible, description)
        button.clicked.connect(slot)
        return button

    # -- public API ----------------------------------------------------------------
    @property
    def request(self) -> ConfirmRequest | None:
        """The question being asked, or None when there is none."""
        return self._request

    def is_asking(self) -> bool:
        return self._request is not None

    def has_keyboard_grab(self) -> bool:
        return self._grab.grabbed

    def ask(self, request: ConfirmRequest) -> None:
        """Show ``request`` over its monitor and start the countdown."""
        if self._request is not None:
            # The worker asks one question at a time; answering the old one here
            # would be read as the answer to the new one.
            log.warning("a new confirmation replaced one that was still open")
        self._request = request
        self._ready_sent = False
        self._is_armed = False
        self._deadline = time.monotonic() + request.timeout_s

        self.headline.setText(request.words)
        self.headline.setAccessibleName(request.words)
        reason = request.reason or "This action needs your approval."
        self.reason_label.setText(reason)
        self.reason_label.setAccessibleName(reason)
        self.setAccessibleDescription(f"{request.words}. {reason}")
        self.note_edit.clear()
        self.note_edit.hide()
        self._update_countdown()

        rect, self._scale = logical_geometry(
            request.monitor,
            [(s.geometry(), s.devicePixelRatio()) for s in QGuiApplication.screens()],
        )
        self._timeout.start(max(0, round(request.timeout_s * 1000)))
        self._tick.start()
        self._arm.start(max(0, round(self._arm_delay_s * 1000)))
        self.approve_button.setFocus(Qt.FocusReason.OtherFocusReason)
        if self.isVisible() and self.geometry() == rect:
            # Already up over the same monitor: keep the backdrop (grabbing it now would
            # catch the overlay itself) and only redraw the new question.
            self._place_panel()
            self.update()
            return
        self._unmap()
        self.setGeometry(rect)
        if self._suspended == 0:
            self._map()

    def hide_now(self) -> None:
        """Withdraw the question, if any, without a decision, and unmap the window now.

        Returns only once the X server has unmapped it. No ``decided`` follows for a
        withdrawn question (the run stopped or the worker stopped waiting).
        """
        self._request = None
        self._stop_timers()
        self._unmap()

    def suspend(self) -> bool:
        """Unmap the window (if mapped) and keep it off until ``resume()``; calls nest.

        The question stays open and its countdown runs on; an ``ask()`` meanwhile waits
        for ``resume()`` to appear. Returns whether the window was on screen, i.e.
        whether what lies under it has to repaint. Returns once the X server has
        unmapped it.
        """
        self._suspended += 1
        was_visible = self.isVisible()
        self._unmap()
        return was_visible

    def resume(self) -> None:
        """End one ``suspend()``; maps the window again if its question is still open."""
        self._suspended = max(0, self._suspended - 1)
        if self._suspended == 0 and self._request is not None and not self.isVisible():
            self._map()

    def is_suspended(self) -> bool:
        return self._suspended > 0

    # -- showing ---------------------------------------------------------------------
    def _unmap(self) -> None:
        changed = self._grab.grabbed or self.isVisible()
        self._grab.release()
        if self.isVisible():
            self.hide()
        if changed:
            # A round trip: when it returns the server has processed the unmap (and the
            # ungrab), so a capture taken after this cannot contain the window itself.
            QGuiApplication.sync()

    def _map(self) -> None:
        # The screen as it is now, dimmed, is the overlay's background: it looks the same
        # with or without a compositor, and the user still sees what the action targets.
        self._backdrop = self._grab_backdrop(self.geometry())
        self._place_panel()
        if self._fullscreen:
            self._show_fullscreen()
        else:
            self.show()
        self.raise_()
        self.activateWindow()
        self._grab.start()

    def _show_fullscreen(self) -> None:
        # The compositor picks the output from the window's screen, so that is set
        # before the window is shown; geometry alone does not place a Wayland window.
        screen = QGuiApplication.screenAt(self.geometry().center())
        self.winId()  # creates the native window, whose screen is set next
        handle = self.windowHandle()
        if handle is not None and screen is not None:
            handle.setScreen(screen)
        self.showFullScreen()

    def _grab_backdrop(self, rect: QRect) -> QPixmap | None:
        screen = QGuiApplication.screenAt(rect.center())
        if screen is None:
            return None
        offset = rect.topLeft() - screen.geometry().topLeft()
        pixmap = screen.grabWindow(0, offset.x(), offset.y(), rect.width(), rect.height())
        return None if pixmap.isNull() else pixmap

    def _on_armed(self) -> None:
        self._is_armed = True
        self._maybe_ready()

    def _maybe_ready(self) -> None:
        if self._ready_sent or self._request is None or not self.isVisible() or not self._is_armed:
            return
        if self._grab.grabbed or self._grab.gave_up:
            self._ready_sent = True
            self.ready.emit()

    def _place_panel(self) -> None:
        area = self.rect()
        width = min(_PANEL_MAX_WIDTH, area.width() - 2 * _MARGIN)
        layout = self._panel_layout
        height = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else -1
        height = max(height, self._panel.sizeHint().height())
        left = area.left() + (area.width() - width) // 2
        top_rect = QRect(left, area.top() + _MARGIN, width, height)
        bottom_rect = QRect(left, area.bottom() - _MARGIN - height, width, height)
        targets = self._local_targets()
        if not targets:
            self._panel.setGeometry(bottom_rect)
            return

        # Put the panel where it is farthest from what it points at, so it never hides the target.
        def clearance(rect: QRect) -> float:
            box = QRectF(rect).adjusted(-_RING_RADIUS, -_RING_RADIUS, _RING_RADIUS, _RING_RADIUS)
            return min(_distance_to_rect(p, box) for p in targets)

        self._panel.setGeometry(max((bottom_rect, top_rect), key=clearance))

    def _local(self, point: tuple[int, int], monitor: Region) -> QPointF:
        """A virtual-desktop pixel in this window's logical coordinates."""
        return QPointF((point[0] - monitor.left) / self._scale, (point[1] - monitor.top) / self._scale)

    def _local_targets(self) -> list[QPointF]:
        request = self._request
        if request is None:
            return []
        return [self._local(p, request.monitor) for p in (request.point, request.drag_from) if p is not None]

    # -- deciding ----------------------------------------------------------------------
    def _on_approve(self) -> None:
        if self._is_armed:
            self._decide(APPROVED, "")

    def _on_approve_for_session(self) -> None:
        if self._is_armed:
            self._decide(APPROVED_FOR_SESSION, "")

    def _on_reject(self) -> None:
        self._decide(REJECTED, self.note_edit.text().strip() if self.note_edit.isVisible() else "")

    def _on_note_entered(self) -> None:
        self._decide(REJECTED, self.note_edit.text().strip())

    def _open_note(self) -> None:
        if self._request is None:
            return
        self.note_edit.show()
        self._place_panel()
        self.note_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def _decide(self, outcome: str, note: str) -> None:
        if self._request is None:  # decided already, or withdrawn
            return
        self._request = None
        self._stop_timers()
        # Off the screen before anyone hears the answer: the approved action comes next.
        self._unmap()
        self.decided.emit(outcome, note)

    def _stop_timers(self) -> None:
        for timer in (self._timeout, self._tick, self._arm):
            timer.stop()

    def _update_countdown(self) -> None:
        text = countdown_text(self._deadline - time.monotonic())
        if text != self.countdown.text():
            self.countdown.setText(text)
            self.countdown.setAccessibleName(text)

    # -- Qt overrides -----------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self._on_reject()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            # Reached only when no button took the key (focus on no button); the note
            # field's own Enter has already rejected.
            if not self.note_edit.hasFocus():
                self._on_approve()
        else:
            super().keyPressEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 (Qt override)
        # Hidden by someone else (close(), the application quitting): an X grab must
        # never outlive the window.
        self._grab.release()
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self.hide_now()
        super().closeEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        self._place_panel()
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self._backdrop is not None:
            painter.drawPixmap(self.rect(), self._backdrop)
            painter.fillRect(self.rect(), QColor(0, 0, 0, VEIL_ALPHA))
        else:
            painter.fillRect(self.rect(), QColor(VEIL_OPAQUE))
        request = self._request
        if request is not None and request.point is not None:
            target = self._local(request.point, request.monitor)
            if request.drag_from is not None:
                _paint_drag(painter, self._local(request.drag_from, request.monitor), target)
            _paint_ring(painter, target)
        painter.end()


def _distance_to_rect(point: QPointF, rect: QRectF) -> float:
    dx = max(rect.left() - point.x(), 0.0, point.x() - rect.right())
    dy = max(rect.top() - point.y(), 0.0, point.y() - rect.bottom())
    return math.hypot(dx, dy)


def _stroke(painter: QPainter, draw: Callable[[], None], width: float) -> None:
    """Draw twice: a dark halo, then the marker colour, so it shows on light and dark alike."""
    for colour, pen_width in ((MARKER_HALO, width + 6), (QColor(MARKER), width)):
        pen = QPen(colour, pen_width)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        draw()


def _paint_ring(painter: QPainter, centre: QPointF) -> None:
    r = _RING_RADIUS

    def ring() -> None:
        painter.drawEllipse(centre, r, r)
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            painter.drawLine(
                QPointF(centre.x() + dx * (r + 8), centre.y() + dy * (r + 8)),
                QPointF(centre.x() + dx * (r + 30), centre.y() + dy * (r + 30)),
            )
        painter.drawLine(QPointF(centre.x() - 8, centre.y()), QPointF(centre.x() + 8, centre.y()))
        painter.drawLine(QPointF(centre.x(), centre.y() - 8), QPointF(centre.x(), centre.y() + 8))

    _stroke(painter, ring, 6)


def _paint_drag(painter: QPainter, start: QPointF, end: QPointF) -> None:
    length = math.hypot(end.x() - start.x(), end.y() - start.y())
    if length < 1:
        return
    ux, uy = (end.x() - start.x()) / length, (end.y() - start.y()) / length
    # The line stops at the ring; the arrow head sits on the ring, pointing in.
    tip = QPointF(end.x() - ux * (_RING_RADIUS + 6), end.y() - uy * (_RING_RADIUS + 6))
    head = QPolygonF(
        [
            tip,
            QPointF(tip.x() - ux * 26 - uy * 14, tip.y() - uy * 26 + ux * 14),
            QPointF(tip.x() - ux * 26 + uy * 14, tip.y() - uy * 26 - ux * 14),
        ]
    )

    def path() -> None:
        painter.drawEllipse(start, 10.0, 10.0)
        painter.drawLine(start, tip)
        painter.drawPolygon(head)

    _stroke(painter, path, 6)

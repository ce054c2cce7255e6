"""The tray icon (or, where no tray exists, a small window) showing state and offering the menu."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import (
    QAccessible,
    QAccessibleAnnouncementEvent,
    QAction,
    QColor,
    QFont,
    QIcon,
    QPainter,
    QPixmap,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

# State → (fill colour, letter). Letters keep states apart without relying on colour alone.
STATE_LOOK = {
    "idle": ("#5f6b7a", "D"),
    "thinking": ("#1f5fbf", "T"),
    "acting": ("#1b7f3b", "A"),
    "waiting for you": ("#b35900", "?"),
    "paused": ("#8a6d00", "P"),
    "recording": ("#6a1b9a", "R"),
    "error": ("#b00020", "!"),
}

MENU_ENTRIES = (
    ("new", "New command…", "Open the command window to give Deskpilot a task"),
    ("stop", "Stop", "Stop the running task, macro replay or recording now"),
    ("pause", "Pause/Resume", "Pause the running task before its next action, or resume it"),
    ("skills", "Skills…", "Capture a region and run a screen skill on it (HTML, alt text, quiz...)"),
    ("macros", "Macros…", "Record, play and edit macros: your own input replayed with no model"),
    ("describe", "Describe the screen", "The model describes the screen, read aloud (offline speech)"),
    ("read", "Read the screen aloud", "Read the text on the screen aloud, line by line (offline OCR)"),
    ("history", "History", "Show past runs and their steps"),
    ("settings", "Settings", "Model, safety rules, kill hotkey and history location"),
    ("quit", "Quit", "Stop any task and quit Deskpilot"),
)


MENU_TITLE = "Deskpilot menu"


def state_icon(state: str, size: int = 64) -> QIcon:
    colour, letter = STATE_LOOK.get(state, STATE_LOOK["idle"])
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(colour))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(2, 2, size - 4, size - 4)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(int(size * 0.55))
    painter.setFont(font)
    painter.setPen(QColor("#ffffff"))
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, letter)
    painter.end()
    return QIcon(pixmap)


class Menu(QObject):
    """The menu entries, shared by the tray menu and the fallback window."""

    triggered = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.actions: dict[str, QAction] = {}
        for key, text, description in MENU_ENTRIES:
            action = QAction(text, self)
            action.setToolTip(description)
            action.setStatusTip(description)
            action.triggered.connect(lambda _checked=False, k=key: self.triggered.emit(k))
            self.actions[key] = action

    def set_running(self, running: bool) -> None:
        self.actions["stop"].setEnabled(running)
        self.actions["pause"].setEnabled(running)


class Tray(QObject):
    def __init__(self, menu: Menu) -> None:
        super().__init__()
        self.icon = QSystemTrayIcon(state_icon("idle"))
        self.menu = QMenu()
        self.menu.setAccessibleName("Deskpilot menu")
        # The title names the pop-up on X, so a macro recording leaves clicks on it out.
        self.menu.setWindowTitle(MENU_TITLE)
        for action in menu.actions.values():
            self.menu.addAction(action)
        self.icon.setContextMenu(self.menu)
        self.icon.setToolTip("Deskpilot: idle")
        self.icon.activated.connect(self._activated)
        self._menu = menu

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self._menu.triggered.emit("new")

    def show(self) -> None:
        self.icon.show()

    def set_state(self, state: str, detail: str) -> None:
        self.icon.setIcon(state_icon(state))
        self.icon.setToolTip(f"Deskpilot: {state}" + (f" — {detail}" if detail else ""))


WINDOW_MAX_WIDTH = 420


def state_sentence(state: str, detail: str) -> str:
    """What a screen reader says for a state change ("Deskpilot is thinking: starting")."""
    head = "Deskpilot stopped on an error" if state == "error" else f"Deskpilot is {state}"
    return head + (f": {detail}" if detail else "")


def announce(widget: QWidget, text: str) -> None:
    """Tell assistive technologies through the tree, not only through Deskpilot's own speech.

    The description change (object:property-change:accessible-description) keeps the
    state readable on the element; the announcement (object:announcement, spoken by
    Orca 45 and later) reaches a user whose focus is elsewhere.
    """
    widget.setAccessibleDescription(text)
    QAccessible.updateAccessibility(QAccessibleAnnouncementEvent(widget, text))



class FallbackWindow(QWidget):
    """Where no system tray exists (common on Linux), the same menu as a small window."""

    def __init__(self, menu: Menu, why: str) -> None:
        super().__init__()
        self.setWindowTitle("Deskpilot")
        self.setAccessibleName("Deskpilot")
        self.setAccessibleDescription("Deskpilot's main window, shown because no system tray exists")
        layout = self._layout = QVBoxLayout(self)
        self.why = QLabel(why, self)
        self.why.setWordWrap(True)
        self.why.setAccessibleName("Why this window")
        self.why.setAccessibleDescription(why)
        self.state = QLabel("State: idle", self)
        # Long states (an error's text) wrap instead of stretching the window across the screen.
        self.state.setWordWrap(True)
        self.state.setAccessibleName("State")
        self.state.setAccessibleDescription("What Deskpilot is doing now")
        self.state_icon = QLabel(self)
        self.state_icon.setPixmap(state_icon("idle").pixmap(32, 32))
        self.state_icon.setAccessibleName("State icon")
        self.state_icon.setAccessibleDescription("A coloured letter for the state")
        header = QHBoxLayout()
        header.addWidget(self.state_icon)
        header.addWidget(self.state, 1)
        layout.addLayout(header)
        layout.addWidget(self.why)
        self.setMaximumWidth(WINDOW_MAX_WIDTH)
        self.buttons: dict[str, QPushButton] = {}
        for key, action in menu.actions.items():
            button = QPushButton(action.text(), self)
            button.setAccessibleName(action.text().rstrip("…"))
            button.setAccessibleDescription(action.toolTip())
            button.clicked.connect(action.trigger)
            action.changed.connect(lambda b=button, a=action: b.setEnabled(a.isEnabled()))
            button.setEnabled(action.isEnabled())
            layout.addWidget(button)
            self.buttons[key] = button

    def set_state(self, state: str, detail: str) -> None:
        self.state.setText(f"State: {state}" + (f" — {detail}" if detail else ""))
        self.state_icon.setPixmap(state_icon(state).pixmap(32, 32))
        announce(self.state, state_sentence(state, detail))
        # A wrapped label needs more height, which a shown window does not take on its own:
        # without this an error's advice is cut off at the window's old height.
        self._layout.activate()
        width = self.width()
        needed = self._layout.totalHeightForWidth(width)
        self.setMinimumHeight(needed)
        self.resize(width, needed)  # and back down once the text is short again

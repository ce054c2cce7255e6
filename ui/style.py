"""Shared accessible styling: checked colour pairs, a visible focus outline, and accessible labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QWidget

# Both colours of every pair are fixed here rather than taken from the desktop theme: a
# dark text colour from us on a dark theme's background would be unreadable, and only
# pairs we fully control can be checked for contrast (tests/test_settings_dialog.py).
TEXT = "#1f1f1f"
MUTED_TEXT = "#595959"
DISABLED_TEXT = "#666666"
SURFACE = "#f5f5f5"  # window background
INPUT_SURFACE = "#ffffff"  # fields, lists
BUTTON_SURFACE = "#e6e6e6"
BORDER = "#767676"  # 4.5:1 on white, above the 3:1 WCAG asks of control outlines
FOCUS = "#0b57d0"
ON_FOCUS = "#ffffff"  # text on the focus colour: highlighted entries of combo box pop-ups
SELECTION = "#cfe3ff"  # light, so that normal and error text both stay readable on it
ERROR_TEXT = "#a50e0e"
ERROR_SURFACE = "#fce8e6"
NOTICE_SURFACE = "#e8f0fe"

TEXT_MIN_CONTRAST = 4.5  # WCAG 2.x AA, normal-size text
OUTLINE_MIN_CONTRAST = 3.0  # WCAG 2.x AA, non-text contrast (focus ring, field borders)


@dataclass(frozen=True)
class ColourPair:
    """A foreground drawn on a background somewhere in the UI, with the contrast it must meet."""

    use: str
    foreground: str
    background: str
    minimum: float = TEXT_MIN_CONTRAST


# Every foreground/background combination the stylesheet and the widgets below draw.
COLOUR_PAIRS: tuple[ColourPair, ...] = (
    ColourPair("text on the window", TEXT, SURFACE),
    ColourPair("text in fields and lists", TEXT, INPUT_SURFACE),
    ColourPair("button text", TEXT, BUTTON_SURFACE),
    ColourPair("selected item text", TEXT, SELECTION),
    ColourPair("highlighted pop-up entry", ON_FOCUS, FOCUS),
    ColourPair("hints on the window", MUTED_TEXT, SURFACE),
    ColourPair("placeholder text in fields", MUTED_TEXT, INPUT_SURFACE),
    ColourPair("disabled text on the window", DISABLED_TEXT, SURFACE),
    ColourPair("disabled button text", DISABLED_TEXT, BUTTON_SURFACE),
    ColourPair("error text in lists", ERROR_TEXT, INPUT_SURFACE),
    ColourPair("selected error text in lists", ERROR_TEXT, SELECTION),
    ColourPair("error text on the window", ERROR_TEXT, SURFACE),
    ColourPair("error banner text", ERROR_TEXT, ERROR_SURFACE),
    ColourPair("notice banner text", TEXT, NOTICE_SURFACE),
    ColourPair("focus outline on the window", FOCUS, SURFACE, OUTLINE_MIN_CONTRAST),
    ColourPair("focus outline on fields", FOCUS, INPUT_SURFACE, OUTLINE_MIN_CONTRAST),
    ColourPair("field border", BORDER, INPUT_SURFACE, OUTLINE_MIN_CONTRAST),
)


def relative_luminance(colour: QColor) -> float:
    """WCAG 2.x relative luminance of an sRGB colour, 0 (black) to 1 (white)."""

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(colour.redF()) + 0.7152 * linear(colour.greenF()) + 0.0722 * linear(colour.blueF())


def contrast_ratio(fg: QColor, bg: QColor) -> float:
    """WCAG contrast ratio between two opaque colours, 1.0 to 21.0 (order does not matter)."""
    lighter, darker = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


# A styled spin box or combo box draws no arrows unless given images. These are Qt's own,
# compiled into QtWidgets, so there is no file of ours to install or find
# (tests/test_settings_dialog.py checks they are there).
_ARROW_UP = ":/qt-project.org/styles/commonstyle/images/arrow-up-16.png"
_ARROW_DOWN = ":/qt-project.org/styles/commonstyle/images/arrow-down-16.png"

STYLESHEET = f"""
QDialog, QWidget#deskpilotWindow {{ background: {SURFACE}; color: {TEXT}; }}
QLabel, QGroupBox {{ color: {TEXT}; }}
QLabel:disabled, QGroupBox:disabled {{ color: {DISABLED_TEXT}; }}
QLabel[role="hint"] {{ color: {MUTED_TEXT}; }}
/* Drawn here rather than by the platform style, which shades group boxes with a colour
   of its own; every label inside then sits on SURFACE, a checked background. */
QGroupBox {{
    background: {SURFACE}; border: 1px solid {BORDER}; border-radius: 4px;
    margin-top: 1.2em; padding-top: 0.4em;
}}
QGroupBox::title {{
    subcontrol-origin: margin; subcontrol-position: top left; left: 8px; padding: 0 4px;
    color: {TEXT}; font-weight: bold;
}}
QLabel[role="error"] {{
    color: {ERROR_TEXT}; background: {ERROR_SURFACE};
    border: 1px solid {ERROR_TEXT}; border-radius: 4px; padding: 8px;
}}
QLabel[role="notice"] {{
    color: {TEXT}; background: {NOTICE_SURFACE};
    border: 1px solid {FOCUS}; border-radius: 4px; padding: 8px;
}}
QLineEdit, QPlainTextEdit, QSpinBox, QDoubleSpinBox, QComboBox, QListWidget, QTreeWidget {{
    color: {TEXT}; background: {INPUT_SURFACE};
    border: 1px solid {BORDER}; border-radius: 3px; padding: 2px;
    selection-background-color: {SELECTION}; selection-color: {TEXT};
}}
QLineEdit:disabled, QPlainTextEdit:disabled, QSpinBox:disabled, QDoubleSpinBox:disabled,
QComboBox:disabled {{ color: {DISABLED_TEXT}; background: {SURFACE}; }}
QSpinBox::up-button, QDoubleSpinBox::up-button, QSpinBox::down-button, QDoubleSpinBox::down-button {{
    width: 18px; background: {BUTTON_SURFACE}; border-left: 1px solid {BORDER};
}}
QSpinBox::up-button, QDoubleSpinBox::up-button {{ subcontrol-position: top right; }}
QSpinBox::down-button, QDoubleSpinBox::down-button {{ subcontrol-position: bottom right; }}
QSpinBox::up-arrow, QDoubleSpinBox::up-arrow {{ image: url({_ARROW_UP}); width: 9px; height: 9px; }}
QSpinBox::down-arrow, QDoubleSpinBox::down-arrow {{ image: url({_ARROW_DOWN}); width: 9px; height: 9px; }}
QComboBox::drop-down {{ width: 20px; background: {BUTTON_SURFACE}; border-left: 1px solid {BORDER}; }}
QComboBox::down-arrow {{ image: url({_ARROW_DOWN}); width: 9px; height: 9px; }}
QComboBox QAbstractItemView {{
    color: {TEXT}; background: {INPUT_SURFACE};
    selection-background-color: {FOCUS}; selection-color: {ON_FOCUS};
}}
QTreeWidget::item:selected, QListWidget::item:selected {{ background: {SELECTION}; color: {TEXT}; }}
QHeaderView::section {{
    color: {TEXT}; background: {BUTTON_SURFACE};
    border: none; border-right: 1px solid {BORDER}; padding: 3px 6px;
}}
QPushButton {{
    color: {TEXT}; background: {BUTTON_SURFACE};
    border: 1px solid {BORDER}; border-radius: 4px; padding: 5px 14px;
}}
QPushButton:disabled {{ color: {DISABLED_TEXT}; }}
QListWidget::item {{ padding: 3px; border-bottom: 1px solid {BUTTON_SURFACE}; }}
/* Thicker borders take their width from the padding, so nothing moves or gets clipped. */
QPushButton:default {{ border-width: 2px; padding: 4px 13px; }}
QLineEdit:focus, QPlainTextEdit:focus, QSpinBox:focus, QDoubleSpinBox:focus, QComboBox:focus,
QListWidget:focus, QTreeWidget:focus {{ border: 3px solid {FOCUS}; padding: 0px; }}
QPushButton:focus {{ border: 3px solid {FOCUS}; padding: 3px 12px; }}
QLineEdit[invalid="true"], QPlainTextEdit[invalid="true"] {{ border: 3px solid {ERROR_TEXT}; padding: 0px; }}
QLabel[role="error"]:focus, QLabel[role="notice"]:focus, QLabel[role="empty"]:focus {{
    border: 3px solid {FOCUS}; padding: 6px;
}}
QLabel[role="empty"] {{ border: 3px solid transparent; padding: 6px; }}
"""


def stylesheet() -> str:
    """The shared stylesheet: checked colours everywhere and a 3-pixel focus outline."""
    return STYLESHEET


def apply_style(widget: QWidget) -> None:
    """Give a top-level window the shared stylesheet, and a palette for what stylesheets miss.

    Placeholder text takes its colour from the palette only, and the platform's own
    pop-ups (file dialogs, message boxes) read the palette, not the stylesheet.
    """
    palette = widget.palette()
    roles = {
        QPalette.ColorRole.Window: SURFACE,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: INPUT_SURFACE,
        QPalette.ColorRole.AlternateBase: SURFACE,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: BUTTON_SURFACE,
        QPalette.ColorRole.ButtonText: TEXT,
        # The platform style draws spin box and combo box focus frames in the highlight colour.
        QPalette.ColorRole.Highlight: FOCUS,
        QPalette.ColorRole.HighlightedText: ON_FOCUS,
        QPalette.ColorRole.PlaceholderText: MUTED_TEXT,
        QPalette.ColorRole.ToolTipBase: INPUT_SURFACE,
        QPalette.ColorRole.ToolTipText: TEXT,
    }
    for role, colour in roles.items():
        palette.setColor(QPalette.ColorGroup.All, role, QColor(colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(DISABLED_TEXT))
    widget.setPalette(palette)
    widget.setStyleSheet(STYLESHEET)


def set_role(label: QWidget, role: str) -> None:
    """Switch a label between the stylesheet's roles ("", "hint", "error", "notice")."""
    _set_style_property(label, "role", role)


def set_invalid(widget: QWidget, invalid: bool) -> None:
    """Mark a field as holding the value that failed validation (a red outline)."""
    _set_style_property(widget, "invalid", "true" if invalid else "false")


def _set_style_property(widget: QWidget, name: str, value: str) -> None:
    widget.setProperty(name, value)
    # Dynamic properties are only re-read by the stylesheet after a re-polish.
    widget.style().unpolish(widget)
    widget.style().polish(widget)


W = TypeVar("W", bound=QWidget)


def set_accessible(widget: W, name: str, description: str = "") -> W:
    """Set a widget's accessible name and description (what screen readers announce); returns it."""
    widget.setAccessibleName(name)
    widget.setAccessibleDescription(description)
    if description and not widget.toolTip():
        widget.setToolTip(description)
    return widget

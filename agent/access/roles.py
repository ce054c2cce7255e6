"""How an accessible element is named in speech and text: its name and its kind, "the Save button" (pure)."""

from __future__ import annotations

# The word a person uses for each AT-SPI role; roles not listed keep their own name.
_KIND = {
    "push button": "button",
    "toggle button": "button",
    "link": "link",
    "entry": "field",
    "text": "field",
    "password text": "password field",
    "spin button": "field",
    "check box": "checkbox",
    "radio button": "option",
    "combo box": "list",
    "menu item": "menu item",
    "check menu item": "menu item",
    "radio menu item": "menu item",
    "page tab": "tab",
    "list item": "item",
    "tree item": "item",
    "slider": "slider",
    "heading": "heading",
    "label": "label",
    "image": "image",
    "icon": "icon",
}


def element_phrase(role: str, name: str) -> str:
    """``"the Save button"``; "" where the element has no name (its kind alone picks nothing out)."""
    name = " ".join(name.split())
    if not name:
        return ""
    if len(name) > 60:
        name = name[:59].rstrip() + "…"
    return f"the {name} {_KIND.get(role, role)}".rstrip()

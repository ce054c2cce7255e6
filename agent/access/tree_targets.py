"""Which accessible element a name means: exact, then loose; page content before browser UI (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from agent.access.matching import _WORD, closeness, normalise
from agent.ports import Element

# Roles a click by name may aim at; labels and text are read, not clicked.
CLICKABLE_ROLES = (
    "push button", "toggle button", "check box", "radio button", "link", "menu item", "check menu item",
    "radio menu item", "page tab", "combo box", "entry", "text", "password text", "spin button",
    "list item", "tree item", "menu",
)


def _loose(name: str, label: str) -> bool:
    """The name matches the whole label with small errors, or a run of whole words inside it."""
    if closeness(name, label) is not None:
        return True
    wanted = normalise(name)
    words = _WORD.findall(label)
    count = max(1, len(_WORD.findall(name)))
    return any(normalise(" ".join(words[i : i + count])) == wanted for i in range(len(words) - count + 1))


def _on_screen_order(element: Element) -> tuple[int, int]:
    box = element.box
    return (box.top, box.left) if box is not None else (0, 0)


def tree_matches(name: str, elements: Sequence[Element]) -> list[Element]:
    """The elements ``name`` means, in reading order; several means "ask", never a guess.

    Exact (case and spacing aside) beats loose. Page content beats the browser's own
    controls: a page's "Close" button, not the tab's close button that ends the browser.
    A closed web select shows its chosen option as a menu item over the combo box: not a target.
    """
    wanted = normalise(name)
    if not wanted:
        return []
    usable = [
        e for e in elements
        if e.box is not None and e.name.strip() and not (e.in_document and e.role == "menu item")
    ]
    found = [e for e in usable if normalise(e.name) == wanted]
    if not found:
        found = [e for e in usable if _loose(name, e.name)]
    page = [e for e in found if e.in_document]
    return sorted(page or found, key=_on_screen_order)

"""A fake ``AccessibleTree``: given elements, a covered flag, a log of the actions performed, and
the effect each watch reports."""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence

from agent.errors import DisplayError
from agent.ports import Effect, Element, TreeWindow


class FakeWatch:
    """Reports the tree's ``effect`` when waited on, or nothing when ``stop`` is already set."""

    def __init__(self, tree: FakeTree, element: Element) -> None:
        self.tree, self.element = tree, element

    def wait(self, timeout_s: float, stop: threading.Event) -> Effect:
        self.tree.effect_waits.append(timeout_s)
        if stop.is_set():
            return Effect("", "stopped")
        return self.tree.effect


class FakeTree:
    """The active window holds ``elements``; ``covered_names`` are under another window."""

    def __init__(
        self,
        elements: Sequence[Element] = (),
        *,
        title: str = "Fake window",
        web: bool = False,
        available: bool = True,
        covered_names: Collection[str] = (),
    ) -> None:
        self.elements = list(elements)
        self.title = title
        self.web = web
        self._available = available
        self.covered_names = set(covered_names)
        self.actions: list[tuple[str, str, str | None]] = []  # (role, name, action) performed
        self.queries = 0
        self.quiet: bool | None = True  # what wait_quiet answers (None: as if the window had no tree)
        self.waits: list[float] = []  # the gap of each wait_quiet
        # What a watch reports after the action (default: the focus moved, 10 ms later).
        self.effect = Effect("event", "object:state-changed:focused", 0.01)
        self.watched: list[tuple[str, str, int]] = []  # (role, name, actions performed before the watch)
        self.effect_waits: list[float] = []  # the timeout of each wait for an effect

    def available(self) -> bool:
        return self._available

    def active_window(self) -> TreeWindow | None:
        if not self.elements:
            return None
        return TreeWindow(self.title, None, "fake", self.web, tuple(e for e in self.elements if e.text))

    def element_at(self, x: int, y: int) -> Element | None:
        inside = [e for e in self.elements if e.box is not None and e.box.contains(x, y)]
        return min(inside, key=lambda e: e.box.width * e.box.height if e.box else 0) if inside else None

    def find(self, roles: Collection[str] = (), name: str | None = None) -> list[Element]:
        self.queries += 1
        return [
            e for e in self.elements
            if (not roles or e.role in roles) and (name is None or e.name == name) and e.box is not None
        ]

    def covered(self, element: Element) -> bool:
        return element.name in self.covered_names

    def do_action(self, element: Element, action: str | None = None) -> None:
        if element not in self.elements:
            raise DisplayError(f"the {element.role} {element.name!r} is gone from the window")
        self.actions.append((element.role, element.name, action))

    def watch(self, element: Element) -> FakeWatch:
        if element not in self.elements:
            raise DisplayError(f"the {element.role} {element.name!r} is gone from the window")
        self.watched.append((element.role, element.name, len(self.actions)))
        return FakeWatch(self, element)

    def wait_quiet(self, gap_s: float, timeout_s: float, stop: threading.Event) -> bool | None:
        self.waits.append(gap_s)
        return self.quiet

"""The AT-SPI ``AccessibleTree``: the active window's elements and text, boxes mapped to the real screen.

Every call starts from the desktop again (the active window, its application by
process id, its frame by title), so no reference outlives the call that found it:
after a reload or scroll a held AT-SPI object silently reports role "invalid" and
zero extents, and its action still "succeeds". Only ``agent.computers.atspi.open_tree``
builds one, after ``bus.bus_address`` answered.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass, replace
from typing import Any

from agent.computers.atspi.events import Heard
from agent.effects import counts_as_effect, reading_change
from agent.errors import DisplayError
from agent.geometry import Region
from agent.ports import Effect, EffectWatch, Element, Reading, ScreenWindow, TreeWindow, WindowStack

log = logging.getLogger(__name__)

# Children Chromium folds into the running text of a paragraph rather than a line of their own.
_INLINE = frozenset({"link", "static", "image"})
# Nodes a toolkit window's reader takes by name when they carry no text of their own.
_NAMED = frozenset(
    {"label", "push button", "toggle button", "check box", "radio button", "heading", "link",
     "combo box", "menu item", "page tab", "static", "status bar", "tool tip"}
)
# A control's own parts: a point on a button's caption hits its static text first, but
# the caption is the button's (and its name may already be the press's result).
_PARTS = frozenset({"static", "label", "image", "icon"})
_CONTROLS = frozenset(
    {"push button", "toggle button", "check box", "radio button", "link", "menu item", "check menu item",
     "radio menu item", "page tab", "combo box", "list item", "tree item"}
)
_EMBEDDED = "\ufffc"  # one character in a hypertext stands for each embedded child
_ROW_PX = 12  # toolkit lines whose tops differ by less are one row (GTK's Grid lists children reversed)
_MAX_NODES = 4000  # a walk stops here: a 600-row page has ~3,200 nodes


@dataclass(frozen=True)
class _Mapping:
    """From a toolkit's reported extents to screen input units: screen = raw * scale + offset."""

    scale: float = 1.0
    dx: int = 0
    dy: int = 0
    # Chromium reports its own UI in device-independent pixels but page content in device pixels.
    scale_document: bool = True

    def box(self, x: int, y: int, w: int, h: int, in_document: bool) -> Region | None:
        if w <= 0 or h <= 0:
            return None
        s = self.scale if (self.scale_document or not in_document) else 1.0
        left, top = math.floor(x * s) + self.dx, math.floor(y * s) + self.dy
        return Region(left, top, max(1, round(w * s)), max(1, round(h * s)))

    def raw_point(self, x: int, y: int) -> tuple[int, int]:
        return (round((x - self.dx) / self.scale), round((y - self.dy) / self.scale))


@dataclass(frozen=True)
class _Window:
    """The active window found in both worlds: its AT-SPI frame and its X window."""

    frame: Any
    screen: ScreenWindow | None
    toolkit: str
    mapping: _Mapping
    shows_state: bool  # GTK4 never sets SHOWING: VISIBLE must do there


def _intersect(a: Region, b: Region) -> Region | None:
    left, top = max(a.left, b.left), max(a.top, b.top)
    right, bottom = min(a.right, b.right), min(a.bottom, b.bottom)
    if right <= left or bottom <= top:
        return None
    return Region(left, top, right - left, bottom - top)


class AtspiTree:
    """The AT-SPI tree of the active window; ``stack`` (the platform) says which window that is."""

    def __init__(self, stack: WindowStack) -> None:
        import gi

        gi.require_version("Atspi", "2.0")
        from gi.repository import Atspi

        self._atspi: Any = Atspi
        self._stack = stack
        self._windows: dict[str, ScreenWindow] = {}  # title → X window, from the last lookup
        self._events: Any = None  # the EventWatch, started by the first wait_quiet or watch
        # The live object the last watch looked up, for the press that follows it at once:
        # one lookup between the last stop check and the input, not two (see _watched).
        self._watched_live: tuple[Element, Any] | None = None

    def available(self) -> bool:
        return True  # built only after the bus answered (open_tree)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """An application that exits or hangs mid-query fails the query (DisplayError), not the run."""
        from gi.repository import GLib

        try:
            yield
        except GLib.Error as err:
            raise DisplayError(f"the accessibility tree did not answer: {err.message}") from None

    # -- the active window -------------------------------------------------------------
    def _states(self, acc: Any) -> frozenset[str]:
        return frozenset(s.value_nick for s in acc.get_state_set().get_states())

    def _frame(self) -> _Window | None:
        Atspi = self._atspi
        active = self._stack.active()
        desktop = Atspi.get_desktop(0)
        candidates: list[tuple[int, Any, Any]] = []  # (preference, app, frame): lower is better
        for i in range(desktop.get_child_count()):
            app = desktop.get_child_at_index(i)
            if app is None:
                continue
            try:
                pid = app.get_process_id()
            except Exception:  # an application that just exited
                continue
            if active is not None and active.pid and pid != active.pid:
                continue
            for j in range(app.get_child_count()):
                frame = app.get_child_at_index(j)
                if frame is None:
                    continue
                name = frame.get_name() or ""
                states = self._states(frame)
                if active is not None and active.pid:
                    rank = 0 if name == active.title else 1 if "active" in states else 2
                elif "active" in states:
                    rank = 0
                else:
                    continue
                if "visible" in states or rank == 0:
                    candidates.append((rank, app, frame))
        if not candidates:
            return None
        candidates.sort(key=lambda c: c[0])
        _, app, frame = candidates[0]
        toolkit = app.get_toolkit_name() or ""
        version = app.get_toolkit_version() or ""
        title = frame.get_name() or ""
        screen = self._stack.find(app.get_process_id(), title)
        if screen is not None:
            self._windows[title] = screen
        mapping = self._mapping(frame, toolkit, version, screen)
        gtk4 = toolkit.upper() == "GTK" and version.startswith("4")
        return _Window(frame, screen, toolkit, mapping, shows_state=not gtk4)

    def _mapping(self, frame: Any, toolkit: str, version: str, screen: ScreenWindow | None) -> _Mapping:
        """Derive scale and offset from the frame's extents against the X window's geometry."""
        if screen is None:
            return _Mapping()
        if toolkit.upper() == "GTK" and version.startswith("4"):
            # GTK4 reports window-relative boxes even when asked for screen ones.
            return _Mapping(dx=screen.region.left, dy=screen.region.top)
        ext = self._extents(frame)
        if ext is None or ext[2] <= 0:
            return _Mapping()
        ratio = screen.region.width / ext[2]
        # Only a clear, common factor (1.25, 1.5, 2...) means logical pixels; frames with
        # decorations or shadows differ from the X window by a few pixels, never by 20%.
        if ratio >= 1.2:
            return _Mapping(scale=round(ratio * 4) / 4, scale_document=toolkit != "Chromium")
        return _Mapping()

    def _extents(self, acc: Any) -> tuple[int, int, int, int] | None:
        component = acc.get_component_iface()
        if component is None:
            return None
        ext = component.get_extents(self._atspi.CoordType.SCREEN)
        return (ext.x, ext.y, ext.width, ext.height)

    def _document(self, window: _Window) -> Any:
        """The showing web document inside the frame (Chromium's page), or None for toolkit windows."""
        Atspi = self._atspi
        collection = window.frame.get_collection_iface()
        if collection is None:
            return None
        rule = Atspi.MatchRule.new(
            Atspi.StateSet.new([]), Atspi.CollectionMatchType.ALL, {}, Atspi.CollectionMatchType.NONE,
            [Atspi.Role.DOCUMENT_WEB], Atspi.CollectionMatchType.ANY, [], Atspi.CollectionMatchType.NONE,
            False,
        )
        for doc in collection.get_matches(rule, Atspi.CollectionSortOrder.CANONICAL, 0, True):
            if "showing" in self._states(doc):
                return doc
        return None

    # -- elements ---------------------------------------------------------------------
    def _path(self, acc: Any) -> tuple[int, ...]:
        path: list[int] = []
        node = acc
        for _ in range(64):
            parent = node.get_parent()
            if parent is None or parent.get_role_name() == "desktop frame":
                break
            path.append(node.get_index_in_parent())
            node = parent
        return tuple(reversed(path))

    def _element(
        self, acc: Any, window: _Window, in_document: bool, clip: Region | None, *, full: bool = False
    ) -> Element | None:
        """The element ``acc`` is, or None when it is not on the screen (hidden, empty, outside the view)."""
        states = self._states(acc)
        if "visible" not in states or (window.shows_state and "showing" not in states):
            return None
        ext = self._extents(acc)
        box = window.mapping.box(*ext, in_document) if ext is not None else None
        if box is not None and clip is not None:
            # Controls half under a scrollbar keep "showing" with unclipped extents.
            box = _intersect(box, clip)
            if box is None:
                return None
        actions: tuple[str, ...] = ()
        action = acc.get_action_iface()
        if action is not None:
            actions = tuple(action.get_action_name(i) for i in range(action.get_n_actions()))
        return Element(
            role=acc.get_role_name(),
            name=acc.get_name() or "",
            box=box,
            path=self._path(acc) if full else (),
            description=(acc.get_description() or "") if full else "",
            states=states,
            actions=actions,
            window=window.frame.get_name() or "",
            in_document=in_document,
        )

    def _matches(self, root: Any, roles: Collection[str]) -> list[Any]:
        Atspi = self._atspi
        collection = root.get_collection_iface()
        if collection is None:
            # GTK4 (4.8) implements no Collection interface: walk the tree for the same answer.
            return self._walk_matches(root, frozenset(roles))
        wanted = [role for r in roles if (role := _role(Atspi, r)) is not None]
        rule = Atspi.MatchRule.new(
            Atspi.StateSet.new([Atspi.StateType.VISIBLE]), Atspi.CollectionMatchType.ALL, {},
            Atspi.CollectionMatchType.NONE, wanted,
            Atspi.CollectionMatchType.ANY if wanted else Atspi.CollectionMatchType.ALL, [],
            Atspi.CollectionMatchType.NONE, False,
        )
        return list(collection.get_matches(rule, Atspi.CollectionSortOrder.CANONICAL, 0, True))

    def _walk_matches(self, root: Any, roles: frozenset[str]) -> list[Any]:
        """Collection's answer by a depth-first walk: visible descendants of ``roles`` (any if none)."""
        found: list[Any] = []
        stack = _children(root)
        seen = 0
        while stack and seen < _MAX_NODES:
            acc = stack.pop()
            seen += 1
            if "visible" not in self._states(acc):
                continue  # nothing under a hidden node is on the screen
            if not roles or acc.get_role_name() in roles:
                found.append(acc)
            stack.extend(_children(acc))
        return found

    def _clip(self, window: _Window, document: Any) -> tuple[Region | None, Region | None]:
        """The window's box, and the web page's viewport (controls outside it are not on screen)."""
        win = window.screen.region if window.screen is not None else None
        if document is None:
            return win, None
        ext = self._extents(document)
        view = window.mapping.box(*ext, True) if ext is not None else None
        if view is not None and win is not None:
            view = _intersect(view, win)
        return win, view

    def find(self, roles: Collection[str] = (), name: str | None = None) -> list[Element]:
        with self._errors():
            return self._find(roles, name)

    def _find(self, roles: Collection[str], name: str | None) -> list[Element]:
        window = self._frame()
        if window is None:
            return []
        document = self._document(window)
        win, view = self._clip(window, document)
        found: list[Element] = []
        page: set[int] = set()
        if document is not None:
            for acc in self._matches(document, roles):
                page.add(hash(acc))
                if name is not None and (acc.get_name() or "") != name:
                    continue
                element = self._element(acc, window, True, view, full=name is not None)
                if element is not None and element.box is not None:
                    found.append(element)
        for acc in self._matches(window.frame, roles):
            if hash(acc) in page:
                continue
            if name is not None and (acc.get_name() or "") != name:
                continue
            element = self._element(acc, window, False, win, full=name is not None)
            if element is not None and element.box is not None:
                found.append(element)
        return found

    def element_at(self, x: int, y: int) -> Element | None:
        with self._errors():
            return self._element_at(x, y)

    def _element_at(self, x: int, y: int) -> Element | None:
        window = self._frame()
        if window is None:
            return None
        rx, ry = window.mapping.raw_point(x, y)
        node, in_document = window.frame, False
        role, control = "", None
        for _ in range(64):
            component = node.get_component_iface()
            screen = self._atspi.CoordType.SCREEN
            below = component.get_accessible_at_point(rx, ry, screen) if component else None
            if below is None or below == node:
                break
            node = below
            role = node.get_role_name()
            in_document = in_document or role == "document web"
            if role in _CONTROLS:
                control = node
        if node == window.frame:
            return None
        if role in _PARTS and control is not None:
            node = control  # the control whose caption or icon this is
        return self._element(node, window, in_document, None, full=True)

    def covered(self, element: Element) -> bool:
        point = element.center
        screen = self._windows.get(element.window)
        if point is None or screen is None:
            return True  # no window to check against: never click blind
        top = self._stack.top_at(*point)
        return top is None or top.id != screen.id

    def do_action(self, element: Element, action: str | None = None) -> None:
        with self._errors():
            self._do_action(element, action)

    def _do_action(self, element: Element, action: str | None) -> None:
        acc = self._watched(element)
        if acc is None:
            acc = self._live(element)
        iface = acc.get_action_iface()
        if iface is None or iface.get_n_actions() == 0:
            raise DisplayError(f"the {element.role} {element.name!r} has no action to perform")
        names = [iface.get_action_name(i) for i in range(iface.get_n_actions())]
        index = names.index(action) if action in names else 0
        if not iface.do_action(index):
            raise DisplayError(f"the {element.role} {element.name!r} refused its action {names[index]!r}")

    def _live(self, element: Element) -> Any:
        """The live object that is ``element`` now; DisplayError when it is gone or changed."""
        # Look it up again: a reference from before a reload acts on nothing and says True.
        again = [e for e in self.find((element.role,), element.name) if e.in_document == element.in_document]
        if element.path:
            same = [e for e in again if e.path == element.path]
            again = same or again
        if not again:
            raise DisplayError(f"the {element.role} {element.name!r} is gone from the window")
        target = min(again, key=lambda e: _distance(e, element))
        acc = self._resolve(target)
        if acc is None or acc.get_role_name() in ("invalid", ""):
            raise DisplayError(f"the {element.role} {element.name!r} changed before it could be pressed")
        return acc

    def _watched(self, element: Element) -> Any:
        """The live object the watch just before this press found for this very ``element``, if it
        still is that element; None otherwise (the press then looks it up, DisplayError when gone).

        Taken once: a later press of the element looks it up again.
        """
        held, self._watched_live = self._watched_live, None
        if held is None or held[0] is not element:
            return None
        acc = held[1]
        if acc.get_role_name() != element.role or (acc.get_name() or "") != element.name:
            return None  # it changed since the watch
        return acc

    def _resolve(self, element: Element) -> Any:
        """The live object at ``element.path`` from its application, checked to still be that element."""
        window = self._frame()
        if window is None:
            return None
        node = window.frame.get_parent()  # the application
        for index in element.path:
            if node is None:
                return None
            node = node.get_child_at_index(index)
        if node is None or node.get_role_name() != element.role or (node.get_name() or "") != element.name:
            return None
        return node

    # -- an action's effect ---------------------------------------------------------------
    def watch(self, element: Element) -> EffectWatch:
        """Read ``element`` now and note its application's events from now (called just before
        the action); DisplayError when it is gone."""
        with self._errors():
            self._watched_live = None
            acc = self._live(element)
            events = self._listen()
            before = self._reading(acc)
            pid = acc.get_process_id()
            seq, started = events.mark()  # after the reading: its replies may carry events
        self._watched_live = (element, acc)  # the press that follows needs no lookup of its own
        return _AtspiWatch(self, events, acc, pid, before, seq, started)

    def _reading(self, acc: Any) -> Reading:
        """How ``acc`` reads now: role, name, states, text and value (what an action may change)."""
        value = acc.get_value_iface()
        return Reading(
            role=acc.get_role_name(),
            name=acc.get_name() or "",
            states=self._states(acc),
            text=self._text(acc) or "",
            value=float(value.get_current_value()) if value is not None else None,
        )

    def _listen(self) -> Any:
        """The one event listener, shared by settling and effects (a second would see the same)."""
        if self._events is None:
            from agent.computers.atspi.events import EventWatch

            self._events = EventWatch(self._atspi)
        return self._events

    # -- settling ----------------------------------------------------------------------
    def wait_quiet(self, gap_s: float, timeout_s: float, stop: threading.Event) -> bool | None:
        """Wait for ``gap_s`` without an event (True) or ``timeout_s`` (False); None: no tree to listen to."""
        with self._errors():
            if self._frame() is None:
                return None
        quiet: bool = self._listen().wait_quiet(gap_s, timeout_s, stop)
        return quiet

    # -- text in reading order -----------------------------------------------------------
    def active_window(self) -> TreeWindow | None:
        with self._errors():
            return self._active_window()

    def _active_window(self) -> TreeWindow | None:
        window = self._frame()
        if window is None:
            return None
        document = self._document(window)
        win, view = self._clip(window, document)
        if document is not None:
            lines = list(self._web_lines(document, window, view, 0))
        else:
            lines = sorted(self._toolkit_lines(window, win), key=_reading_key)
            lines = _in_rows(lines)
        return TreeWindow(
            title=window.frame.get_name() or "",
            box=win,
            toolkit=window.toolkit,
            web=document is not None,
            elements=tuple(lines),
        )

    def _text(self, acc: Any) -> str | None:
        text = acc.get_text_iface()
        if text is None:
            return None
        return str(text.get_text(0, text.get_character_count()))

    def _web_lines(self, acc: Any, window: _Window, view: Region | None, depth: int) -> Iterator[Element]:
        """Orca's reading of a web node: its text with inline children folded in, block children as lines."""
        own = self._text(acc)
        role = acc.get_role_name()
        if own is None or not own.strip():
            # A check box whose label Chromium folded into its name has no text of its own.
            line = _label(role, acc.get_name() or "")
            element = self._element(acc, window, True, view)
            if line and element is not None:
                yield replace(element, text=line)
            return
        hyper = acc.get_hypertext_iface()
        current: list[str] = []
        said = 0

        def flush() -> Iterator[Element]:
            joined = "".join(current)
            current.clear()
            element = None
            for part in joined.split("\n"):
                words = " ".join(part.split())
                if not words:
                    continue
                element = element or self._element(acc, window, True, view)
                if element is None:
                    return
                nonlocal said
                said += 1
                yield replace(element, text=words)

        for offset, ch in enumerate(own):
            if ch != _EMBEDDED:
                current.append(ch)
                continue
            index = hyper.get_link_index(offset) if hyper is not None else -1
            child = hyper.get_link(index).get_object(0) if index >= 0 else None
            if child is None or "showing" not in self._states(child):
                continue  # off-screen paragraphs are not read
            child_role = child.get_role_name()
            if child_role in _INLINE:
                inline = " ".join((self._text(child) or child.get_name() or "").split())
                current.append(f" {inline} ")
                continue
            yield from flush()
            if depth < 64:
                for block in self._web_lines(child, window, view, depth + 1):
                    said += 1
                    yield block
        yield from flush()
        if not said and role in _NAMED:  # a closed select: its text is only its hidden menu
            element = self._element(acc, window, True, view)
            line = _label(role, acc.get_name() or "")
            if element is not None and line:
                yield replace(element, text=line)

    def _toolkit_lines(self, window: _Window, clip: Region | None) -> Iterator[Element]:
        """Each showing node's own text, or the name of a label or control without text (Qt's labels)."""
        stack = [window.frame]
        seen = 0
        while stack and seen < _MAX_NODES:
            acc = stack.pop()
            seen += 1
            element = self._element(acc, window, False, clip)
            if element is None or acc == window.frame:
                if acc == window.frame:
                    stack.extend(_children(acc))
                continue
            text = self._text(acc)
            line = " ".join(text.split()) if text else ""
            if not line and element.role in _NAMED:
                line = element.name if element.role in ("label", "static", "heading") else _label(
                    element.role, element.name
                )
            if line and element.box is not None:
                yield replace(element, text=line)
                continue  # a button's inner label would say its name twice
            stack.extend(_children(acc))


class _AtspiWatch:
    """An action's effect on one element: its application's first event since the mark, else
    the element read again differing from how it read just before the action."""

    def __init__(
        self, tree: AtspiTree, events: Any, acc: Any, pid: int, before: Reading, seq: int, started: float
    ) -> None:
        self._tree, self._events, self._acc, self._pid = tree, events, acc, pid
        self._before, self._seq, self._started = before, seq, started
        # id(source) → (source, process id, role), asked once a source. The source is kept with
        # its key: while it lives no other object can have its id (a hash, or an id of an
        # object since collected, could be a new object's and answer for it).
        self._sources: dict[int, tuple[Any, int | None, str]] = {}

    def _counts(self, heard: Heard) -> bool:
        """An event from the watched application that an action can cause (agent.effects)."""
        source = heard.source
        if source is None or not counts_as_effect(heard.kind, ""):
            return False
        known = self._sources.get(id(source))
        if known is None:
            try:
                known = (source, source.get_process_id(), source.get_role_name())
            except Exception:  # an application that just exited: not the one watched
                known = (source, None, "")
            self._sources[id(source)] = known
        _source, pid, role = known
        return pid == self._pid and counts_as_effect(heard.kind, role)

    def wait(self, timeout_s: float, stop: threading.Event) -> Effect:
        # The timeout runs from now, after the action: Qt's animated Press alone takes ~105 ms.
        heard = self._events.wait_for(self._seq, self._counts, timeout_s, stop)
        if heard is not None:
            return Effect("event", heard.kind, heard.at - self._started)
        if stop.is_set():
            return Effect("", "stopped", time.monotonic() - self._started)
        try:
            reading = self._tree._reading(self._acc)
            # A reference from before a reload reads as "invalid": the element was replaced.
            after: Reading | None = None if reading.role in ("invalid", "") else reading
        except Exception:  # GLib.Error: its application went away with it
            after = None
        change = reading_change(self._before, after)
        waited = time.monotonic() - self._started
        return Effect("re-read", change, waited) if change else Effect("", "", waited)


def _children(acc: Any) -> list[Any]:
    kids = [acc.get_child_at_index(i) for i in range(acc.get_child_count())]
    return [k for k in reversed(kids) if k is not None]


def _label(role: str, name: str) -> str:
    """A control read by its name and role, as a screen reader says it ("[push button: Save]")."""
    return f"[{role}: {name}]" if name.strip() else ""


def _reading_key(element: Element) -> tuple[int, int]:
    box = element.box
    return (box.top, box.left) if box is not None else (0, 0)


def _in_rows(lines: list[Element]) -> list[Element]:
    """Lines sorted top to bottom, and left to right within a row of tops ``_ROW_PX`` apart."""
    rows: list[list[Element]] = []
    for element in lines:
        top = element.box.top if element.box is not None else 0
        if rows and rows[-1][0].box is not None and top - rows[-1][0].box.top < _ROW_PX:
            rows[-1].append(element)
        else:
            rows.append([element])
    return [e for row in rows for e in sorted(row, key=lambda e: e.box.left if e.box else 0)]


def _distance(a: Element, b: Element) -> float:
    if a.center is None or b.center is None:
        return math.inf
    return math.dist(a.center, b.center)


def _role(Atspi: Any, name: str) -> Any:  # noqa: N803 (the module's own name)
    """The ``Atspi.Role`` for a role name such as "push button"; None where this libatspi has no such role."""
    return getattr(Atspi.Role, name.upper().replace(" ", "_"), None)

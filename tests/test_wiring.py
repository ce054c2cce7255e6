"""The guarded run every source gets from agent.wiring: the acting mark, on a real X server."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.api import Session, Settings, click_by_name
from agent.macros.player import PlaySettings
from agent.macros.schema import Macro, MacroStep, Monitor, save_macro
from agent.ports import TextBox
from agent.testing.operator import FakeOperator
from agent.testing.reader import FakeReader
from tests.support import DONE, call, display_size, model_point, wait_until, write_script

# Where the test's window sits on the display, and the point every source clicks.
WINDOW = (200, 200, 300, 200)
POINT = (WINDOW[0] + WINDOW[2] // 2, WINDOW[1] + WINDOW[3] // 2)


class MarkWatch:
    """One X connection that sees, in the server's own order, each change of the acting mark
    on the root window and each button event on a window of its own under ``POINT``."""

    def __init__(self) -> None:
        import Xlib.display
        from Xlib import X

        from agent.computers.x11.marker import PROPERTY

        self._x = X
        self.conn = Xlib.display.Display()
        self.atom = self.conn.intern_atom(PROPERTY)
        root = self.conn.screen().root
        root.change_attributes(event_mask=X.PropertyChangeMask)
        left, top, width, height = WINDOW
        self.window = root.create_window(
            left, top, width, height, 0, self.conn.screen().root_depth,
            override_redirect=True,
            event_mask=X.ButtonPressMask | X.ButtonReleaseMask | X.StructureNotifyMask,
        )
        self.window.map()
        self.conn.sync()
        self.seen: list[str] = []
        assert wait_until(lambda: "mapped" in self.collect(), 5), "the test window was never mapped"
        self._paint()
        self.seen.clear()

    def _paint(self) -> None:
        """Squares of many colours: a look a macro's anchor finds in one place only."""
        import random

        pick = random.Random(18)
        gc = self.window.create_gc()
        for top in range(0, WINDOW[3], 20):
            for left in range(0, WINDOW[2], 20):
                gc.change(foreground=pick.randrange(0x1000000))
                self.window.fill_rectangle(gc, left, top, 20, 20)
        self.conn.sync()

    def collect(self) -> list[str]:
        """Every event so far, oldest first: "mark", "press", "release", "mapped"."""
        X = self._x
        seen = self.seen
        while self.conn.pending_events():
            event = self.conn.next_event()
            if event.type == X.PropertyNotify and event.atom == self.atom:
                seen.append("mark")
            elif event.type == X.ButtonPress:
                seen.append("press")
            elif event.type == X.ButtonRelease:
                seen.append("release")
            elif event.type == X.MapNotify:
                seen.append("mapped")
        return seen

    def close(self) -> None:
        self.window.destroy()
        self.conn.close()


@pytest.fixture
def watch(x_display: str) -> Iterator[MarkWatch]:
    watching = MarkWatch()
    yield watching
    watching.close()


def _settings(tmp: Path, **extra: Any) -> Settings:
    return Settings(confirm="never", history_dir=str(tmp / "runs"), **extra)


def run_task(tmp: Path) -> str:
    script = write_script(tmp / "click.jsonl", [
        call('{"action": "left_click", "coordinate": ' + model_point(*POINT) + "}"), DONE,
    ])
    settings = _settings(tmp, backend="script", script=str(script))
    return Session().run_task(settings, "press it", FakeOperator(), stop=threading.Event()).outcome


def play_macro(tmp: Path) -> str:
    from agent.computers.x11.screen import MssScreen
    from agent.macros.anchors import make_anchor

    width, height = display_size()
    anchor = make_anchor(MssScreen(1).capture().image, POINT)
    path = tmp / "click.json"
    step = MacroStep(action={"action": "left_click", "x": POINT[0], "y": POINT[1]}, anchor=anchor)
    save_macro(Macro(monitor=Monitor(width=width, height=height), steps=[step]), path)
    return Session().play_macro(
        _settings(tmp), path, FakeOperator(), stop=threading.Event(), play=PlaySettings(), model=False
    ).outcome


def click_name(tmp: Path) -> str:
    from agent.access.clicking import ClickRequest

    x, y = POINT
    reader = FakeReader([TextBox("Target", x - 30, y - 10, x + 30, y + 10)])
    return click_by_name(_settings(tmp), ClickRequest("Target"), FakeOperator(), stop=threading.Event(),
                         reader=reader).result.outcome


@pytest.mark.parametrize("source", [run_task, play_macro, click_name], ids=["task", "macro", "click-by-name"])
def test_every_sources_click_lands_while_the_acting_mark_is_set(
    watch: MarkWatch, tmp_path: Path, source: Callable[[Path], str]
) -> None:
    # Each action is bracketed by two changes of the mark (set far ahead, then a short
    # grace), so an action performed under the mark has an odd number of changes before it.
    assert source(tmp_path) == "success"
    assert wait_until(lambda: "release" in watch.collect(), 5), watch.seen
    events = watch.seen
    assert events.count("press") == 1, events
    for name in ("press", "release"):
        assert events[: events.index(name)].count("mark") % 2 == 1, f"{name} outside the acting mark: {events}"

"""Typing non-ASCII text into real windows of four toolkits: Chromium, GTK, Qt and xterm.

Each check reads what the window itself received (the page posts its field to a
loopback server, the GTK and Qt apps print their entry on Enter, xterm's shell copies
its input to a pipe), and that the user's clipboard and primary selection are what
the test put there before. Then the ways a paste fails: nobody takes it, no window
has the focus, only a clipboard manager fetched the text, the user stops it, the
paste key fails, the user copies meanwhile; each restores what it should.
"""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from agent.actions import LeftClick, MouseMove, ScreenAction, Type
from agent.computers.x11.clipboard import XSelectionClipboard
from agent.errors import ClipboardError, DisplayError, StoppedError
from tests.apps.text_windows import (
    KINDS,
    OPENERS,
    MissingProgram,
    TextWindow,
    chromium_window,
    focus_follows_pointer,
    user_copies,
    xclip_out,
)
from tests.conftest import ProbeApp, require_program, xdotool

MIXED = "打开浏览器 deskpilot é€ 😀"
USER_CLIPBOARD = "my precious notes ✂"
USER_PRIMARY = "selected words"


def act(action: object, x: int | None = None, y: int | None = None) -> ScreenAction:
    return ScreenAction(action=action, x=x, y=y)


@pytest.fixture
def user_selections(x_display: str) -> Iterator[None]:
    """The user's clipboard and primary selection before the agent types; emptied after."""
    require_program("xclip")
    owners = [user_copies("clipboard", USER_CLIPBOARD), user_copies("primary", USER_PRIMARY)]
    yield
    for proc in owners:  # gone already once the agent took the selection
        proc.terminate()
        proc.wait(timeout=10)
    for sel in ("clipboard", "primary"):
        subprocess.run(["xclip", "-selection", sel, "-i", "/dev/null"], timeout=5)


def assert_user_selections_restored() -> None:
    assert (xclip_out("clipboard"), xclip_out("primary")) == (USER_CLIPBOARD, USER_PRIMARY)


# -- the windows -------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium(x_display: str) -> Iterator[TextWindow]:
    """One Chromium for the module: it takes seconds to start."""
    try:
        with chromium_window() as window:
            yield window
    except MissingProgram as err:
        pytest.fail(str(err))


@pytest.fixture
def window(request: pytest.FixtureRequest, x_display: str) -> Iterator[TextWindow]:
    if request.param == "chromium":
        yield request.getfixturevalue("chromium")
        return
    try:
        with OPENERS[request.param]() as window:
            yield window
    except MissingProgram as err:
        pytest.fail(str(err))


@pytest.fixture
def desktop(x_display: str) -> Iterator[Any]:
    from agent.computers.x11.desktop import DesktopComputer

    xdotool("mousemove", "960", "540")
    yield DesktopComputer(1)
    xdotool("mousemove", "960", "540")


# -- the tests -----------------------------------------------------------------------


@pytest.mark.parametrize("window", KINDS, indirect=True)
def test_mixed_text_arrives_intact_and_the_selections_are_restored(
    window: TextWindow, desktop: Any, user_selections: None
) -> None:
    # Here, not before the window opened: a window closed by the previous test may
    # hand the focus back (to None) once the server notices, which can be late.
    focus_follows_pointer()
    # No window manager: focus follows the pointer, so click into the field first.
    desktop.perform(act(LeftClick(coordinate=(0, 0)), *window.click_xy))
    desktop.perform(act(Type(text=MIXED + "\n")))
    assert window.received() == MIXED
    assert_user_selections_restored()


@pytest.fixture
def deaf_window(probe) -> ProbeApp:
    """A focused window that gets the paste key but never asks for the clipboard."""
    app = probe("--geometry", "400x200+1300+800", "--colour", "#204060")  # no line edit
    focus_follows_pointer()
    xdotool("mousemove", "1500", "900")
    return app


def desktop_with(clipboard: XSelectionClipboard, cancel: threading.Event) -> Any:
    from agent.computers.x11.desktop import DesktopComputer

    return DesktopComputer(1, cancel=cancel, clipboard=clipboard)


def test_a_paste_nobody_takes_fails_within_the_timeout_and_restores(
    deaf_window: ProbeApp, user_selections: None
) -> None:
    cancel = threading.Event()
    desktop = desktop_with(XSelectionClipboard(paste_timeout_s=1.0, cancel=cancel), cancel)
    started = time.monotonic()
    with pytest.raises(ClipboardError, match="no application took the pasted text within 1 s"):
        desktop.perform(act(Type(text="无人接收")))
    assert time.monotonic() - started < 5  # bounded by the timeout, not hung
    # The paste key did arrive (Qt.Key_Shift, Qt.Key_Insert); the window just took nothing.
    assert [deaf_window.wait_for("key")["key"] for _ in range(2)] == [0x01000020, 0x01000006]
    assert_user_selections_restored()


def test_with_no_focused_window_nothing_is_pressed_and_it_fails_at_once(
    desktop: Any, user_selections: None
) -> None:
    focus_follows_pointer()
    desktop.perform(act(MouseMove(coordinate=(0, 0)), 1500, 1000))  # the bare root window
    clipboard = XSelectionClipboard(paste_timeout_s=30)
    pressed: list[bool] = []
    with pytest.raises(ClipboardError, match="no window has the keyboard focus"):
        clipboard.paste("无人", lambda: pressed.append(True))
    assert (pressed, clipboard.last_paste and clipboard.last_paste.outcome) == ([], "unfocused")
    assert_user_selections_restored()


class ClipboardManager:
    """Like a clipboard manager: fetches the text of each new CLIPBOARD owner at once."""

    def __init__(self) -> None:
        from Xlib import X, display
        from Xlib.ext import xfixes

        self._X = X
        self._display = display.Display()
        self._display.xfixes_query_version()
        self._clipboard = self._display.intern_atom("CLIPBOARD")
        self._utf8 = self._display.intern_atom("UTF8_STRING")
        self._window = self._display.screen().root.create_window(
            0, 0, 1, 1, 0, X.CopyFromParent, X.InputOnly, X.CopyFromParent
        )
        self._display.xfixes_select_selection_input(
            self._display.screen().root, self._clipboard, xfixes.XFixesSetSelectionOwnerNotifyMask
        )
        self._display.sync()
        self.fetched: queue.Queue[str] = queue.Queue()
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        self._display.next_event()  # the agent took the clipboard: fetch its text
        prop = self._display.intern_atom("MANAGER_COPY")
        self._window.convert_selection(self._clipboard, self._utf8, prop, self._X.CurrentTime)
        self._display.flush()
        while (event := self._display.next_event()).type != self._X.SelectionNotify:
            pass
        reply = self._window.get_full_property(prop, self._X.AnyPropertyType) if event.property else None
        self.fetched.put(reply.value.decode("utf-8") if reply is not None else "")

    def close(self) -> None:
        self.thread.join(timeout=10)
        self._display.close()


def test_a_clipboard_manager_fetching_the_text_is_not_a_paste(
    deaf_window: ProbeApp, user_selections: None
) -> None:
    manager = ClipboardManager()
    cancel = threading.Event()
    desktop = desktop_with(XSelectionClipboard(paste_timeout_s=1.0, cancel=cancel), cancel)
    try:
        with pytest.raises(ClipboardError, match=r"UTF8_STRING \(another client\)"):
            desktop.perform(act(Type(text="经理")))
        assert manager.fetched.get(timeout=10) == "经理"  # it was served, but it pasted nothing
    finally:
        manager.close()
    assert_user_selections_restored()


class OwnerWatch:
    """Sets ``event`` as soon as another client takes the CLIPBOARD selection (XFixes)."""

    def __init__(self, event: threading.Event) -> None:
        from Xlib import display
        from Xlib.ext import xfixes

        self._display = display.Display()
        self._display.xfixes_query_version()
        atom = self._display.intern_atom("CLIPBOARD")
        self._display.xfixes_select_selection_input(
            self._display.screen().root, atom, xfixes.XFixesSetSelectionOwnerNotifyMask
        )
        self._display.sync()
        self._event = event
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        self._display.next_event()  # the first owner change: the agent taking it
        self._event.set()

    def close(self) -> None:
        self.thread.join(timeout=10)
        self._display.close()


def test_a_cancel_mid_paste_stops_and_restores(deaf_window: ProbeApp, user_selections: None) -> None:
    cancel = threading.Event()
    desktop = desktop_with(XSelectionClipboard(paste_timeout_s=30, cancel=cancel), cancel)
    watch = OwnerWatch(cancel)  # the stop arrives once the agent owns the clipboard
    started = time.monotonic()
    try:
        with pytest.raises(StoppedError, match="while pasting"):
            desktop.perform(act(Type(text="停止")))
    finally:
        watch.close()
    assert time.monotonic() - started < 10  # the stop ended the 30 s wait
    assert_user_selections_restored()


def test_a_paste_key_that_fails_still_restores(deaf_window: ProbeApp, user_selections: None) -> None:
    def broken_keyboard() -> None:
        raise DisplayError("the keyboard went away")

    with pytest.raises(DisplayError, match="went away"):
        XSelectionClipboard(paste_timeout_s=1.0).paste("恢复", broken_keyboard)
    assert_user_selections_restored()


def test_a_copy_made_during_the_paste_is_kept(deaf_window: ProbeApp, user_selections: None) -> None:
    copied: list[subprocess.Popen[bytes]] = []

    def user_copies_instead() -> None:  # the user copies something while nobody takes the paste
        copied.append(user_copies("clipboard", "copied meanwhile"))

    try:
        with pytest.raises(ClipboardError):
            XSelectionClipboard(paste_timeout_s=0.5).paste("无人", user_copies_instead)
        assert (xclip_out("clipboard"), xclip_out("primary")) == ("copied meanwhile", USER_PRIMARY)
    finally:
        for proc in copied:
            proc.terminate()
            proc.wait(timeout=10)


def selection_owners() -> tuple[int, int]:
    from Xlib import display

    conn = display.Display()
    try:
        owners = [conn.get_selection_owner(conn.intern_atom(name)) for name in ("CLIPBOARD", "PRIMARY")]
    finally:
        conn.close()
    # python-xlib answers a window, or the integer 0 when there is no owner.
    clipboard, primary = (int(getattr(owner, "id", owner)) for owner in owners)
    return clipboard, primary


def test_selections_that_had_no_owner_get_none_again(probe, desktop: Any, xclip_owned: None) -> None:
    from Xlib import X, display

    # Own both, then destroy the owner: the server leaves them without owner. (Synced:
    # a disconnect alone may be processed after another client's next request.)
    conn = display.Display()
    win = conn.screen().root.create_window(0, 0, 1, 1, 0, X.CopyFromParent, X.InputOnly, X.CopyFromParent)
    for name in ("CLIPBOARD", "PRIMARY"):
        win.set_selection_owner(conn.intern_atom(name), X.CurrentTime)
    win.destroy()
    conn.sync()
    conn.close()
    assert selection_owners() == (X.NONE, X.NONE)
    app = probe("--edit", "--geometry", "700x80+1000+300")
    focus_follows_pointer()
    desktop.perform(act(LeftClick(coordinate=(0, 0)), 1350, 340))
    desktop.perform(act(Type(text="无主 ok\n")))
    assert app.wait_for("text")["text"] == "无主 ok"
    assert selection_owners() == (X.NONE, X.NONE)

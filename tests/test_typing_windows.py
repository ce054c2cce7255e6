"""Typing non-ASCII text into real windows of four toolkits: Chromium, GTK, Qt and xterm.

Each check reads what the window itself received (the page posts its field to a
loopback server, the GTK and Qt apps print their entry on Enter, xterm's shell copies
its input to a pipe), and that the user's clipboard and primary selection are what
the test put there before.
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agent.actions import LeftClick, MouseMove, ScreenAction, Type
from agent.computers.clipboard import XSelectionClipboard
from agent.errors import ClipboardError, DisplayError, StoppedError
from tests.conftest import APPS, ProbeApp, require_program, xdotool

MIXED = "打开浏览器 deskpilot é€ 😀"
USER_CLIPBOARD = "my precious notes ✂"
USER_PRIMARY = "selected words"
KINDS = ("chromium", "gtk", "qt", "xterm")

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>deskpilot-chromium</title>
<style>
  body { margin: 0; background: #fff; font: 24px "Noto Sans CJK SC", sans-serif; }
  /* The field fills the page: an info bar Chromium shows for --no-sandbox pushes the
     page down by an unknown amount, and the test clicks the middle of the window. */
  input { position: fixed; inset: 10px; box-sizing: border-box; width: calc(100% - 20px); font: inherit; }
</style>
<input id="field" autocomplete="off">
<script>
  const field = document.getElementById("field");
  field.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      fetch("/typed", {method: "POST", body: field.value});
      field.value = "";
    }
  });
  window.addEventListener("load", () => fetch("/ready", {method: "POST", body: "ready"}));
</script>
"""


def act(action: object, x: int | None = None, y: int | None = None) -> ScreenAction:
    return ScreenAction(action=action, x=x, y=y)


def user_copies(selection: str, text: str) -> subprocess.Popen[bytes]:
    """An owner like a program the user copied from; it serves until someone else copies."""
    proc = subprocess.Popen(
        ["xclip", "-selection", selection, "-quiet", "-i"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write(text.encode("utf-8"))
    proc.stdin.close()
    # -quiet xclip says it waits for requests once it owns the selection.
    assert b"Waiting" in proc.stderr.readline()
    return proc


def xclip_out(selection: str) -> str:
    result = subprocess.run(["xclip", "-selection", selection, "-o"], capture_output=True, timeout=5)
    return result.stdout.decode("utf-8", "replace")


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


class PageServer:
    """A loopback HTTP server: serves the page and queues what the page posts."""

    def __init__(self) -> None:
        self.posts: queue.Queue[tuple[str, str]] = queue.Queue()
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                body = PAGE.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                posts.put((self.path, self.rfile.read(length).decode("utf-8")))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, path: str, timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                got, body = self.posts.get(timeout=left)
            except queue.Empty:
                break
            if got == path:
                return body
        raise AssertionError(f"the page posted nothing to {path} in {timeout} s")

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def chromium(x_display: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageServer]:
    """One Chromium for the module (it takes seconds to start), showing the test page."""
    binary = require_program("chromium")
    server = PageServer()
    profile = tmp_path_factory.mktemp("chromium-profile")
    proc = subprocess.Popen(
        [
            binary, "--no-sandbox", f"--user-data-dir={profile}", "--no-first-run",
            "--no-default-browser-check", "--disable-gpu", "--password-store=basic",
            "--disable-features=Translate,MediaRouter", "--window-position=0,0",
            "--window-size=900,300", f"--app={server.url}",
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        server.wait_for("/ready", timeout=60)
        xdotool("search", "--sync", "--onlyvisible", "--name", "deskpilot-chromium")
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        server.close()


class JsonLinesApp(ProbeApp):
    """Like the Qt probe, for any app that prints JSON event lines (here the GTK entry)."""

    def __init__(self, *command: str) -> None:  # noqa: D107
        env = dict(os.environ, NO_AT_BRIDGE="1")
        self.proc = subprocess.Popen(
            list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            encoding="utf-8", env=env,
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.ready = self.wait_for("ready", timeout=20)


class PipeReader:
    """Lines written into a named pipe, as they arrive."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self.lines: queue.Queue[str] = queue.Queue()
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        with open(self.path, encoding="utf-8") as pipe:  # blocks until the writer opens it
            for line in pipe:
                self.lines.put(line)

    def next_line(self, timeout: float = 10) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"nothing arrived through {self.path} in {timeout} s") from None


@dataclass
class Window:
    """A text field to click into, and how to read what it received on Enter."""

    click_xy: tuple[int, int]
    received: Callable[[], str]


def focus_follows_pointer() -> None:
    """Give the keyboard focus back to whatever window is under the pointer.

    Without a window manager Chromium sets the input focus to itself when clicked and
    keeps it; a window manager would move it on the next click elsewhere. GTK and
    xterm do not take the focus themselves, so the test does that manager's part.
    """
    from Xlib import X, display

    conn = display.Display()
    try:
        conn.set_input_focus(X.PointerRoot, X.RevertToPointerRoot, X.CurrentTime)
        conn.sync()
    finally:
        conn.close()


@pytest.fixture
def window(request: pytest.FixtureRequest, tmp_path: Path, x_display: str) -> Iterator[Window]:
    kind = request.param
    focus_follows_pointer()
    if kind == "chromium":
        server: PageServer = request.getfixturevalue("chromium")
        yield Window((450, 200), lambda: server.wait_for("/typed"))
    elif kind == "gtk":
        has_gtk = subprocess.run(
            ["/usr/bin/python3", "-c", "import gi; gi.require_version('Gtk', '3.0')"], capture_output=True, timeout=30
        )
        if has_gtk.returncode != 0:
            pytest.fail("the GTK window needs python3-gi and gir1.2-gtk-3.0; scripts/install.sh --test installs them")
        app = JsonLinesApp("/usr/bin/python3", str(APPS / "gtk_entry.py"), "--geometry", "700x60+1000+100")
        try:
            yield Window((1350, 130), lambda: str(app.wait_for("text")["text"]))
        finally:
            app.close()
    elif kind == "qt":
        qt = ProbeApp("--edit", "--geometry", "700x80+1000+300")
        try:
            yield Window((1350, 340), lambda: str(qt.wait_for("text")["text"]))
        finally:
            qt.close()
    else:
        require_program("xterm")
        pipe = PipeReader(tmp_path / "typed.fifo")
        env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
        term = subprocess.Popen(
            ["xterm", "-u8", "-fa", "Noto Sans Mono CJK SC", "-fs", "12", "-T", "deskpilot-xterm",
             "-geometry", "80x10+1000+600", "-e", "sh", "-c", f"cat > '{pipe.path}'"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            xdotool("search", "--sync", "--onlyvisible", "--name", "deskpilot-xterm")
            yield Window((1200, 660), lambda: pipe.next_line().removesuffix("\n"))
        finally:
            term.terminate()
            term.wait(timeout=10)


@pytest.fixture
def desktop(x_display: str) -> Iterator[Any]:
    from agent.computers.desktop import DesktopComputer

    xdotool("mousemove", "960", "540")
    yield DesktopComputer(1)
    xdotool("mousemove", "960", "540")


# -- the tests -----------------------------------------------------------------------


@pytest.mark.parametrize("window", KINDS, indirect=True)
def test_mixed_text_arrives_intact_and_the_selections_are_restored(
    window: Window, desktop: Any, user_selections: None
) -> None:
    # No window manager: focus follows the pointer, so click into the field first.
    desktop.perform(act(LeftClick(coordinate=(0, 0)), *window.click_xy))
    desktop.perform(act(Type(text=MIXED + "\n")))
    assert window.received() == MIXED
    assert_user_selections_restored()


def nowhere(desktop: Any) -> None:
    """Put the pointer over the bare root window: no text field has the focus."""
    focus_follows_pointer()
    desktop.perform(act(MouseMove(coordinate=(0, 0)), 1500, 1000))


def test_a_paste_nobody_takes_fails_within_the_timeout_and_restores(
    x_display: str, user_selections: None
) -> None:
    from agent.computers.desktop import DesktopComputer

    cancel = threading.Event()
    desktop = DesktopComputer(1, cancel=cancel, clipboard=XSelectionClipboard(paste_timeout_s=1.0, cancel=cancel))
    nowhere(desktop)
    started = time.monotonic()
    with pytest.raises(ClipboardError, match="no application took the pasted text within 1 s"):
        desktop.perform(act(Type(text="无人接收")))
    assert time.monotonic() - started < 5  # bounded by the timeout, not hung
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


def test_a_cancel_mid_paste_stops_and_restores(x_display: str, user_selections: None) -> None:
    from agent.computers.desktop import DesktopComputer

    cancel = threading.Event()
    desktop = DesktopComputer(1, cancel=cancel, clipboard=XSelectionClipboard(paste_timeout_s=30, cancel=cancel))
    nowhere(desktop)
    watch = OwnerWatch(cancel)  # the stop arrives once the agent owns the clipboard
    started = time.monotonic()
    try:
        with pytest.raises(StoppedError, match="while pasting"):
            desktop.perform(act(Type(text="停止")))
    finally:
        watch.close()
    assert time.monotonic() - started < 10  # the stop ended the 30 s wait
    assert_user_selections_restored()


def test_a_paste_key_that_fails_still_restores(x_display: str, user_selections: None) -> None:
    def broken_keyboard() -> None:
        raise DisplayError("the keyboard went away")

    with pytest.raises(DisplayError, match="went away"):
        XSelectionClipboard(paste_timeout_s=1.0).paste("恢复", broken_keyboard)
    assert_user_selections_restored()


def test_a_copy_made_during_the_paste_is_kept(x_display: str, user_selections: None) -> None:
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

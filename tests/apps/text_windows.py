"""Real text fields of four kinds (Chromium, GTK, Qt, xterm) that report what they received,
and the user's side of the clipboard (an owner like a program copied from, a reader).

Shared by tests/test_typing_windows.py and scripts/bench_paste.py. Each window is
opened as a context manager yielding a ``TextWindow``: where to click to focus its
field, and a function that waits for the next line the field received on Enter, as
the program itself saw it (the page posts to a loopback server, the GTK and Qt apps
print JSON lines, xterm's shell writes into a named pipe).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

APPS = Path(__file__).resolve().parent
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


class MissingProgram(RuntimeError):
    """A program a window needs is not installed (scripts/install.sh --test installs it)."""


@dataclass
class TextWindow:
    """A text field to click into, and how to read what it received on Enter."""

    kind: str
    click_xy: tuple[int, int]
    received: Callable[[], str]


def xdotool(*args: str) -> str:
    result = subprocess.run(["xdotool", *args], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"xdotool {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def focus_follows_pointer() -> None:
    """Give the keyboard focus back to whatever window is under the pointer.

    Without a window manager Chromium sets the input focus to itself when clicked and
    keeps it; a window manager would move it on the next click elsewhere. GTK and
    xterm do not take the focus themselves, so we do that manager's part.
    """
    from Xlib import X, display

    conn = display.Display()
    try:
        conn.set_input_focus(X.PointerRoot, X.RevertToPointerRoot, X.CurrentTime)
        conn.sync()
    finally:
        conn.close()


class JsonLinesApp:
    """A program that prints JSON event lines on stdout; they arrive on a queue."""

    def __init__(self, *command: str) -> None:
        # NO_AT_BRIDGE: GTK would otherwise look for an accessibility bus and warn.
        env = dict(os.environ, NO_AT_BRIDGE="1")
        self.proc = subprocess.Popen(
            list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            encoding="utf-8", env=env,
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.ready = self.wait_for("ready", timeout=30)

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.put(json.loads(line))

    def wait_for(self, event: str, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = self.events.get(timeout=left)
            except queue.Empty:
                break
            if item["event"] == event:
                return item
        err = self.proc.stderr.read() if self.proc.stderr and self.proc.poll() is not None else ""
        raise AssertionError(f"{self.proc.args[1]} sent no {event!r} event in {timeout} s {err}")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


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


def need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise MissingProgram(f"{program} is not installed; scripts/install.sh --test installs it")
    return path


@contextmanager
def chromium_window() -> Iterator[TextWindow]:
    """Chromium in app mode at 0,0 (900x300) on the test page; it takes seconds to start."""
    binary = need("chromium")
    server = PageServer()
    with tempfile.TemporaryDirectory(prefix="deskpilot-chromium-") as profile:
        proc = subprocess.Popen(
            [
                # --no-sandbox: Chromium refuses to run as root without it (CI runs as root).
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
            yield TextWindow("chromium", (450, 200), lambda: server.wait_for("/typed"))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            server.close()


@contextmanager
def gtk_window() -> Iterator[TextWindow]:
    """A GTK 3 entry at 1000,100 (700x60), run by Debian's interpreter with python3-gi."""
    has_gtk = subprocess.run(
        ["/usr/bin/python3", "-c", "import gi; gi.require_version('Gtk', '3.0')"],
        capture_output=True, timeout=30,
    )
    if has_gtk.returncode != 0:
        raise MissingProgram(
            "the GTK window needs python3-gi and gir1.2-gtk-3.0; scripts/install.sh --test installs them"
        )
    app = JsonLinesApp("/usr/bin/python3", str(APPS / "gtk_entry.py"), "--geometry", "700x60+1000+100")
    try:
        yield TextWindow("gtk", (1350, 130), lambda: str(app.wait_for("text")["text"]))
    finally:
        app.close()


@contextmanager
def qt_window() -> Iterator[TextWindow]:
    """The Qt probe's line edit at 1000,300 (700x80)."""
    app = JsonLinesApp(sys.executable, str(APPS / "probe_window.py"), "--edit", "--geometry", "700x80+1000+300")
    try:
        yield TextWindow("qt", (1350, 340), lambda: str(app.wait_for("text")["text"]))
    finally:
        app.close()


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


@contextmanager
def xterm_window() -> Iterator[TextWindow]:
    """xterm at 1000,600 running a shell that copies each line it reads into a pipe."""
    need("xterm")
    with tempfile.TemporaryDirectory(prefix="deskpilot-xterm-") as tmp:
        pipe = PipeReader(Path(tmp) / "typed.fifo")
        env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
        term = subprocess.Popen(
            ["xterm", "-u8", "-fa", "Noto Sans Mono CJK SC", "-fs", "12", "-T", "deskpilot-xterm",
             "-geometry", "80x10+1000+600", "-e", "sh", "-c", f"cat > '{pipe.path}'"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            xdotool("search", "--sync", "--onlyvisible", "--name", "deskpilot-xterm")
            yield TextWindow("xterm", (1200, 660), lambda: pipe.next_line().removesuffix("\n"))
        finally:
            term.terminate()
            term.wait(timeout=10)


def user_copies(selection: str, text: str) -> subprocess.Popen[bytes]:
    """An owner like a program the user copied from; it serves until someone else copies."""
    proc = subprocess.Popen(
        ["xclip", "-selection", selection, "-quiet", "-i"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write(text.encode("utf-8"))
    proc.stdin.close()
    # -quiet xclip says it waits for requests once it owns the selection (a plain
    # ``xclip -i`` returns before its forked server owns it).
    line = proc.stderr.readline()
    if b"Waiting" not in line:
        proc.kill()
        raise RuntimeError(f"xclip could not take the {selection} selection: {line!r}")
    return proc


def xclip_out(selection: str) -> str:
    result = subprocess.run(["xclip", "-selection", selection, "-o"], capture_output=True, timeout=5)
    return result.stdout.decode("utf-8", "replace")


OPENERS: dict[str, Callable[[], Any]] = {
    "chromium": chromium_window,
    "gtk": gtk_window,
    "qt": qt_window,
    "xterm": xterm_window,
}

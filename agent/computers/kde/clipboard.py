"""Pasting text on KDE through wl-clipboard (wlr data-control, offered by KWin), the old content restored."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Mapping

from agent.errors import ClipboardError, StoppedError

TEXT = "text/plain;charset=utf-8"
TOOL_TIMEOUT_S = 5.0
# KWin 5.27 sends a data-control client no selection event while the clipboard is
# empty, so wl-paste then waits forever: a read that gets no answer in this time is
# an empty clipboard (a real one answers in 10-40 ms on a loaded 2-core VM).
EMPTY_AFTER_S = 1.0
OWN_TIMEOUT_S = 3.0
# The application reads the paste asynchronously after the key, and GTK cancels that
# read (and pastes whatever comes next) when the selection changes under it, which
# happens when the serving wl-copy exits: measured on KWin with --paste-once, which
# is why the server lives on for this long after the key, then the old content returns.
QUIET_S = 0.3
MISSING = "typing text outside the keyboard layout on KDE needs wl-clipboard: apt-get install wl-clipboard"


class DataControlClipboard:
    """Serves ``text`` through ``wl-copy`` around the paste key, then puts the old content back.

    Unlike X11, a paste nobody took is not detected: a separate wl-copy process does
    not say whether it served anyone, and its one-paste mode (whose exit would say so)
    makes GTK drop the paste it is reading. Only the old content's preferred type is
    restored (text where there was text), not every type the old owner offered.
    """

    def __init__(self, environ: Mapping[str, str], cancel: threading.Event | None = None) -> None:
        self._env = dict(environ)
        self._cancel = cancel or threading.Event()

    def _tool(self, name: str) -> str:
        path = shutil.which(name, path=self._env.get("PATH"))
        if path is None:
            raise ClipboardError(MISSING)
        return path

    def types(self, wait_s: float = EMPTY_AFTER_S) -> list[str]:
        """The types the clipboard offers; [] when it is empty (no answer within ``wait_s``)."""
        try:
            listed = subprocess.run([self._tool("wl-paste"), "--list-types"], env=self._env,
                                    capture_output=True, timeout=wait_s)
        except subprocess.TimeoutExpired:
            return []
        if listed.returncode != 0:
            return []
        return [t for t in listed.stdout.decode(errors="replace").splitlines() if t.strip()]

    def read(self) -> tuple[str, bytes] | None:
        """The clipboard's preferred type and its bytes, or None when it is empty."""
        types = self.types()
        if not types:
            return None
        wanted = next((t for t in (TEXT, "text/plain", "UTF8_STRING") if t in types), types[0])
        content = subprocess.run([self._tool("wl-paste"), "--no-newline", "--type", wanted], env=self._env,
                                 capture_output=True, timeout=TOOL_TIMEOUT_S)
        return (wanted, content.stdout) if content.returncode == 0 else None

    def write(self, saved: tuple[str, bytes] | None) -> None:
        """Make ``saved`` the clipboard again (wl-copy stays behind to serve it), or clear it."""
        argv = [self._tool("wl-copy")] + (["--type", saved[0]] if saved else ["--clear"])
        # wl-copy forks a server that keeps the clipboard: it must not hold our pipes open.
        subprocess.run(argv, env=self._env, input=saved[1] if saved else None,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=TOOL_TIMEOUT_S)

    def paste(self, text: str, press_paste: Callable[[], None]) -> None:
        if self._cancel.is_set():
            raise StoppedError("stopped before pasting")
        saved = self.read()
        # Cleared first, so the text type showing up again can only be our offer.
        self.write(None)
        server = subprocess.Popen(
            [self._tool("wl-copy"), "--foreground", "--type", TEXT],
            env=self._env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            assert server.stdin is not None  # noqa: S101 - Popen with PIPE always has it
            server.stdin.write(text.encode("utf-8"))
            server.stdin.close()  # wl-copy takes the selection once its input has ended
            if not self._owns():
                raise ClipboardError("the clipboard did not take the text to paste")
            if self._cancel.is_set():
                raise StoppedError("stopped before pasting")
            press_paste()
            if server.poll() is not None:
                raise ClipboardError(f"wl-copy ended with {server.returncode} before the paste was read")
            self._cancel.wait(QUIET_S)  # a stop may cut it short: the restore follows either way
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
            self.write(saved)

    def _owns(self) -> bool:
        """Wait until the selection is ours: reading it would spend the one paste, so only the types are read.

        wl-copy sets the selection after reading its input, and data-control has no
        event a separate process could wait on, so the (cleared) type list is asked
        again until it names text: a look at an empty clipboard blocks until KWin has
        a selection to report, or for at most a short while.
        """
        deadline = time.monotonic() + OWN_TIMEOUT_S
        while time.monotonic() < deadline:
            if TEXT in self.types(wait_s=0.25):
                return True
        return False

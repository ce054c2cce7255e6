"""Paste text through the X clipboard, restoring what the user had there afterwards.

pyautogui drops non-ASCII text and keysym remapping (xdotool, pynput) races on runs
of CJK characters, so text outside ASCII goes through the clipboard. We own both
CLIPBOARD and PRIMARY while pasting (Qt/GTK apps read the first on shift+Insert,
terminals such as xterm the second) and each ``xclip -loops 1`` server exits after
one data request: its exit is the signal that the paste was taken, so restoring
never races the target application.

Only one format of the previous content is restored: text when it had text, else its
first MIME-typed format (an image, say). Exotic multi-format clipboards lose the rest.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from agent.errors import ClipboardError

log = logging.getLogger(__name__)

SELECTIONS = ("clipboard", "primary")
_TEXT_TARGETS = ("UTF8_STRING", "text/plain;charset=utf-8", "STRING", "TEXT")
_READ_TIMEOUT_S = 2.0


class Clipboard(Protocol):
    def paste(self, text: str, press_paste: Callable[[], None]) -> None:
        """Make ``text`` the clipboard, call ``press_paste``, then restore the old content."""
        ...


@dataclass(frozen=True)
class SavedSelection:
    target: str
    data: bytes


class XclipClipboard:
    """The real clipboard on X11, through the ``xclip`` program."""

    def __init__(self, paste_timeout_s: float = 3.0, cancel: threading.Event | None = None):
        self._xclip = shutil.which("xclip")
        self._paste_timeout_s = paste_timeout_s
        self._cancel = cancel or threading.Event()

    def paste(self, text: str, press_paste: Callable[[], None]) -> None:
        if self._xclip is None:
            raise ClipboardError("typing non-ASCII text needs the xclip program: sudo apt-get install xclip")
        saved = {sel: self.read(sel) for sel in SELECTIONS}
        servers = [self._serve_once(sel, text.encode("utf-8")) for sel in SELECTIONS]
        try:
            press_paste()
            taken = self._wait_for_any_exit(servers)
        finally:
            for proc in servers:
                if proc.poll() is None:
                    proc.terminate()
                proc.wait(timeout=_READ_TIMEOUT_S)
            for sel, old in saved.items():
                if old is not None:
                    self.write(sel, old)
        if not taken:
            raise ClipboardError(
                "no application took the pasted text within "
                f"{self._paste_timeout_s:g} s (is a text field focused?)"
            )

    def read(self, selection: str) -> SavedSelection | None:
        """The selection's best single format, or None when nothing owns it."""
        targets_raw = self._run_out(selection, "TARGETS")
        if targets_raw is None:
            return None
        targets = targets_raw.decode("utf-8", "replace").split()
        target = next((t for t in _TEXT_TARGETS if t in targets), None)
        if target is None:
            target = next((t for t in targets if "/" in t), None)
        if target is None:
            return None
        data = self._run_out(selection, target)
        return None if data is None else SavedSelection(target, data)

    def write(self, selection: str, saved: SavedSelection) -> None:
        """Hand ``saved`` to a background xclip that serves it until someone else copies."""
        assert self._xclip is not None
        # xclip forks a server and the parent exits; DEVNULL so we do not wait on the
        # child's inherited pipes.
        result = subprocess.run(
            [self._xclip, "-selection", selection, "-t", saved.target, "-i"],
            input=saved.data,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=_READ_TIMEOUT_S,
            check=False,
        )
        if result.returncode != 0:
            raise ClipboardError(f"could not restore the {selection} selection")

    def _run_out(self, selection: str, target: str) -> bytes | None:
        assert self._xclip is not None
        try:
            result = subprocess.run(
                [self._xclip, "-selection", selection, "-o", "-t", target],
                capture_output=True,
                timeout=_READ_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            log.warning("the %s selection owner did not answer; not saving it", selection)
            return None
        return result.stdout if result.returncode == 0 else None

    def _serve_once(self, selection: str, data: bytes) -> subprocess.Popen[bytes]:
        assert self._xclip is not None
        proc = subprocess.Popen(
            [self._xclip, "-selection", selection, "-loops", "1", "-quiet", "-i"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.write(data)
        proc.stdin.close()
        # In -quiet mode xclip reports that it waits for a request only after it owns
        # the selection; pasting before that line would paste the old content.
        line = proc.stderr.readline()
        if b"Waiting" not in line:
            proc.kill()
            raise ClipboardError(f"xclip could not take the {selection} selection: {line!r}")
        return proc

    def _wait_for_any_exit(self, procs: list[subprocess.Popen[bytes]]) -> bool:
        deadline = time.monotonic() + self._paste_timeout_s
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in procs):
                return True
            if self._cancel.wait(0.005):
                return False
        return False

"""Progress messages: one-off lines, updates that replace the previous update, and a terminal writer.

Backends report through a plain ``Callable[[str], None]`` so the tray (a status label)
and the terminal can both consume it. A long activity (a download) sends
``ProgressUpdate`` strings: still a ``str`` for consumers that only show text, but a
terminal overwrites the previous update in place instead of printing a new line for
each, so a 17 GB download is one line that changes rather than hundreds.
"""

from __future__ import annotations

import threading
from typing import TextIO


class ProgressUpdate(str):
    """A message that supersedes the previous ``ProgressUpdate`` (same activity, newer state)."""

    __slots__ = ()


class LineProgress:
    """Writes progress messages to a text stream; updates overwrite each other on a terminal.

    On a stream that is not a terminal (a log file, a pipe in tests) ``\\r`` would
    garble the file, so updates become ordinary lines there, at most one per
    ``every`` updates to keep logs short; the last one before a normal
    message is always written, so the final state of the activity is on record.
    """

    def __init__(self, stream: TextIO, *, tty: bool | None = None, every: int = 10) -> None:
        self._stream = stream
        self._tty = stream.isatty() if tty is None else tty
        self._every = max(1, every)
        self._lock = threading.Lock()
        self._open = False  # an update line is on screen without its newline
        self._skipped: str | None = None
        self._count = 0

    def __call__(self, message: str) -> None:
        with self._lock:
            if isinstance(message, ProgressUpdate):
                self._update(str(message))
            else:
                self._finish_updates()
                self._stream.write(message + "\n")
            self._stream.flush()

    def _update(self, text: str) -> None:
        if self._tty:
            # \x1b[K clears what a longer previous update left on the line.
            self._stream.write("\r" + text + "\x1b[K")
            self._open = True
            return
        self._count += 1
        if self._count % self._every == 1 or self._every == 1:
            self._stream.write(text + "\n")
            self._skipped = None
        else:
            self._skipped = text

    def _finish_updates(self) -> None:
        if self._open:
            self._stream.write("\n")
            self._open = False
        if self._skipped is not None:
            self._stream.write(self._skipped + "\n")
            self._skipped = None
        self._count = 0

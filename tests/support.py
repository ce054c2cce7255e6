"""Helpers many test modules share: tool-call text, model points, line pumps, the CLI as a subprocess."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent


def call(args: str) -> str:
    """A Qwen3-VL tool call with ``args`` (the arguments object as JSON text)."""
    return f'<tool_call>\n{{"name": "computer_use", "arguments": {args}}}\n</tool_call>'


DONE = call('{"action": "terminate", "status": "success"}')


@cache
def display_size() -> tuple[int, int]:
    """The size of the display under test, read from the X server: never assume the
    1920x1080 scripts/test.sh starts (DESKPILOT_TEST_DISPLAY may name another)."""
    import Xlib.display

    conn = Xlib.display.Display()
    try:
        screen = conn.screen()
        return (screen.width_in_pixels, screen.height_in_pixels)
    finally:
        conn.close()


def model_point(x: int, y: int, width: int | None = None, height: int | None = None) -> str:
    """The rel1000 coordinate of screen pixel (x, y) on a ``width`` x ``height`` monitor at +0+0
    (by default the display under test, one monitor)."""
    if width is None or height is None:
        width, height = display_size()
    return f"[{(x + 0.5) * 1000 / width:.2f}, {(y + 0.5) * 1000 / height:.2f}]"


def write_script(path: Path, replies: Iterable[str]) -> Path:
    """A JSON Lines file of scripted replies for ``--backend script``."""
    path.write_text("".join(json.dumps({"reply": r}) + "\n" for r in replies), encoding="utf-8")
    return path


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes; for state no event reports."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while time.monotonic() < deadline:
        if predicate():
            return True
        pause.wait(0.02)
    return predicate()


class LinePump:
    """Reads a process stream on a thread; ``wait_for`` returns the first matching line.

    ``json_lines`` decodes each line as a JSON object (the probe windows speak that).
    """

    def __init__(self, stream: IO[str], *, json_lines: bool = False) -> None:
        self.items: queue.Queue[Any] = queue.Queue()
        self.seen: list[Any] = []
        self._json = json_lines
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.items.put(json.loads(line) if self._json else line)

    def wait_for(self, matches: Callable[[Any], bool], timeout: float = 10.0, what: str = "line") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            try:
                item = self.items.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {what} in {timeout} s; saw: {self.seen[-20:]}") from None
            self.seen.append(item)
            if matches(item):
                return item

    def drain(self) -> list[Any]:
        while not self.items.empty():
            self.seen.append(self.items.get())
        return self.seen


def deskpilot(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m agent ARGS``; ``env`` replaces the environment (else: ours, without a settings file)."""
    full_env = env if env is not None else {**os.environ, "DESKPILOT_CONFIG": str(ROOT / ".no-such-config.toml")}
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        input=stdin, capture_output=True, text=True, env=full_env, timeout=timeout, cwd=ROOT,
    )

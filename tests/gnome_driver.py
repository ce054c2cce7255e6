"""Runs inside a headless mutter session (tests/wayland.py): drives the probe window through GnomePlatform.

Prints one JSON object: what the probe window logged, pixels of captured frames and
timings, for tests/test_gnome_platform.py to assert on. A separate process because
the platform must run in the session's namespaces and on its D-Bus.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from agent.actions import Key, LeftClick, ScreenAction, Type
from agent.computers.gnome import GnomePlatform
from agent.errors import ClipboardError

PROBE = Path(__file__).resolve().parent / "apps" / "gnome_probe.py"
TEXT = "打开 deskpilot é€"


def main() -> None:
    app = subprocess.Popen(
        ["/usr/bin/python3", str(PROBE)],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ, GDK_BACKEND="wayland"),
    )
    assert app.stdout is not None  # noqa: S101 - a pipe was asked for
    try:
        out = drive(app, json.loads(app.stdout.readline()))
    finally:
        app.kill()  # it holds our stderr: left running, it would keep the test waiting
    sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")


def drive(app: subprocess.Popen[str], ready: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"ready": ready}
    platform = GnomePlatform()
    computer = platform.computer()
    bx, by, bw, bh = ready["button"]
    rx, ry, rw, rh = ready["red"]
    strip = (rx + rw // 2, ry + rh // 2)

    def timed(what: str, call: Any) -> Any:
        started = time.monotonic()
        result = call()
        out.setdefault("ms", {}).setdefault(what, []).append(round((time.monotonic() - started) * 1000, 1))
        return result

    out["monitors"] = [[m.left, m.top, m.width, m.height] for m in computer.monitors()]
    computer.perform(ScreenAction(action=Key(keys=["f5"])))  # the user's copy, restored after each paste
    out["strip_before"] = timed("capture_fresh", computer.capture).image.getpixel(strip)
    timed("capture_open", computer.capture)
    # Input right after a capture (the stream open), then a capture right after the
    # click: the frame must show the click's effect (the strip turned blue).
    timed("click", lambda: computer.perform(ScreenAction(action=LeftClick(), x=bx + bw // 2, y=by + bh // 2)))
    out["strip_after_click"] = timed("capture_after_input", computer.capture).image.getpixel(strip)
    timed("click", lambda: computer.perform(ScreenAction(action=LeftClick(), x=bx + bw // 3, y=by + bh // 2)))
    out["strip_after_second_click"] = computer.capture().image.getpixel(strip)
    # Each capture right after a click (no settling in between) must already show that
    # click's flip, never the frame from before it: the stream reconnects after each input.
    reader = platform._reader  # noqa: SLF001 - the test looks at the stream it drives
    assert reader is not None  # noqa: S101 - set by platform.computer()
    flips = []
    for i in range(6):
        computer.perform(ScreenAction(action=LeftClick(), x=bx + bw // 4 + i * 7, y=by + bh // 2))
        flips.append({"closed_for_input": not reader.is_open,
                      "strip": list(computer.capture().image.getpixel(strip))})
        newest = reader.newest
        flips[-1]["recorded_before_arrival"] = (
            newest is not None and newest.recorded_at is not None and newest.recorded_at <= newest.arrived_at
        )
    out["flips"] = flips
    # The button has the focus now: a paste there is taken by nobody.
    try:
        timed("paste_untaken", lambda: computer.perform(ScreenAction(action=Type(text="€"))))
        out["untaken"] = "no error"
    except ClipboardError as err:
        out["untaken"] = str(err)
    ex, ey, ew, eh = ready["entry"]
    computer.perform(ScreenAction(action=LeftClick(), x=ex + ew // 2, y=ey + eh // 2))
    timed("type_ascii", lambda: computer.perform(ScreenAction(action=Type(text="ab "))))
    timed("type_unicode", lambda: computer.perform(ScreenAction(action=Type(text=TEXT))))
    computer.perform(ScreenAction(action=Key(keys=["ctrl", "a"])))
    computer.perform(ScreenAction(action=Key(keys=["backspace"])))
    twenty = "é€日本語ü打开ñ✓ßø語ü打开é€日本"
    timed("type_unicode_20", lambda: computer.perform(ScreenAction(action=Type(text=twenty))))
    out["twenty"] = twenty
    # The user's clipboard is back after the pastes: a plain Ctrl+V pastes it.
    for keys in (["ctrl", "a"], ["backspace"], ["ctrl", "v"]):
        computer.perform(ScreenAction(action=Key(keys=keys)))
    threading.Event().wait(0.3)  # the last events reach the probe's log
    platform.close()
    app.terminate()
    rest, _ = app.communicate(timeout=10)
    out["events"] = [json.loads(line) for line in rest.splitlines() if line.startswith("{")]
    return out


if __name__ == "__main__":
    main()

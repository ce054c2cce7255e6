"""Runs inside headless gnome-shell with the portals: drives the probe window through the portal backend.

``python tests/portal_driver.py READY_JSON`` with ``DESKPILOT_GNOME_BACKEND=portal``:
the platform from the selection point, its computer (the consent dialog shows while it
opens: tests/portal_consent.py answers it), a click on the probe's button, a frame, a
click on the entry, ASCII typed, then a text outside the layout (refused). Prints one
JSON line: what it saw (the description, the strip's pixel, the refusal, timings).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from agent.actions import LeftClick, ScreenAction, Type
from agent.computers.selection import select_platform
from agent.errors import ActionError


def main(ready: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"ms": {}}

    def timed(what: str, call: Any) -> Any:
        started = time.monotonic()
        result = call()
        out["ms"].setdefault(what, []).append(round((time.monotonic() - started) * 1000, 1))
        return result

    platform = select_platform()
    out["describe"] = platform.describe()
    out["clipboard_missing"] = [words for words in platform.capabilities.cannot() if "clipboard" in words]
    computer = timed("session_start", platform.computer)  # the dialog is answered meanwhile
    closed = Path(os.environ["PORTAL_CONSENT_CLOSED"])  # the harness's own Mutter session has ended
    deadline = time.monotonic() + 60
    while not closed.exists() and time.monotonic() < deadline:
        time.sleep(0.02)  # a file another process writes; nothing to block on
    out["consent_closed"] = closed.exists()
    out["monitors"] = [[m.left, m.top, m.width, m.height] for m in computer.monitors()]
    bx, by, bw, bh = ready["button"]
    rx, ry, rw, rh = ready["red"]
    strip = (rx + rw // 2, ry + rh // 2)
    out["strip_before"] = timed("frame", computer.capture).image.getpixel(strip)
    out["clicked_at"] = time.monotonic()
    timed("click", lambda: computer.perform(ScreenAction(action=LeftClick(), x=bx + bw // 2, y=by + bh // 2)))
    out["strip_after_click"] = timed("frame", computer.capture).image.getpixel(strip)
    ex, ey, ew, eh = ready["entry"]
    computer.perform(ScreenAction(action=LeftClick(), x=ex + ew // 2, y=ey + eh // 2))
    timed("type_ascii", lambda: computer.perform(ScreenAction(action=Type(text="Portal ok!"))))
    out["refused_at"] = time.monotonic()
    try:
        computer.perform(ScreenAction(action=Type(text="ab\né€ cd")))  # "ab" would be typed first
        out["refused"] = None
    except ActionError as err:
        out["refused"] = str(err)
    platform.close()  # type: ignore[attr-defined] # GnomePlatform's: ends the portal session
    return out


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(json.loads(sys.argv[1])), ensure_ascii=False) + "\n")

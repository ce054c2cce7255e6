"""Recorded with real XTEST input: a button that relabels itself on the press is anchored as it was before it.

A Chromium page (its button says "Press me" and becomes "Clicked" on mousedown; an
empty Email field sits beside a Cancel button) and a GTK3 button that does the same
are recorded by ``deskpilot macro record`` while xdotool plays the user. The anchor
must show the button before the press, the field's text must be its own; the macro
then replays on a fresh page moved by (137, 91), at 125 % and dark, judged by the
page's own log (its title), and clicks nothing where the button is gone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.macros.schema import Macro, load_macro
from tests.a11y_session import APPS, CHROMIUM_FLAGS, AccessibilitySession, App, wait_for, window_id
from tests.conftest import require_program, xdotool
from tests.support import ROOT, LinePump

pytestmark = pytest.mark.process

PAGE = APPS / "relabel_page.html"
# The user aims before pressing: the pointer rests on the target this long (a person's
# hover, not a wait for the program; the recording had a one-second hover).
HOVER_S = 1.0

_CENTRES = """
import json
from agent.api import open_accessible_tree
tree = open_accessible_tree()
[button] = tree.find(("push button",), "Press me")
[field] = tree.find(("entry",), "Email")
print(json.dumps({"button": button.center, "field": field.center, "field_box": [field.box.left, field.box.top, field.box.width, field.box.height]}))
"""


def chromium_page(session: AccessibilitySession, folder: Path, query: str = "") -> App:
    """A fresh Chromium showing the page (``query``: dx, dy, zoom, dark, gone), alone on the screen."""
    for old in list(session.apps):
        old.stop()
        session.apps.remove(old)
    wait_for(lambda: window_id(".* - Chromium") is None, 20, "the previous page did not close")
    app = App(
        [require_program("chromium"), *CHROMIUM_FLAGS, f"--user-data-dir={folder}", "--window-position=0,0",
         "--window-size=1280,900", PAGE.as_uri() + (f"?{query}" if query else "")],
        session.env,
    )
    session.apps.append(app)
    wait_for(lambda: window_id("ready - Chromium") is not None, 60, "Chromium did not show the page")
    xdotool("windowfocus", "--sync", window_id("ready - Chromium") or "")
    return app


def page_title() -> str:
    wid = window_id(".* - Chromium")
    assert wid is not None
    return xdotool("getwindowname", wid).strip().removesuffix(" - Chromium")


def page_log() -> list[str]:
    title = page_title()
    return title.removeprefix("log:").split(",") if title.startswith("log:") else []


def log_after_sync() -> list[str]:
    """The page's log once every click sent so far has reached it: X delivers input in order,
    so a click on the page's corner, logged, comes after all of them."""
    before = len(page_log())
    xdotool("mousemove", "40", "860", "click", "1")
    wait_for(lambda: len(page_log()) > before and page_log()[-1] == "bg", 10, "the sync click")
    return page_log()[:-1]


def deskpilot_env(session: AccessibilitySession, tmp: Path) -> dict[str, str]:
    return dict(session.env, DESKPILOT_CONFIG=str(tmp / "no-config.toml"), PYTHONUNBUFFERED="1")


def record(session: AccessibilitySession, tmp: Path, path: Path, points: list[tuple[int, int]],
           clicked: list[object]) -> Macro:
    """``deskpilot macro record`` while xdotool moves to each point, rests, and clicks; ``clicked``
    holds a callable per point that says the application saw that click."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "macro", "record", str(path)],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=deskpilot_env(session, tmp), cwd=ROOT,
    )
    assert proc.stderr is not None
    lines = LinePump(proc.stderr)
    lines.wait_for(lambda line: "recording" in line, 60, "the recording line")
    for (x, y), seen in zip(points, clicked, strict=True):
        xdotool("mousemove", str(x), str(y))
        time.sleep(HOVER_S)  # the user's aim (see HOVER_S)
        xdotool("click", "1")
        wait_for(seen, 10, "the application did not see the click")
    xdotool("key", "ctrl+alt+k")
    assert proc.wait(timeout=120) == 0, "".join(lines.drain())
    return load_macro(path)


def play(
    session: AccessibilitySession, tmp: Path, macro: Path, *, tree: bool = True
) -> subprocess.CompletedProcess[str]:
    """``deskpilot macro play``; without ``tree`` it cannot reach the accessibility bus, so only
    the recorded pictures and text can find the targets."""
    env = deskpilot_env(session, tmp)
    if not tree:
        env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={tmp / 'no-bus'}"
    return subprocess.run(
        [sys.executable, "-m", "agent", "macro", "play", str(macro), "--confirm", "never", "--speed", "max",
         "--history-dir", str(tmp / "history"), "--report", str(tmp / "report.html")],
        env=env, capture_output=True, text=True, timeout=180, cwd=ROOT,
    )


def tiers(tmp: Path) -> list[str]:
    text = (tmp / "report.html").read_text(encoding="utf-8")
    return [chunk.split("<", 1)[0] for chunk in text.split('<td class="tier">')[1:]]


def _centres(session: AccessibilitySession) -> dict[str, list[int]]:
    done = subprocess.run([sys.executable, "-c", _CENTRES], env=session.env, capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_a_chromium_button_that_relabels_on_press_is_recorded_before_and_replays_moved_scaled_dark(
    session: AccessibilitySession, tmp_path: Path
) -> None:
    chromium_page(session, tmp_path / "profile-1")
    at = _centres(session)
    button = (at["button"][0], at["button"][1])
    fleft, ftop, fwidth, fheight = at["field_box"]
    field = (fleft + fwidth - 12, ftop + fheight // 2)  # the empty end of the field, nearest Cancel
    macro = tmp_path / "relabel.json"
    recorded = record(session, tmp_path, macro, [button, field], [
        lambda: "press" in page_log(), lambda: "email" in page_log(),
    ])
    assert page_title() == "log:press,email"  # the page really relabelled and logged both
    assert [s.action["action"] for s in recorded.steps] == ["left_click", "left_click"]
    press, email = (step.anchor for step in recorded.steps)
    assert press is not None and email is not None
    # The before state, by OCR on the anchor's own frame and by the tree asked before the press.
    assert press.text == "Press me", press.text
    assert press.element is not None and press.element.name == "Press me"
    # The empty field keeps its own words (placeholder or label), never its neighbour's.
    assert email.text in ("you@example.org", "Email"), email.text
    assert email.element is not None and (email.element.role, email.element.name) == ("entry", "Email")

    # A fresh page moved by (137, 91), at 125 % and dark: both steps reach their targets.
    chromium_page(session, tmp_path / "profile-2", "dx=137&dy=91&zoom=1.25&dark=1")
    played = play(session, tmp_path, macro)
    assert played.returncode == 0, played.stderr
    assert log_after_sync() == ["press", "email"], played.stderr
    assert tiers(tmp_path) == ["element", "element"]
    # Without the tree, by the recorded pictures and text alone.
    chromium_page(session, tmp_path / "profile-2b", "dx=137&dy=91&zoom=1.25&dark=1")
    played = play(session, tmp_path, macro, tree=False)
    assert played.returncode == 0, played.stderr
    assert log_after_sync() == ["press", "email"], played.stderr
    # (c-ocr on this machine: the button's "Press me", the field's own label "Email" with the
    # click put back at its recorded place beside it; a picture tier would do as well.)
    found_by = tiers(tmp_path)
    assert len(found_by) == 2 and "element" not in found_by and "not found" not in found_by, found_by

    # The button gone: the replay stops at step 1 with exit 1 and clicks nothing.
    chromium_page(session, tmp_path / "profile-3", "dx=137&dy=91&zoom=1.25&dark=1&gone=1")
    gone = play(session, tmp_path, macro)
    assert gone.returncode == 1, gone.stderr
    assert "nothing clicked" in gone.stderr
    assert log_after_sync() == [], gone.stderr


def test_a_gtk_button_that_relabels_on_press_is_recorded_before_and_replays_moved_and_dark(
    session: AccessibilitySession, tmp_path: Path
) -> None:
    def gtk(x: int, y: int, theme: str = "Adwaita") -> tuple[App, tuple[int, int]]:
        for old in list(session.apps):
            old.stop()
            session.apps.remove(old)
        app = App(["/usr/bin/python3", str(APPS / "gtk_relabel.py"), str(x), str(y)],
                  dict(session.env, GTK_THEME=theme))
        session.apps.append(app)
        _, cx, cy = app.expect("ready", 20).split()
        return app, (int(cx), int(cy))

    app, button = gtk(300, 200)
    clicks: list[str] = []
    macro = tmp_path / "gtk.json"
    recorded = record(session, tmp_path, macro, [button], [lambda: bool(clicks.extend(app.said(0.05)) or clicks)])
    assert clicks == ["CLICK"]
    (step,) = recorded.steps
    assert step.anchor is not None and step.anchor.text == "Press me", step.anchor and step.anchor.text

    moved, _ = gtk(300 + 137, 200 + 91, "Adwaita:dark")
    played = play(session, tmp_path, macro)
    assert played.returncode == 0, played.stderr
    assert moved.expect("CLICK", 10) == "CLICK"

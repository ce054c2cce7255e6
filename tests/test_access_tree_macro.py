"""A macro recorded on a Chromium field replays by its element after a restyle that defeats the pictures.

The recorder's own path (capture, element under the press, anchor) records the click;
F9 restyles the page (colours, sizes, position); the picture tiers alone then miss it,
and ``deskpilot macro play`` finds it by the element. The page's title says what was
clicked.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.macros.schema import load_macro
from agent.records.history import load_run
from tests.a11y_session import APPS, AccessibilitySession, App, focus, wait_for, window_id
from tests.conftest import xdotool

pytestmark = pytest.mark.process

_RECORD = """
import sys, threading, time
from pathlib import Path
from agent.api import open_accessible_tree
from agent.computers.selection import select_platform
from agent.macros.recorder import Recorder
from agent.macros.schema import save_macro
from agent.macros.steps import RawEvent
platform = select_platform()
tree = open_accessible_tree(platform)
[field] = tree.find(("entry",), "Email")
x, y = field.center[0] - 30, field.center[1] + 2  # a place in the field, not its middle
recorder = Recorder(platform, 1, ("ctrl", "alt", "k"), threading.Event(), tree=tree)
t = time.monotonic()
recorder._take(RawEvent(t, "button_down", x, y, button="left"))
recorder._take(RawEvent(t + 0.05, "button_up", x, y, button="left"))
macro = recorder.finish("field")
recorder.close()
save_macro(macro, Path(sys.argv[1]))
"""

_PICTURES = """
import sys
from pathlib import Path
from agent.computers.selection import select_platform
from agent.macros.healing import Healer
from agent.macros.schema import load_macro
from agent.records.history import load_run
macro = load_macro(Path(sys.argv[1]))
frame = select_platform().screen(1).capture()
print(type(Healer().locate(frame, macro.steps[0].anchor, macro.monitor)).__name__)
"""


@pytest.fixture(scope="module")
def page(session: AccessibilitySession, tmp_path_factory: pytest.TempPathFactory) -> App:
    return session.chromium(tmp_path_factory.mktemp("chromium"), APPS / "restyle_page.html")


def _title() -> str:
    wid = window_id(".* - Chromium")
    assert wid is not None
    return xdotool("getwindowname", wid).strip()


def _python(session: AccessibilitySession, code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=session.env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_field_replays_by_its_element_after_a_restyle(
    session: AccessibilitySession, page: App, tmp_path: Path
) -> None:
    focus("ready - Chromium")
    path = tmp_path / "field.json"
    _python(session, _RECORD, str(path))
    anchor = load_macro(path).steps[0].anchor
    assert anchor is not None and anchor.element is not None
    assert (anchor.element.role, anchor.element.name) == ("entry", "Email")

    xdotool("key", "F9")
    wait_for(lambda: _title() == "restyled - Chromium", 10, "the page was not restyled")
    assert _python(session, _PICTURES, str(path)) == "Miss"  # the pictures alone no longer find it

    report = tmp_path / "report.html"
    played = subprocess.run(
        [sys.executable, "-m", "agent", "macro", "play", str(path), "--confirm", "never", "--speed", "max",
         "--history-dir", str(tmp_path / "history"), "--report", str(report)],
        env=session.env, capture_output=True, text=True, timeout=120,
    )
    assert played.returncode == 0, played.stderr
    wait_for(lambda: _title().startswith("clicked:"), 10, "the page saw no click")
    assert _title().startswith("clicked:email:1")
    assert ">element<" in report.read_text()  # the report names the tier that found the step
    _info, steps = load_run(tmp_path / "history", "latest")
    assert (steps[0].anchor_tier, steps[0].settled_by) == ("element", "tree")
    assert steps[0].actions[0].effect.startswith("event ")  # the click's effect, heard from the page
    assert "confirmed: " in report.read_text()


_EVENTS = """
import subprocess, sys, threading
from agent.api import open_accessible_tree
tree = open_accessible_tree()
stop = threading.Event()
assert tree.wait_quiet(0.15, 3.0, stop) is True  # starts listening; nothing happens meanwhile
before = tree._events.count
[field] = tree.find(("entry",), "Name")
subprocess.run(["xdotool", "mousemove", str(field.center[0]), str(field.center[1]), "click", "1"], check=True)
quiet = tree.wait_quiet(0.15, 3.0, stop)
print(quiet, tree._events.count - before)
"""


def test_settling_hears_the_events_a_click_causes(
    session: AccessibilitySession, page: App, tmp_path: Path
) -> None:
    focus(".* - Chromium")
    quiet, heard = _python(session, _EVENTS).split()
    assert quiet == "True" and int(heard) > 0  # focus and title events, then a quiet gap

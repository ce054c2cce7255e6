"""`deskpilot click NAME` confirms what a tree-found click or press did, on a real GTK3 window.

tests/apps/atspi_effects.py: "Count" relabels a status line (GTK sends text and name
events), "Inert" has no handler, "Locked" is insensitive. No button takes the focus on
a click, so only a handler's work can confirm one. The app prints what its handlers saw.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agent.records.history import load_run
from tests.a11y_session import APPS, AccessibilitySession, App, focus
from tests.conftest import xdotool

pytestmark = pytest.mark.process

TITLE = "Deskpilot effects"
PARK = (1900, 1060)  # a corner no test window covers


@pytest.fixture(scope="module")
def app(session: AccessibilitySession) -> App:
    started = App(["/usr/bin/python3", str(APPS / "atspi_effects.py"), TITLE, "100", "80"], session.env)
    session.apps.append(started)
    started.expect("ready")
    return started


def click(session: AccessibilitySession, history: Path, *args: str) -> subprocess.CompletedProcess[str]:
    focus(TITLE)
    xdotool("mousemove", *map(str, PARK))
    return session.deskpilot("click", *args, "--confirm", "never", history=history)


def effect(history: Path) -> str:
    _info, steps = load_run(history, "latest")
    return steps[0].actions[0].effect


def test_a_click_whose_handler_relabels_is_confirmed_by_its_event(
    session: AccessibilitySession, app: App, tmp_path: Path
) -> None:
    app.said(0.1)
    result = click(session, tmp_path, "Count")
    assert result.returncode == 0, result.stderr
    assert "(found by the accessibility tree; confirmed: text changed)" in result.stderr
    assert app.expect("CLICK", timeout=5) == "CLICK Count"
    assert effect(tmp_path).startswith("event object:text-changed")


def test_a_press_whose_handler_relabels_is_confirmed_by_its_event(
    session: AccessibilitySession, app: App, tmp_path: Path
) -> None:
    app.said(0.1)
    result = click(session, tmp_path, "Count", "--no-pointer")
    assert result.returncode == 0, result.stderr
    assert "confirmed: text changed" in result.stderr
    assert app.expect("CLICK", timeout=5) == "CLICK Count"


def test_a_press_on_an_insensitive_button_is_unconfirmed_and_fails(
    session: AccessibilitySession, app: App, tmp_path: Path
) -> None:
    app.said(0.1)
    result = click(session, tmp_path, "Locked", "--no-pointer")
    # AT-SPI's do_action said True here; nothing happened, and the run says so.
    assert result.returncode == 1, result.stderr
    assert "pressed the push button Locked" in result.stderr
    assert "but saw no effect within 1 s (found by the accessibility tree; not retried: the tree says it is disabled)" in (
        result.stderr
    )
    assert effect(tmp_path) == "none"
    assert app.said(0.5) == []


def test_a_press_on_a_button_without_a_handler_is_unconfirmed_and_fails(
    session: AccessibilitySession, app: App, tmp_path: Path
) -> None:
    result = click(session, tmp_path, "Inert", "--no-pointer")
    assert result.returncode == 1, result.stderr
    assert "but saw no effect within 1 s (found by the accessibility tree; not retried: it may have acted)" in (
        result.stderr
    )
    assert effect(tmp_path) == "none"


def test_a_pointer_click_without_effect_succeeds_on_an_enabled_button_and_fails_on_a_disabled_one(
    session: AccessibilitySession, app: App, tmp_path: Path
) -> None:
    inert = click(session, tmp_path / "inert", "Inert")
    assert inert.returncode == 0, inert.stderr
    assert "but saw no effect within 1 s (found by the accessibility tree; not retried: the click reached its box)" in (
        inert.stderr
    )
    locked = click(session, tmp_path / "locked", "Locked")
    assert locked.returncode == 1, locked.stderr
    assert "not retried: the tree says it is disabled" in locked.stderr
    assert effect(tmp_path / "locked") == "none"
    assert app.said(0.5) == []


_LOOKUPS = """
import json
from dataclasses import replace
from agent.api import open_accessible_tree
from agent.errors import DisplayError

tree = open_accessible_tree()
[count] = tree.find(("push button",), "Count")
[inert] = tree.find(("push button",), "Inert")
finds = []
real_find = tree.find
def counted(*args, **kwargs):
    finds.append(args)
    return real_find(*args, **kwargs)
tree.find = counted
seen = {}
def lookups(what, *calls):
    before = len(finds)
    for call in calls:
        call()
    seen[what] = len(finds) - before
lookups("watch", lambda: tree.watch(count))
lookups("press after its watch", lambda: tree.do_action(count))
lookups("press without a watch", lambda: tree.do_action(count))
tree.watch(inert)
lookups("press after another element's watch", lambda: tree.do_action(count))
try:
    tree.watch(replace(count, name="Gone"))
except DisplayError as err:
    seen["gone"] = str(err)
print(json.dumps(seen))
"""


def test_a_watched_press_looks_the_element_up_once_and_a_gone_one_is_not_acted_on(
    session: AccessibilitySession, app: App
) -> None:
    import json
    import sys

    focus(TITLE)
    app.said(0.1)
    done = subprocess.run([sys.executable, "-c", _LOOKUPS], env=session.env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "watch": 1,
        "press after its watch": 0,  # the watch's live element is pressed: one lookup in all
        "press without a watch": 1,  # taken once: a later press looks the element up again
        "press after another element's watch": 1,
        "gone": "the push button 'Gone' is gone from the window",
    }
    assert [app.expect("CLICK", timeout=5) for _ in range(3)] == ["CLICK Count"] * 3
    assert app.said(0.5) == []  # and nothing for the element that was gone

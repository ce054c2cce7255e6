"""The tray's confirmation overlay on headless sway, mutter and KWin: on top, answered by keys, the answer obeyed.

tests/overlay_driver.py runs inside the session (tests/wayland.py): a probe window has
the keyboard, the tray app's small window runs a scripted click on the probe's button
with every action confirmed; the frame captured through the platform (screencopy,
Mutter's ScreenCast, or KWin's ScreenShot2) while it asks must show the overlay's
marker over the button, and the key pressed through the platform (virtual keyboard,
RemoteDesktop, or fake-input) must decide: Enter clicks the button, Esc leaves it
alone. Stop ends a waiting run: on sway also clicked through the virtual pointer.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.wayland import USER, WaylandUnavailable, headless_kwin, headless_mutter, headless_sway

pytestmark = pytest.mark.process

ANSWERS = ("enter", "escape", "stop")
# Where the session's Stop is also clicked through the desktop's pointer: only sway's IPC
# says where the command window is (a Wayland client cannot know its own position).
CLICKED_STOP = {"sway": ("stop-click",)}
SESSIONS = {"sway": headless_sway, "mutter": headless_mutter, "kwin": headless_kwin}
PROBES = {"sway": "wlroots", "mutter": "gnome", "kwin": "kde"}
DESKTOPS = {"mutter": "GNOME", "kwin": "KDE"}


def drive(which: str) -> dict[str, Any]:
    extra = {"DESKPILOT_NO_KILL_CHORD": "1"}  # the chord is another test's subject; GNOME has none yet
    if which in DESKTOPS:
        extra["XDG_CURRENT_DESKTOP"] = DESKTOPS[which]
    answers = (*ANSWERS, *CLICKED_STOP.get(which, ()))
    try:
        with SESSIONS[which]() as session:
            # KWin offers fake-input to its own user only; Mutter's session runs as root.
            result = session.run([sys.executable, "-m", "tests.overlay_driver", "--probe", PROBES[which], *answers],
                                 session.environ(extra), user=None if which == "mutter" else USER, timeout=500)
    except WaylandUnavailable as err:
        # As in tests/test_kde_platform.py: CI fails a KWin that is installed and does not start.
        if os.environ.get("CI") == "true" and (which != "kwin" or shutil.which("kwin_wayland")):
            pytest.fail(f"no headless {which}: {err}")
        pytest.skip(f"no headless {which}: {err}")
    assert result.returncode == 0, result.stderr[-3000:]
    results: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])["results"]
    return results


@pytest.fixture(scope="module", params=["sway", "mutter", "kwin"])
def driven(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    yield drive(request.param)


def asked_the_script(run: dict[str, Any]) -> None:
    """Every step came from the scripted model: none replayed an earlier scenario's run (agent/replays)."""
    assert run["finished"]["event"] == "finished", run
    assert all("asked the model" in step and "replayed" not in step for step in run["finished"]["steps"]), run


def clicks_on(run: dict[str, Any]) -> list[dict[str, Any]]:
    x, y = run["button"]
    return [e for e in run["presses"] if e["event"] == "press" and abs(e["x"] - x) <= 2 and abs(e["y"] - y) <= 2]


def test_the_tray_starts_in_its_window(driven: dict[str, Any]) -> None:
    for run in driven.values():
        assert run["window"] == {"event": "window", "visible": True, "platform": "wayland"}, run["stderr"]


def test_the_overlay_is_fullscreen_on_top_of_the_focused_window(driven: dict[str, Any]) -> None:
    for answer in ("enter", "escape"):
        run = driven[answer]
        # The ring around the button, in the platform's own capture: over the probe, not under it.
        assert run["marker"] > 100, f"{run['marker']} marker pixels around {run['button']}: {run.get('overlay')}"
        assert run.get("overlay", {}).get("fullscreen") is True, run
        assert run["overlay"]["geometry"] == [0, 0, 1920, 1080]
        assert run["presses_before"] == []


def test_enter_through_the_desktop_approves_and_the_click_lands(driven: dict[str, Any]) -> None:
    run = driven["enter"]
    asked_the_script(run)
    assert run["finished"]["outcome"] == "success", run
    assert "approved, performed" in run["finished"]["steps"][0]
    assert len(clicks_on(run)) == 1, run["presses"]


def test_escape_through_the_desktop_rejects_and_nothing_is_clicked(driven: dict[str, Any]) -> None:
    run = driven["escape"]
    asked_the_script(run)
    assert run["finished"]["outcome"] == "success", run
    assert "rejected, not performed" in run["finished"]["steps"][0]
    assert run["presses"] == []


def test_stop_ends_a_waiting_run_with_nothing_after(driven: dict[str, Any]) -> None:
    run = driven["stop"]
    asked_the_script(run)
    assert run["finished"]["outcome"] == "stopped", run
    assert run["presses"] == []


# Sway only: its IPC says where the tray's window is; on Mutter and KWin a Wayland client
# cannot learn its own window's position, so there is no point to click (not a skip: not asked).
@pytest.mark.parametrize("driven", sorted(CLICKED_STOP), indirect=True)
def test_stop_clicked_through_the_desktops_pointer_ends_a_waiting_run_with_nothing_after(
    driven: dict[str, Any],
) -> None:
    run = driven["stop-click"]
    asked_the_script(run)
    assert run["waiting"]["enabled"] is True, run  # the app left the button to the pointer
    assert run["finished"]["outcome"] == "stopped", run
    assert run["presses"] == []  # neither the scripted click nor the Stop click reached the probe

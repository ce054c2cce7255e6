"""The tray's confirmation overlay on headless sway and mutter: on top, answered by keys, the answer obeyed.

tests/overlay_driver.py runs inside the session (tests/wayland.py): a probe window has
the keyboard, the tray app's small window runs a scripted click on the probe's button
with every action confirmed; the frame captured through the platform (screencopy, or
Mutter's ScreenCast) while it asks must show the overlay's marker over the button,
and the key pressed through the platform (virtual keyboard, or RemoteDesktop) must
decide: Enter clicks the button, Esc leaves it alone. Stop ends a waiting run.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.wayland import USER, WaylandUnavailable, headless_mutter, headless_sway

pytestmark = pytest.mark.process

ANSWERS = ("enter", "escape", "stop")


def drive(which: str) -> dict[str, Any]:
    session_of = headless_sway if which == "sway" else headless_mutter
    extra = {"DESKPILOT_NO_KILL_CHORD": "1"}  # the chord is another test's subject; GNOME has none yet
    if which == "mutter":
        extra["XDG_CURRENT_DESKTOP"] = "GNOME"
    try:
        with session_of() as session:
            probe = "wlroots" if which == "sway" else "gnome"
            result = session.run([sys.executable, "-m", "tests.overlay_driver", "--probe", probe, *ANSWERS],
                                 session.environ(extra), user=USER if which == "sway" else None, timeout=500)
    except WaylandUnavailable as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no headless {which}: {err}")
        pytest.skip(f"no headless {which}: {err}")
    assert result.returncode == 0, result.stderr[-3000:]
    results: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])["results"]
    return results


@pytest.fixture(scope="module", params=["sway", "mutter"])
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

"""GNOME through the desktop portal on a real headless gnome-shell: the consent dialog, input, frames, refusals.

The session (tests/wayland.py ``headless_mutter(shell=True, portals=True)``) runs
gnome-shell, gsd-media-keys and xdg-desktop-portal (gnome backend) as ``nobody``.
Deskpilot is forced onto the portal with ``DESKPILOT_GNOME_BACKEND=portal`` (the same
shell also offers Mutter's API, which the selection would prefer). The dialog is
answered by tests/portal_consent.py, which clicks it through Mutter's own API as a
person would; the GTK probe window (tests/apps/gnome_probe.py) logs what it received.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.computers.gnome.portal import ASK, NOTICE
from tests.support import DONE, call, model_point, wait_until, write_script
from tests.test_gnome_shell import PROBE, Probe, press, reaches
from tests.wayland import USER, WaylandSession, WaylandUnavailable, headless_mutter

pytestmark = pytest.mark.process  # every test drives programs inside the compositor's namespace

W, H = 1920, 1080
PORTAL = {"DESKPILOT_GNOME_BACKEND": "portal"}


@pytest.fixture(scope="module")
def shell() -> Iterator[WaylandSession]:
    try:
        with headless_mutter(shell=True, portals=True) as session:
            yield session
    except WaylandUnavailable as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no headless gnome-shell with the portals: {err}")
        pytest.skip(f"no headless gnome-shell with the portals: {err}")


@pytest.fixture(scope="module")
def probe(shell: WaylandSession) -> Iterator[Probe]:
    log = shell.home / "probe.log"
    # Below the top bar the shell shows while the portal's screen cast runs.
    process = shell.spawn(["/usr/bin/python3", str(PROBE), "--top", "80"], shell.environ({"GDK_BACKEND": "wayland"}),
                          log=log)
    found = Probe(log)
    try:
        found.wait(lambda events: any(e["event"] == "ready" for e in events), 0.0, timeout=30)
        press(shell, ("escape",))  # out of the shell's overview (through Mutter's API)
        assert wait_until(lambda: reaches(shell, found, ("shift",), "Shift_L"), 20), found.events()
        yield found
    finally:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture
def work(shell: WaylandSession) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="work-", dir=shell.home))
    shutil.chown(folder, USER, None)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def answered(shell: WaylandSession, argv: list[str], answer: str, log: Path) -> tuple[int, str, dict[str, Any]]:
    """Run ``argv`` in the session on the portal while the harness gives ``answer`` to the dialog.

    Returns the command's exit code, its output, and what the harness did.
    """
    closed = str(log.parent / "consent-closed")
    command = shell.spawn(argv, shell.environ({**PORTAL, "DESKPILOT_CONFIG": str(shell.home / "none.toml"),
                                               "PORTAL_CONSENT_CLOSED": closed}), log=log)
    try:
        consent = shell.run([sys.executable, "tests/portal_consent.py", answer],
                            shell.environ({"PORTAL_CONSENT_FRAMES": str(log.parent), "PORTAL_CONSENT_CLOSED": closed}),
                            user=USER, timeout=120)
        assert consent.returncode == 0, consent.stderr[-3000:]
        command.wait(timeout=120)
    finally:
        if command.poll() is None:
            command.kill()
            command.wait(timeout=5)
    return command.returncode, log.read_text(encoding="utf-8", errors="replace"), json.loads(consent.stdout)


def test_the_portal_session_clicks_types_and_captures_after_consent(
    shell: WaylandSession, probe: Probe, work: Path
) -> None:
    since = time.monotonic()
    code, output, consent = answered(
        shell, [sys.executable, "tests/portal_driver.py", json.dumps(probe.ready())], "allow", work / "driver.log"
    )
    assert code == 0, (output[-3000:], consent)
    assert consent["found"] and consent["switched_on"], consent  # the harness saw the real dialog
    out = json.loads(output.strip().splitlines()[-1])
    # Said before the dialog (the user must act), in this order, and by doctor's description.
    assert output.index(NOTICE) < output.index(ASK), output
    assert NOTICE in out["describe"] and "DESKPILOT_GNOME_BACKEND=portal" in out["describe"]
    assert out["clipboard_missing"], out
    assert out["monitors"] == [[0, 0, W, H]]
    # The click reached the real window at the right place, and the next frame shows its effect.
    events = probe.wait(lambda ev: any(e["event"] == "text" and e["text"] == "Portal ok!" for e in ev), since)
    bx, by, bw, bh = probe.ready()["button"]
    presses = [(e["x"], e["y"]) for e in events if e["event"] == "press"]
    assert abs(presses[0][0] - (bx + bw // 2)) <= 2 and abs(presses[0][1] - (by + bh // 2)) <= 2, presses
    assert [e["event"] for e in events].count("clicked") == 1
    assert out["strip_before"] == [255, 0, 0] or out["strip_before"] == [0, 0, 255]
    assert out["strip_after_click"] != out["strip_before"], out
    assert sorted([out["strip_before"], out["strip_after_click"]]) == [[0, 0, 255], [255, 0, 0]]
    # Text outside the layout: refused whole, in one line naming the limit; none of it typed.
    assert out["refused"] is not None and "no clipboard" in out["refused"] and "'é€'" in out["refused"], out
    assert "\n" not in out["refused"]
    # (keys of "Portal ok!" may still be arriving: nothing of the refused text may follow them)
    after = probe.events(out["refused_at"])
    assert all("Portal ok!".startswith(e["text"]) for e in after if e["event"] == "text"), after
    assert not [e for e in after if e["event"] == "key" and e["name"] in ("b", "c", "d")], after


def test_a_denied_dialog_is_one_line_and_nothing_is_performed(
    shell: WaylandSession, probe: Probe, work: Path
) -> None:
    button = probe.centre("button")
    script = write_script(work / "click.jsonl", [
        call(f'{{"action": "left_click", "coordinate": {model_point(*button, W, H)}}}'), DONE])
    shutil.chown(script, USER, None)
    since = time.monotonic()
    code, output, consent = answered(
        shell, [sys.executable, "-m", "agent", "run", "click it", "--script", str(script), "--confirm", "never",
                "--history-dir", str(work / "history")], "deny", work / "run.log")
    assert consent["found"], consent
    assert code == 2, output
    assert "Traceback" not in output, output
    assert output.strip().splitlines()[-1].endswith(
        "the remote desktop dialog was cancelled: Deskpilot did nothing (run again and press Share to allow it)"
    ), output
    assert NOTICE in output  # it had said a dialog would come
    assert [e for e in probe.events(since) if e["event"] in ("press", "clicked", "text")] == []


def test_sharing_without_remote_interaction_is_refused_too(shell: WaylandSession, probe: Probe, work: Path) -> None:
    since = time.monotonic()
    code, output, consent = answered(
        shell, [sys.executable, "-m", "agent", "click", "Open", "--confirm", "never",
                "--history-dir", str(work / "history")], "view-only", work / "click.log")
    assert consent["found"], consent
    assert code == 2, output
    assert "without \"Allow remote interaction\"" in output.strip().splitlines()[-1], output
    assert [e for e in probe.events(since) if e["event"] in ("press", "clicked")] == []


def test_the_kill_chord_stops_a_portal_run(shell: WaylandSession, probe: Probe, work: Path) -> None:
    """The chord is GNOME's custom keybinding (gsd-media-keys), whichever API the run drives."""
    button = probe.centre("button")
    steps = [call(f'{{"action": "left_click", "coordinate": {model_point(*button, W, H)}}}'),
             call('{"action": "wait", "time": 1}')] * 30 + [DONE]
    script = write_script(work / "slow.jsonl", steps)
    shutil.chown(script, USER, None)
    env = shell.environ({**PORTAL, "DESKPILOT_CONFIG": str(shell.home / "none.toml")})
    log = work / "run.log"
    run = shell.spawn([sys.executable, "-m", "agent", "run", "click forever", "--script", str(script),
                       "--confirm", "never", "--history-dir", str(work / "history")], env, log=log)
    try:
        consent = shell.run([sys.executable, "tests/portal_consent.py", "allow"], shell.environ(), user=USER,
                            timeout=120)
        assert consent.returncode == 0, consent.stderr[-3000:]
        probe.wait(lambda ev: sum(e["event"] == "clicked" for e in ev) >= 2, time.monotonic(), timeout=60)
        chord_at = press(shell, ("ctrl", "alt", "k"))
        run.wait(timeout=15)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(timeout=5)
    output = log.read_text(errors="replace")
    assert run.returncode == 3, output  # stopped by the user
    after = [e for e in probe.events(chord_at) if e["event"] in ("press", "clicked", "text")]
    assert after == [], after


def test_doctor_says_the_portal_is_used_and_puts_up_no_dialog(shell: WaylandSession) -> None:
    result = shell.deskpilot("doctor", extra=PORTAL, user=USER)
    platform_row = next(line for line in result.stdout.splitlines() if "platform" in line and "gnome" in line)
    assert NOTICE in platform_row and "DESKPILOT_GNOME_BACKEND=portal" in platform_row, result.stdout
    assert "not captured: GNOME's desktop portal would show its consent dialog" in result.stdout, result.stdout
    assert "paste through the clipboard" in result.stdout  # the missing capability, in doctor's words

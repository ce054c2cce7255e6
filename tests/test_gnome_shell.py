"""GNOME end to end on a real headless gnome-shell with gsd-media-keys: runs, click by name, the kill chord.

The session (tests/wayland.py ``headless_mutter(shell=True)``) runs gnome-shell (Mutter
inside) and gsd-media-keys, the daemon that runs GNOME's custom keybindings, as
``nobody``; Deskpilot runs as the same user (the chord's ``deskpilot stop`` is started
by gsd-media-keys, so the run must be that user's). The GTK probe window
(tests/apps/gnome_probe.py) logs every press, key and text with a ``time.monotonic()``
stamp, which a test compares with its own clock.
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

from tests.support import DONE, call, model_point, wait_until, write_script
from tests.wayland import (
    USER,
    Probe,
    WaylandSession,
    WaylandUnavailable,
    headless_mutter,
    running_probe,
    work_folder,
)

pytestmark = pytest.mark.process  # every test drives programs inside the compositor's namespace

ROOT = Path(__file__).resolve().parent.parent
PROBE = ROOT / "tests" / "apps" / "gnome_probe.py"
W, H = 1920, 1080
TEXT = "打开 deskpilot é€"
LIST = ("org.gnome.settings-daemon.plugins.media-keys", "custom-keybindings")


@pytest.fixture(scope="module")
def shell() -> Iterator[WaylandSession]:
    try:
        with headless_mutter(shell=True) as session:
            yield session
    except WaylandUnavailable as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no headless gnome-shell: {err}")
        pytest.skip(f"no headless gnome-shell: {err}")


def in_session(shell: WaylandSession, code: str, timeout: float = 60) -> str:
    """Run Python ``code`` with the suite's interpreter as the shell's user; its stdout."""
    result = shell.run([sys.executable, "-c", code], shell.environ(), user=USER, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


# A fresh process: the platform from the selection point, one computer, the listed keys.
_KEYS = """
import time
from agent.computers.selection import select_platform
platform = select_platform()
assert platform.name == 'gnome', platform.describe()
computer = platform.computer()
sent = time.monotonic()
for keys in {keys}:
    computer.chord(keys)
print(sent)
"""


def press(shell: WaylandSession, *chords: tuple[str, ...]) -> float:
    """Key chords through Mutter's RemoteDesktop keyboard (the desktop's own input path); when sent."""
    return float(in_session(shell, _KEYS.format(keys=list(chords))).strip().splitlines()[-1])


@pytest.fixture(scope="module")
def probe(shell: WaylandSession) -> Iterator[Probe]:
    # Below the top bar gnome-shell shows over the fullscreen probe while a screen is cast.
    with running_probe(shell, ["/usr/bin/python3", str(PROBE), "--top", "80"], shell.home / "probe.log",
                       timeout=30) as found:
        # The shell starts in its overview: Escape leaves it; then keys reach the window.
        press(shell, ("escape",))
        assert wait_until(lambda: reaches(shell, found, ("shift",), "Shift_L"), 20), found.events()
        yield found


@pytest.fixture
def work(shell: WaylandSession) -> Iterator[Path]:
    with work_folder(shell) as folder:
        yield folder


def deskpilot(shell: WaylandSession, *args: str) -> Any:
    return shell.deskpilot(*args, user=USER)


def custom_keybindings(shell: WaylandSession) -> str:
    result = shell.run(["gsettings", "get", *LIST], shell.environ(), user=USER, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_selection_point_picks_gnome_and_says_the_chord_can_be_installed(shell: WaylandSession) -> None:
    out = in_session(shell, "from agent.computers.gnome.keybinding import unavailable_reason; "
                            "from agent.computers.selection import select_platform; "
                            "print(select_platform().name, unavailable_reason())")
    assert out.split() == ["gnome", "None"]


def test_the_first_key_of_each_fresh_process_arrives(shell: WaylandSession, probe: Probe) -> None:
    """Trap: a session's keyboard joins the seat with its first key; keys before clients bind it are lost."""
    for _ in range(4):
        since = press(shell, ("f6",))  # each process is a new RemoteDesktop session
        keys = probe.wait(lambda ev: any(e["event"] == "key" for e in ev), since, timeout=5)
        assert [e["name"] for e in keys if e["event"] == "key"][:1] == ["F6"], keys


def test_a_scripted_run_clicks_and_types_unicode(shell: WaylandSession, probe: Probe, work: Path) -> None:
    """The end-to-end run: the CLI with the scripted backend, as on X11 and sway."""
    button, entry = probe.centre("button"), probe.centre("entry")
    script = write_script(work / "script.jsonl", [
        call(f'{{"action": "left_click", "coordinate": {model_point(*button, W, H)}}}'),
        call(f'{{"action": "left_click", "coordinate": {model_point(*entry, W, H)}}}'),
        call('{"action": "key", "keys": ["ctrl", "a"]}'),
        call(json.dumps({"action": "type", "text": TEXT}, ensure_ascii=False)),
        DONE,
    ])
    shutil.chown(script, USER, None)
    since = time.monotonic()
    result = deskpilot(shell, "run", "open deskpilot", "--script", str(script), "--confirm", "never",
                       "--history-dir", str(work / "history"))
    assert result.returncode == 0, result.stderr[-3000:]
    events = probe.wait(lambda ev: any(e["event"] == "text" and e["text"] == TEXT for e in ev), since)
    assert [e["event"] for e in events].count("clicked") == 1
    presses = [(e["x"], e["y"]) for e in events if e["event"] == "press"]
    assert all(abs(x - px) <= 2 and abs(y - py) <= 2 for (x, y), (px, py) in zip(presses, [button, entry],
                                                                                   strict=True)), presses
    # The chord was installed for the run and went with it.
    assert custom_keybindings(shell) == "@as []"


def test_click_by_name_finds_the_button_by_ocr(shell: WaylandSession, probe: Probe, work: Path) -> None:
    bx, by, bw, bh = probe.ready()["button"]
    since = time.monotonic()
    result = deskpilot(shell, "click", "Open", "--confirm", "never", "--history-dir", str(work / "history"))
    assert result.returncode == 0, result.stderr[-3000:]
    events = probe.wait(lambda ev: any(e["event"] == "clicked" for e in ev), since)
    (pressed,) = [e for e in events if e["event"] == "press"]
    assert bx <= pressed["x"] < bx + bw and by <= pressed["y"] < by + bh


def test_the_kill_chord_stops_a_run_with_no_action_after_it(
    shell: WaylandSession, probe: Probe, work: Path
) -> None:
    button = probe.centre("button")
    # Many slow steps: a click, then a 1 s wait, over and over.
    steps = [call(f'{{"action": "left_click", "coordinate": {model_point(*button, W, H)}}}'),
             call('{"action": "wait", "time": 1}')] * 30 + [DONE]
    script = write_script(work / "slow.jsonl", steps)
    shutil.chown(script, USER, None)
    env = shell.environ({"DESKPILOT_CONFIG": str(shell.home / "no-such-config.toml")})
    run = shell.spawn([sys.executable, "-m", "agent", "run", "click forever", "--script", str(script),
                       "--confirm", "never", "--history-dir", str(work / "history")], env, log=work / "run.log")
    try:
        since = time.monotonic()
        probe.wait(lambda ev: sum(e["event"] == "clicked" for e in ev) >= 2, since, timeout=60)
        assert "deskpilot-stop" in custom_keybindings(shell)
        chord_at = press(shell, ("ctrl", "alt", "k"))
        run.wait(timeout=10)
        stopped_in = time.monotonic() - chord_at
    finally:
        if run.poll() is None:
            run.kill()
    log = (work / "run.log").read_text(errors="replace")
    assert run.returncode == 3, log  # stopped by the user
    # gnome-shell takes the K; anything but the chord's modifiers after it would be the run acting.
    after = [e for e in probe.events(chord_at) if e["event"] in ("press", "clicked", "text")
             or (e["event"] == "key" and e["name"] not in ("Control_L", "Alt_L"))]
    assert after == [], after
    assert stopped_in < 3.0, stopped_in
    assert not (shell.runtime_dir / "deskpilot" / "stop.sock").exists()
    # The binding went with the run: the shell no longer takes the K, the window gets it.
    assert custom_keybindings(shell) == "@as []"
    assert wait_until(lambda: _k_reaches_the_window(shell, probe), 15)


def reaches(shell: WaylandSession, probe: Probe, chord: tuple[str, ...], name: str) -> bool:
    """Whether ``chord`` pressed now reaches the window as the key ``name`` (within 2 s)."""
    since = press(shell, chord)
    return wait_until(lambda: any(e["event"] == "key" and e["name"] == name for e in probe.events(since)), 2)


def _k_reaches_the_window(shell: WaylandSession, probe: Probe) -> bool:
    return reaches(shell, probe, ("ctrl", "alt", "k"), "k")


def test_a_run_that_fails_also_removes_its_chord(shell: WaylandSession, probe: Probe, work: Path) -> None:
    """A crash path: the script runs out mid-run; the binding must not outlive the run."""
    entry = probe.centre("entry")
    script = write_script(work / "short.jsonl",
                          [call(f'{{"action": "left_click", "coordinate": {model_point(*entry, W, H)}}}')])
    shutil.chown(script, USER, None)
    result = deskpilot(shell, "run", "run out", "--script", str(script), "--confirm", "never",
                       "--history-dir", str(work / "history"))
    assert result.returncode == 1, result.stderr[-3000:]
    assert custom_keybindings(shell) == "@as []"
    listed = shell.run(["gsettings", "list-recursively",
                        "org.gnome.settings-daemon.plugins.media-keys.custom-keybinding:"
                        "/org/gnome/settings-daemon/plugins/media-keys/custom-keybindings/deskpilot-stop/"],
                       shell.environ(), user=USER, timeout=30)
    assert "binding ''" in listed.stdout and "command ''" in listed.stdout, listed.stdout
    assert wait_until(lambda: _k_reaches_the_window(shell, probe), 15)


def test_a_users_own_shortcuts_stay(shell: WaylandSession, probe: Probe, work: Path) -> None:
    """The run adds its path to the user's list and takes only its own out again."""
    mine = "/org/gnome/settings-daemon/plugins/media-keys/custom-keybindings/custom0/"
    set_list = shell.run(["gsettings", "set", *LIST, f"['{mine}']"], shell.environ(), user=USER, timeout=30)
    assert set_list.returncode == 0, set_list.stderr
    try:
        script = write_script(work / "done.jsonl", [DONE])
        shutil.chown(script, USER, None)
        result = deskpilot(shell, "run", "nothing", "--script", str(script), "--confirm", "never",
                           "--history-dir", str(work / "history"))
        assert result.returncode == 0, result.stderr[-3000:]
        assert custom_keybindings(shell) == f"['{mine}']"
    finally:
        shell.run(["gsettings", "reset", *LIST], shell.environ(), user=USER, timeout=30)


def test_on_plain_mutter_a_run_refuses_without_a_chord_and_deskpilot_stop_still_stops_it(
    tmp_path: Path,
) -> None:
    """No gnome-shell, no gsd-media-keys: nothing would run the chord, so the run needs --no-kill-chord."""
    try:
        session = headless_mutter()
        plain = session.__enter__()
    except WaylandUnavailable as err:
        pytest.skip(f"no headless mutter: {err}")
    try:
        gnome = {"XDG_CURRENT_DESKTOP": "GNOME", "DESKPILOT_CONFIG": str(plain.home / "no-such-config.toml")}
        log = plain.home / "probe.log"
        app = plain.spawn(["/usr/bin/python3", str(PROBE)], plain.environ({"GDK_BACKEND": "wayland"}), log=log)
        probe = Probe(log)
        probe.wait(lambda events: any(e["event"] == "ready" for e in events), 0.0, timeout=30)
        work = Path(tempfile.mkdtemp(prefix="work-", dir=plain.home))
        shutil.chown(work, USER, None)
        button = probe.centre("button")
        steps = [call(f'{{"action": "left_click", "coordinate": {model_point(*button, W, H)}}}'),
                 call('{"action": "wait", "time": 1}')] * 30 + [DONE]
        script = write_script(work / "slow.jsonl", steps)
        shutil.chown(script, USER, None)
        args = ["run", "click forever", "--script", str(script), "--confirm", "never",
                "--history-dir", str(work / "history")]
        refused = plain.deskpilot(*args, extra=gnome, user=USER)
        assert refused.returncode != 0
        assert "gsd-media-keys" in refused.stderr and "--no-kill-chord" in refused.stderr, refused.stderr
        run = plain.spawn([sys.executable, "-m", "agent", "--no-kill-chord", *args], plain.environ(gnome),
                          log=work / "run.log")
        try:
            probe.wait(lambda ev: sum(e["event"] == "clicked" for e in ev) >= 2, time.monotonic(), timeout=60)
            stopped = plain.deskpilot("stop", extra=gnome, user=USER)
            stop_at = time.monotonic()  # the run answered "stopped": its stop event was set before
            assert stopped.returncode == 0, stopped.stderr
            run.wait(timeout=10)
        finally:
            if run.poll() is None:
                run.kill()
            app.kill()
        assert run.returncode == 3, (work / "run.log").read_text(errors="replace")
        after = [e for e in probe.events(stop_at) if e["event"] in ("press", "clicked", "text")]
        assert after == [], after
    finally:
        session.__exit__(None, None, None)


@pytest.mark.x11
def test_a_macro_recorded_on_x11_replays_on_gnome_after_the_window_moved(
    shell: WaylandSession, probe: Probe, work: Path, x_display: str
) -> None:
    """The same GTK window on the suite's Xvfb at 0,0 gives the macro's anchor; on GNOME Mutter centres it.

    Last of the shell's tests: the new window takes the focus from the fullscreen probe.
    """
    import subprocess

    from agent.computers.x11.screen import MssScreen
    from agent.macros.anchors import make_anchor
    from agent.macros.schema import Macro, MacroStep, Monitor, save_macro

    launcher = ROOT / "tests" / "apps" / "wayland_probe.py"
    button = (920, 440)  # the centre of its "Launch" button, in window coordinates
    x11_log = work / "x11-probe.log"
    x11 = subprocess.Popen(["/usr/bin/python3", str(launcher), str(x11_log), "--at", "0,0"],
                           env={**os.environ, "GDK_BACKEND": "x11"}, stderr=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: x11_log.exists() and '"ready"' in x11_log.read_text(), 20)
        frame = MssScreen(1).capture()
    finally:
        x11.kill()
        x11.wait(timeout=5)
    macro = work / "launch.json"
    save_macro(Macro(monitor=Monitor(width=frame.image.width, height=frame.image.height),
                     steps=[MacroStep(action={"action": "left_click", "x": button[0], "y": button[1]},
                                      anchor=make_anchor(frame.image, button))]), macro)
    shutil.chown(macro, USER, None)
    centred = ("org.gnome.mutter", "center-new-windows")
    assert shell.run(["gsettings", "set", *centred, "true"], shell.environ(), user=USER).returncode == 0
    log = work / "gnome-launcher.log"
    app = shell.spawn(["/usr/bin/python3", str(launcher), str(log)], shell.environ({"GDK_BACKEND": "wayland"}))
    try:
        assert wait_until(lambda: log.exists() and '"ready"' in log.read_text(), 20)
        # Moved: its red block (window 0,0 400x300) is no longer at the screen's corner.
        corner = in_session(shell, "from agent.computers.selection import select_platform; "
                                   "print(list(select_platform().screen(1).capture().image.getpixel((10, 10))))")
        assert json.loads(corner.strip().splitlines()[-1]) != [255, 0, 0]
        since = time.monotonic()
        result = deskpilot(shell, "macro", "play", str(macro), "--confirm", "never",
                           "--history-dir", str(work / "history"))
        assert result.returncode == 0, result.stderr[-3000:]
        launched = Probe(log)
        events = launched.wait(lambda ev: any(e["event"] == "clicked" for e in ev), since)
        assert [e.get("name") for e in events if e["event"] == "clicked"] == ["Launch"]
        assert len([e for e in events if e["event"] == "press"]) == 1
    finally:
        app.kill()
        shell.run(["gsettings", "reset", *centred], shell.environ(), user=USER)

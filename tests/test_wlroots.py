"""The wlroots platform on a real headless sway: what a native Wayland GTK window saw, and the captured pixels.

The session (tests/wayland.py) runs sway as ``nobody``; Deskpilot runs as the same
user inside the session's namespaces (the kill chord's ``deskpilot stop`` is run by
sway, so the run must be sway's user). The probe window (tests/apps/wayland_probe.py)
is tiled over the whole 1920x1080 output and logs every press, key and text with a
``time.monotonic()`` stamp, which the test compares with its own clock.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import DONE, call, model_point, write_script
from tests.wayland import (
    USER,
    Probe,
    WaylandSession,
    WaylandUnavailable,
    headless_sway,
    running_probe,
    work_folder,
)

pytestmark = pytest.mark.process  # every test drives programs inside the compositor's namespace

ROOT = Path(__file__).resolve().parent.parent
PROBE = ROOT / "tests" / "apps" / "wayland_probe.py"
BUTTON = (920, 440)  # the centre of the probe's "Launch" button
ENTRY = (1000, 630)  # inside its text field
W, H = 1920, 1080
TEXT = "打开 deskpilot é€"


@pytest.fixture(scope="module")
def sway() -> Iterator[WaylandSession]:
    try:
        with headless_sway() as session:
            yield session
    except WaylandUnavailable as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no headless sway: {err}")
        pytest.skip(f"no headless sway: {err}")


@pytest.fixture(scope="module")
def probe(sway: WaylandSession) -> Iterator[Probe]:
    log = sway.home / "probe.log"
    with running_probe(sway, ["/usr/bin/python3", str(PROBE), str(log)], log, out=sway.home / "probe.out",
                       timeout=20) as found:
        yield found


@pytest.fixture
def work(sway: WaylandSession) -> Iterator[Path]:
    with work_folder(sway) as folder:
        yield folder


def in_session(sway: WaylandSession, code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` with the suite's interpreter as sway's user; fail with its stderr."""
    result = sway.run([sys.executable, "-c", code], sway.environ(), user=USER, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def focus_entry(sway: WaylandSession, probe: Probe) -> None:
    since = time.monotonic()
    in_session(sway, _ACT.format(actions=f"[('click', {ENTRY})]"))
    probe.wait(lambda events: any(e["event"] == "press" for e in events), since)


# A fresh process: platform from the selection point, one computer, the listed actions.
_ACT = """
from agent.actions import Key, LeftClick, ScreenAction, Type
from agent.computers.selection import select_platform
platform = select_platform()
assert platform.name == 'wlroots', platform.describe()
computer = platform.computer()
for kind, arg in {actions}:
    if kind == 'click':
        computer.perform(ScreenAction.at_screen_point(LeftClick(), *arg))
    elif kind == 'type':
        computer.perform(ScreenAction.at_screen_point(Type(text=arg), None, None))
    else:
        computer.perform(ScreenAction.at_screen_point(Key(keys=list(arg)), None, None))
"""


def test_the_selection_point_picks_wlroots_from_the_registry(sway: WaylandSession) -> None:
    """XDG_CURRENT_DESKTOP is not set in this session: the registry's wlr globals decide."""
    assert "XDG_CURRENT_DESKTOP" not in sway.environ()
    result = in_session(sway, "from agent.computers.selection import select_platform; "
                              "print(select_platform().describe())")
    assert result.stdout.startswith("wlroots (WAYLAND_DISPLAY=wayland-1, sway IPC; can capture, act")
    assert "cannot read the pointer, see global keys, record input" in result.stdout


def test_a_capture_holds_the_windows_own_pixels(sway: WaylandSession, probe: Probe) -> None:
    result = in_session(sway, """
import json
from agent.computers.selection import select_platform
frame = select_platform().screen(1).capture()
pixel = frame.image.getpixel
print(json.dumps([frame.image.size, str(frame.region), pixel((10, 10)), pixel((399, 299)), pixel((400, 10)),
                  pixel((920, 440))]))
""")
    size, region, inside, corner, right_of_it, button = json.loads(result.stdout)
    assert (size, region) == ([1920, 1080], "1920x1080+0+0")
    assert inside == corner == [255, 0, 0]  # the probe's red block, edge to edge
    assert right_of_it != [255, 0, 0] and button != [255, 0, 0]


def test_a_click_and_text_outside_the_layout_reach_the_window(sway: WaylandSession, probe: Probe) -> None:
    since = time.monotonic()
    in_session(sway, _ACT.format(actions=f"[('click', {BUTTON}), ('click', {ENTRY}), ('key', ('ctrl', 'a')), "
                                          f"('type', {TEXT!r})]"))
    events = probe.wait(lambda ev: any(e["event"] == "text" and e["text"] == TEXT for e in ev), since)
    presses = [(e["x"], e["y"], e["button"]) for e in events if e["event"] == "press"]
    assert presses[:2] == [(*BUTTON, 1), (*ENTRY, 1)]
    assert [e["name"] for e in events if e["event"] == "clicked"] == ["Launch"]
    # Each character was one key the window decoded itself: é, € and CJK are not in any layout here.
    typed = "".join(e["char"] for e in events if e["event"] == "key" and e["name"] != "Control_L")
    assert typed == "a" + TEXT


def test_the_first_event_of_a_fresh_process_is_not_lost(sway: WaylandSession, probe: Probe) -> None:
    """Trap: a new virtual device's first events arrive before the window binds the seat's new capability."""
    focus_entry(sway, probe)
    for attempt in range(3):  # each process makes new devices: the race is per process
        in_session(sway, _ACT.format(actions="[('key', ('ctrl', 'a')), ('key', ('backspace',))]"))
        since = time.monotonic()
        word = f"x{attempt}é"
        in_session(sway, _ACT.format(actions=f"[('type', {word!r})]"))
        events = probe.wait(lambda ev, w=word: any(e["event"] == "text" and e["text"] == w for e in ev), since)
        assert [e["char"] for e in events if e["event"] == "key"] == list(word)


def test_a_click_from_a_fresh_process_arrives(sway: WaylandSession, probe: Probe) -> None:
    for _ in range(2):
        since = time.monotonic()
        in_session(sway, _ACT.format(actions=f"[('click', {BUTTON})]"))
        events = probe.wait(lambda ev: any(e["event"] == "clicked" for e in ev), since)
        assert [(e["x"], e["y"]) for e in events if e["event"] == "press"] == [BUTTON]


def test_window_titles_come_from_sway(sway: WaylandSession, probe: Probe) -> None:
    result = in_session(sway, """
from agent.computers.selection import select_platform
platform = select_platform()
print(platform.windows().focused_title(), platform.windows().title_at(5, 5), platform.active_window_region())
""")
    assert result.stdout.strip() == "deskpilot-wayland-probe deskpilot-wayland-probe 1920x1080+0+0"


def test_a_scripted_run_clicks_and_types_unicode(sway: WaylandSession, probe: Probe, work: Path) -> None:
    """The end-to-end run: the CLI with the scripted backend, as on X11."""
    script = write_script(work / "script.jsonl", [
        call(f'{{"action": "left_click", "coordinate": {model_point(*BUTTON, W, H)}}}'),
        call(f'{{"action": "left_click", "coordinate": {model_point(*ENTRY, W, H)}}}'),
        call('{"action": "key", "keys": ["ctrl", "a"]}'),
        call(json.dumps({"action": "type", "text": TEXT}, ensure_ascii=False)),
        DONE,
    ])
    shutil.chown(script, USER, None)
    since = time.monotonic()
    result = sway.deskpilot("run", "open deskpilot", "--script", str(script), "--confirm", "never",
                            "--history-dir", str(work / "history"), user=USER)
    assert result.returncode == 0, result.stderr[-3000:]
    events = probe.wait(lambda ev: any(e["event"] == "text" and e["text"] == TEXT for e in ev), since)
    assert [e["name"] for e in events if e["event"] == "clicked"] == ["Launch"]
    assert [(e["x"], e["y"]) for e in events if e["event"] == "press"] == [BUTTON, ENTRY]


def test_click_by_name_finds_the_button_by_ocr(sway: WaylandSession, probe: Probe, work: Path) -> None:
    since = time.monotonic()
    result = sway.deskpilot("click", "Launch", "--confirm", "never", "--history-dir", str(work / "history"),
                            user=USER)
    assert result.returncode == 0, result.stderr[-3000:]
    events = probe.wait(lambda ev: any(e["event"] == "clicked" for e in ev), since)
    (press,) = [e for e in events if e["event"] == "press"]
    assert 800 <= press["x"] < 1040 and 400 <= press["y"] < 480


def test_macro_record_says_what_works_instead(sway: WaylandSession, work: Path) -> None:
    result = sway.deskpilot("macro", "record", str(work / "m.json"), user=USER)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "macro from-run" in lines[0] and "Traceback" not in result.stderr


@pytest.mark.x11
def test_a_macro_recorded_on_x11_replays_on_sway_after_the_window_moved(
    sway: WaylandSession, probe: Probe, work: Path, x_display: str
) -> None:
    """The same GTK window on the suite's Xvfb: its capture gives the macro's anchor; on sway it has moved."""
    from agent.computers.x11.screen import MssScreen
    from agent.macros.anchors import make_anchor
    from agent.macros.schema import Macro, MacroStep, Monitor, save_macro

    x11_log = work / "x11-probe.log"
    x11 = subprocess.Popen(["/usr/bin/python3", str(PROBE), str(x11_log), "--at", "0,0"],
                           env={**os.environ, "GDK_BACKEND": "x11"}, stderr=subprocess.DEVNULL)
    try:
        Probe(x11_log).wait(lambda ev: any(e["event"] == "ready" for e in ev), 0.0, timeout=20)
        frame = MssScreen(1).capture()
    finally:
        x11.kill()
        x11.wait(timeout=5)
    step = {"action": "left_click", "x": BUTTON[0], "y": BUTTON[1]}
    macro = work / "launch.json"
    save_macro(Macro(monitor=Monitor(width=frame.image.width, height=frame.image.height),
                     steps=[MacroStep(action=step, anchor=make_anchor(frame.image, BUTTON))]), macro)
    shutil.chown(macro, USER, None)
    # On sway: float the window, shrink it and move it 200 right and 100 down.
    moved = ("[title=deskpilot-wayland-probe] floating enable, resize set 1500 900, move position 200 100")
    tiled = "[title=deskpilot-wayland-probe] floating disable"
    assert sway.run(["swaymsg", moved], sway.environ(), user=USER).returncode == 0
    try:
        where = in_session(sway, "from agent.computers.selection import select_platform; "
                                 "print(select_platform().active_window_region())")
        assert where.stdout.strip() == "1500x900+200+100"
        since = time.monotonic()
        result = sway.deskpilot("macro", "play", str(macro), "--confirm", "never",
                                "--history-dir", str(work / "history"), user=USER)
        assert result.returncode == 0, result.stderr[-3000:]
        events = probe.wait(lambda ev: any(e["event"] == "clicked" for e in ev), since)
        # The window's own coordinates: the button's centre, wherever the window now is.
        assert [(e["x"], e["y"]) for e in events if e["event"] == "press"] == [BUTTON]
    finally:
        sway.run(["swaymsg", tiled], sway.environ(), user=USER)


def press_chord(sway: WaylandSession) -> float:
    """Ctrl+Alt+K through sway's own input path (a virtual keyboard of another client); when it was sent."""
    result = in_session(sway, """
import time
from agent.computers.selection import select_platform
computer = select_platform().computer()
sent = time.monotonic()
computer.chord(('ctrl', 'alt', 'k'))
print(sent)
""")
    return float(result.stdout.strip().splitlines()[-1])


def test_the_kill_chord_stops_a_run_with_no_action_after_it(
    sway: WaylandSession, probe: Probe, work: Path
) -> None:
    # Many slow steps: a click, then a 1 s wait, over and over.
    steps = [call(f'{{"action": "left_click", "coordinate": {model_point(*BUTTON, W, H)}}}'),
             call('{"action": "wait", "time": 1}')] * 30 + [DONE]
    script = write_script(work / "slow.jsonl", steps)
    shutil.chown(script, USER, None)
    env = sway.environ({"DESKPILOT_CONFIG": str(sway.home / "no-such-config.toml")})
    run = sway.spawn([sys.executable, "-m", "agent", "run", "click forever", "--script", str(script),
                      "--confirm", "never", "--history-dir", str(work / "history")], env, log=work / "run.log")
    try:
        since = time.monotonic()
        probe.wait(lambda ev: sum(e["event"] == "clicked" for e in ev) >= 2, since, timeout=30)
        chord_at = press_chord(sway)
        run.wait(timeout=10)
        stopped_in = time.monotonic() - chord_at
    finally:
        if run.poll() is None:
            run.kill()
    log = (work / "run.log").read_text(errors="replace")
    assert run.returncode == 3, log  # stopped by the user
    # The chord's modifiers reach the focused window (sway consumes only the bound key);
    # anything else after the chord would be the run acting after its stop.
    chord_keys = [e["name"] for e in probe.events(chord_at) if e["event"] == "key"]
    assert chord_keys == ["Control_L", "Alt_L"], chord_keys
    after = [e for e in probe.events(chord_at) if e["event"] in ("press", "clicked", "text")]
    assert after == [], after
    assert stopped_in < 3.0, stopped_in
    assert not (sway.runtime_dir / "deskpilot" / "stop.sock").exists()
    # The binding went with the run: sway no longer takes the K for itself, the window gets it.
    focus_entry(sway, probe)
    again = press_chord(sway)
    keys = probe.wait(lambda ev: any(e["event"] == "key" and e["name"] == "k" for e in ev), again)
    assert [e["name"] for e in keys if e["event"] == "key"] == ["Control_L", "Alt_L", "k"]


def test_a_run_that_fails_also_removes_its_chord(sway: WaylandSession, probe: Probe, work: Path) -> None:
    """A crash path: the script runs out mid-run; the binding must not outlive the run."""
    script = write_script(work / "short.jsonl", [call(f'{{"action": "left_click", "coordinate": {model_point(*ENTRY, W, H)}}}')])
    shutil.chown(script, USER, None)
    result = sway.deskpilot("run", "run out", "--script", str(script), "--confirm", "never",
                            "--history-dir", str(work / "history"), user=USER)
    assert result.returncode == 1, result.stderr[-3000:]
    again = press_chord(sway)
    keys = probe.wait(lambda ev: any(e["event"] == "key" and e["name"] == "k" for e in ev), again)
    assert [e["name"] for e in keys if e["event"] == "key"] == ["Control_L", "Alt_L", "k"]


def test_without_sway_ipc_a_run_refuses_unless_told(sway: WaylandSession, work: Path) -> None:
    script = write_script(work / "done.jsonl", [DONE])
    shutil.chown(script, USER, None)
    args = ("run", "nothing", "--script", str(script), "--confirm", "never", "--history-dir", str(work / "h"))
    refused = sway.deskpilot(*args, extra={"SWAYSOCK": ""}, user=USER)
    assert refused.returncode != 0
    assert "no sway IPC" in refused.stderr and "--no-kill-chord" in refused.stderr, refused.stderr
    allowed = sway.deskpilot("--no-kill-chord", *args, extra={"SWAYSOCK": ""}, user=USER)
    assert allowed.returncode == 0, allowed.stderr[-3000:]

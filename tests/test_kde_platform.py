"""The KDE platform on a real headless KWin: what a native Wayland client saw, and the pixels captured.

KWin (``kwin_wayland --virtual``, tests/wayland.py) runs as ``nobody`` in a private
D-Bus session with permission checks off; the code under test runs as the same user
inside the session's namespaces (KWin offers fake-input only to its own user), and a
GTK 3 window on Wayland logs every press, key and text change it receives.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.computers.control_socket import send_stop
from agent.computers.kde.entry import desktop_entry, entry_path, install_desktop_entry
from agent.computers.kde.keys import CHARACTERS, chord_codes, key_code, typeable
from agent.computers.kde.platform import KdePlatform
from agent.computers.kde.shortcut import qt_key
from agent.computers.platform import Capability, InputHandlers
from agent.errors import ConfigError, DisplayError
from tests.wayland import (
    ROOT,
    USER,
    WaylandSession,
    WaylandUnavailable,
    headless_kwin,
    kwin_unavailable_reason,
)

PROBE = ROOT / "tests" / "apps" / "wayland_fullscreen_probe.py"
KDE = ROOT / "agent" / "computers" / "kde"
READY_TIMEOUT_S = 20.0


# -- no compositor ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "code"),
    [("ctrl", 29), ("shift", 42), ("enter", 28), ("escape", 1), ("f12", 88), ("a", 30), ("z", 44),
     ("1", 2), ("0", 11), ("/", 53), ("space", 57), ("Return", 28), ("super", 125)],
)
def test_key_names_become_evdev_codes(name: str, code: int) -> None:
    assert key_code(name) == code


def test_us_characters_and_what_is_pasted_instead() -> None:
    assert CHARACTERS["A"] == (30, True) and CHARACTERS["a"] == (30, False)
    assert CHARACTERS["?"] == (53, True) and CHARACTERS["|"] == (43, True)
    assert all(typeable(c) for c in "Hello, World! 42 ~`")
    assert not any(typeable(c) for c in "é€打\n\t")
    assert chord_codes(("ctrl", "v")) == [29, 47]
    with pytest.raises(ConfigError):
        key_code("nosuchkey")


def test_the_kde_platform_says_what_it_cannot_do_and_opens_nothing() -> None:
    platform = KdePlatform({"WAYLAND_DISPLAY": "wayland-9", "XDG_RUNTIME_DIR": "/nonexistent"})
    caps = platform.capabilities
    assert not caps.can(Capability.RECORD_INPUT) and not caps.can(Capability.READ_POINTER)
    assert caps.can(Capability.CLIPBOARD)
    assert platform.describe().startswith("kde (WAYLAND_DISPLAY=wayland-9; can capture, act, paste text")
    watching = platform.input_watching()
    recording = watching.watch_input(InputHandlers(), what="recording")
    with pytest.raises(DisplayError, match="macro from-run"):
        recording.start()
    with pytest.raises(DisplayError, match="cannot connect to the Wayland compositor"):
        platform.screen(1).capture()


def test_without_kde_shortcuts_a_run_needs_no_kill_chord_and_deskpilot_stop_remains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # where the stop socket goes
    env = {"WAYLAND_DISPLAY": "wayland-9"}  # no session bus: kglobalaccel cannot be reached
    chord = KdePlatform(env).input_watching().watch_chord(("ctrl", "alt", "k"), lambda: None, what="kill hotkey")
    with pytest.raises(DisplayError, match=r"DBUS_SESSION_BUS_ADDRESS is not set.*--no-kill-chord"):
        chord.start()
    assert not chord.is_alive() and not (tmp_path / "deskpilot" / "stop.sock").exists()
    stopped: list[str] = []
    optional = KdePlatform(env, chord_optional=True).input_watching().watch_chord(
        ("ctrl", "alt", "k"), lambda: stopped.append("stop"), what="kill hotkey")
    optional.start()
    try:
        assert optional.is_alive()
        assert send_stop(tmp_path / "deskpilot" / "stop.sock") and stopped == ["stop"]
    finally:
        assert optional.stop()


@pytest.mark.process
def test_the_fake_input_bindings_are_what_the_vendored_xml_generates(tmp_path: Path) -> None:
    pytest.importorskip("pywayland")
    subprocess.run([sys.executable, "-m", "pywayland.scanner", "-i", str(KDE / "protocols" / "fake-input.xml"),
                    "-o", str(tmp_path)], check=True, capture_output=True, timeout=60)
    generated = (tmp_path / "fake_input.py").read_text()
    shipped = (KDE / "fake_input_protocol.py").read_text()
    body = "\n".join(line for line in shipped.splitlines() if not line.startswith(("# Generated", "#   python",
                                                                                    "# tests/", "# mypy:")))
    assert body.strip() == generated.strip()
    assert "SPDX-License-Identifier: LGPL-2.1-or-later" in (KDE / "protocols" / "fake-input.xml").read_text()


@pytest.mark.parametrize(
    ("keys", "code"),
    [(("ctrl", "alt", "k"), 0x0C00004B), (("ctrl", "shift", "escape"), 0x07000000), (("super", "f12"), 0x1100003B),
     (("alt", "1"), 0x08000031), (("ctrl", "/"), 0x0400002F)],
)
def test_chords_become_qt_key_sequences(keys: tuple[str, ...], code: int) -> None:
    assert qt_key(keys) == code


@pytest.mark.parametrize("keys", [("ctrl", "alt"), ("ctrl", "a", "b"), ("ctrl", "nosuch")])
def test_a_chord_kde_cannot_register_is_bad_input(keys: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError):
        qt_key(keys)


def test_the_desktop_entry_names_the_real_interpreter_and_the_two_interfaces(tmp_path: Path) -> None:
    path = install_desktop_entry(sys.executable, {"HOME": str(tmp_path)})
    assert path == tmp_path / ".local" / "share" / "applications" / "deskpilot.desktop"
    text = path.read_text()
    assert f"Exec={os.path.realpath(sys.executable)} -m agent" in text and "@" not in text
    assert "X-KDE-Wayland-Interfaces=org_kde_kwin_fake_input\n" in text
    assert "X-KDE-DBUS-Restricted-Interfaces=org.kde.KWin.ScreenShot2\n" in text
    assert entry_path({"XDG_DATA_HOME": "/x", "HOME": "/h"}) == Path("/x/applications/deskpilot.desktop")


def test_doctor_names_the_kde_platform_and_what_its_install_lacks(tmp_path: Path) -> None:
    from agent.doctor import check_platform

    env = {"XDG_SESSION_TYPE": "wayland", "XDG_CURRENT_DESKTOP": "KDE", "WAYLAND_DISPLAY": "wayland-0",
           "HOME": str(tmp_path)}
    findings = check_platform(env)
    assert findings[0].level == "ok" and findings[0].detail.startswith("kde (WAYLAND_DISPLAY=wayland-0")
    assert any("macro from-run" in f.detail for f in findings if f.level == "warn")
    missing = [f.detail for f in findings if f.level == "fail"]
    assert any("deskpilot.desktop is missing or names another Python" in d for d in missing)
    install_desktop_entry(environ={"HOME": str(tmp_path)})
    assert not any("deskpilot.desktop" in f.detail for f in check_platform(env) if f.level == "fail")


# -- on a headless KWin ---------------------------------------------------------------

class Probe:
    """The GTK window's event log, read as it grows."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def events(self) -> list[dict[str, object]]:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return [json.loads(line) for line in lines if line.startswith("{")]

    def wait_for(self, predicate: object, timeout: float = 10.0) -> list[dict[str, object]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = self.events()
            if any(predicate(e) for e in events):  # type: ignore[operator]
                return events
            time.sleep(0.05)  # the probe writes its log from another process
        tail = self.log.read_text(errors="replace")[-1500:] if self.log.exists() else ""
        raise AssertionError(f"the probe never saw it; its log ends: {tail}")


@pytest.fixture(scope="module")
def kwin() -> Iterator[WaylandSession]:
    reason = kwin_unavailable_reason()
    if reason and shutil.which("kwin_wayland") is None:
        # scripts/install.sh --test installs it; without it these skip, and under CI=true
        # they fail only where KWin is installed and does not start (below).
        pytest.skip(f"no headless KWin: kwin_wayland is not installed ({reason})")
    try:
        with headless_kwin() as session:
            yield session
    except WaylandUnavailable as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"KWin is installed but did not start: {err}")
        pytest.skip(f"no headless KWin: {err}")


@pytest.fixture
def probe(kwin: WaylandSession) -> Iterator[Probe]:
    folder = Path(tempfile.mkdtemp(prefix="deskpilot-kde-probe-", dir="/var/tmp"))
    folder.chmod(0o777)
    log = folder / "probe.jsonl"
    env = kwin.environ({"GDK_BACKEND": "wayland", "NO_AT_BRIDGE": "1", "PYTHONPATH": ""})
    process = kwin.spawn(["/usr/bin/python3", str(PROBE)], env, log=log)
    try:
        found = Probe(log)
        found.wait_for(lambda e: e["event"] == "ready", READY_TIMEOUT_S)
        yield found
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
        shutil.rmtree(folder, ignore_errors=True)


def drive(kwin: WaylandSession, code: str) -> dict[str, object]:
    """Run ``code`` with the KDE platform as KWin's user; it prints one JSON object last."""
    prelude = (
        "import json, os, time\n"
        "from agent.actions import *\n"
        "from agent.computers.selection import select_platform\n"
        "platform = select_platform(os.environ)\n"
        "assert platform.name == 'kde', platform.name\n"
        "def act(action, x=None, y=None):\n"
        "    computer.perform(ScreenAction(action=action, x=x, y=y))\n"
    )
    env = kwin.environ({"XDG_CURRENT_DESKTOP": "KDE", "PYTHONDONTWRITEBYTECODE": "1"})
    result = kwin.run([sys.executable, "-c", prelude + code], env, user=USER, timeout=60)
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.process
def test_a_click_reaches_the_wayland_window_where_it_was_sent(kwin: WaylandSession, probe: Probe) -> None:
    out = drive(kwin, "computer = platform.computer(1)\nt = time.monotonic()\n"
                      "act(LeftClick(coordinate=(0, 0)), 960, 600)\n"
                      "print(json.dumps({'ms': (time.monotonic() - t) * 1000, 'at': computer.cursor_position()}))")
    events = probe.wait_for(lambda e: e["event"] == "clicked")
    assert {"event": "press", "button": 1, "x": 960, "y": 600} in events
    assert out["at"] == [960, 600]  # the remembered position: KWin does not say where it is


@pytest.mark.process
def test_unicode_is_pasted_into_the_focused_field_and_the_clipboard_restored(
    kwin: WaylandSession, probe: Probe
) -> None:
    text = "打开 deskpilot é€ Grüße ✓"
    out = drive(kwin, "import subprocess\n"
                      "subprocess.run(['wl-copy', 'the user words'], check=True)\n"
                      "computer = platform.computer(1)\n"
                      "act(LeftClick(coordinate=(0, 0)), 300, 30)\n"
                      f"t = time.monotonic()\nact(Type(text={text!r}))\nms = (time.monotonic() - t) * 1000\n"
                      "act(Type(text='AbC?'))\n"
                      "kept = subprocess.run(['wl-paste', '--no-newline'], capture_output=True, text=True).stdout\n"
                      "print(json.dumps({'ms': ms, 'clipboard': kept}))")
    probe.wait_for(lambda e: e == {"event": "text", "text": text + "AbC?"})
    assert out["clipboard"] == "the user words"


@pytest.mark.process
def test_an_empty_clipboard_stays_empty_after_a_paste(kwin: WaylandSession, probe: Probe) -> None:
    # KWin reports no selection while nothing is copied: reading it must not hang, and
    # the restore must not leave Deskpilot's text behind.
    out = drive(kwin, "import subprocess\n"
                      "subprocess.run(['wl-copy', '--clear'], check=True)\n"
                      "computer = platform.computer(1)\n"
                      "act(LeftClick(coordinate=(0, 0)), 300, 30)\n"
                      "t = time.monotonic()\nact(Type(text='€'))\nms = (time.monotonic() - t) * 1000\n"
                      "print(json.dumps({'ms': ms, 'types': platform.clipboard().types()}))")
    probe.wait_for(lambda e: e == {"event": "text", "text": "€"})
    assert out["types"] == []


@pytest.mark.process
def test_a_capture_shows_the_window_as_drawn(kwin: WaylandSession, probe: Probe) -> None:
    out = drive(kwin, "screen = platform.screen(1)\nt = time.monotonic()\nframe = screen.capture()\n"
                      "ms = (time.monotonic() - t) * 1000\n"
                      "print(json.dumps({'ms': ms, 'size': frame.image.size, 'region': [frame.region.left, frame.region.top, frame.region.width, frame.region.height],"
                      " 'button': frame.image.getpixel((960, 600)), 'monitors': len(platform.screen(1).monitors())}))")
    assert out["size"] == [1920, 1080] and out["region"] == [0, 0, 1920, 1080] and out["monitors"] == 1
    red, green, blue = out["button"]  # type: ignore[misc]
    assert (red, green, blue) == pytest.approx((0xCC, 0x33, 0x22), abs=8)


@pytest.mark.process
def test_a_capture_reuses_the_settle_polls_frame_until_an_input_then_shows_the_input(
    kwin: WaylandSession, probe: Probe
) -> None:
    # The clock stands still, so only the inputs sent decide whether the polled frame is reused.
    out = drive(kwin, "import pathlib\n"
                      "from agent.computers.kde.desktop import KdeComputer, KdeScreen\n"
                      "seat, shot = platform._connected()\n"
                      "computer = KdeComputer(KdeScreen(1, seat, shot), seat, platform.clipboard(), clock=lambda: 0.0)\n"
                      "calls = []\nreal = shot.screen\n"
                      "shot.screen = lambda *a: calls.append(a) or real(*a)\n"
                      "act(LeftClick(coordinate=(0, 0)), 300, 30)\n"
                      f"log = pathlib.Path({str(probe.log)!r})\n"
                      "def seen(text):\n"
                      "    while f'\"text\": \"{text}\"' not in log.read_text():\n"
                      "        time.sleep(0.05)  # the probe writes its log from another process\n"
                      "computer.poll_image()\nbefore = computer.capture()\nreused = len(calls)\n"
                      "computer.poll_image()\nact(Type(text='WWWW'))\nseen('WWWW')\n"
                      "after = computer.capture()\n"
                      "box = (0, 0, 1920, 60)\n"
                      "changed = before.image.crop(box).tobytes() != after.image.crop(box).tobytes()\n"
                      "print(json.dumps({'reused': reused, 'calls': len(calls), 'changed': changed}))")
    assert out["reused"] == 1  # the poll's capture, and no other for the capture after it
    assert out["calls"] == 3  # a second poll, then the keys sent made the next capture a fresh one
    assert out["changed"] is True  # and it shows the typed text


@pytest.mark.process
@pytest.mark.parametrize("installed", [False, True])
def test_kwin_grants_input_and_capture_only_with_the_desktop_entry(installed: bool) -> None:
    if shutil.which("kwin_wayland") is None:
        pytest.skip("no headless KWin: kwin_wayland is not installed (scripts/install.sh --test installs it)")
    files = {".local/share/applications/deskpilot.desktop": desktop_entry(sys.executable)} if installed else {}
    code = ("import os\nfrom agent.computers.kde import KdePlatform\nfrom agent.errors import DisplayError\n"
            "platform = KdePlatform(os.environ)\n"
            "try:\n    print(platform.screen(1).capture().image.size)\n"
            "except DisplayError as err:\n    print(err)\n")
    with headless_kwin(trusting=False, files=files) as session:
        env = session.environ({"XDG_CURRENT_DESKTOP": "KDE", "PYTHONDONTWRITEBYTECODE": "1"})
        result = session.run([sys.executable, "-c", code], env, user=USER, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    if installed:
        assert result.stdout.strip() == "(1920, 1080)"
    else:
        assert result.stdout.startswith("KWin does not offer fake input to Deskpilot: its desktop entry is missing")


@pytest.mark.process
def test_the_kill_chord_pressed_through_kwin_reaches_the_run_and_is_removed_after(kwin: WaylandSession) -> None:
    out = drive(kwin, "import threading\n"
                      "fired = threading.Event(); seen = []\n"
                      "watch = platform.input_watching().watch_chord(('ctrl', 'alt', 'k'), "
                      "lambda: (seen.append(time.monotonic()), fired.set()), what='kill hotkey')\n"
                      "watch.start()\n"
                      "computer = platform.computer(1)\n"
                      "latencies = []\n"
                      "for _ in range(5):\n"
                      "    fired.clear(); t = time.monotonic()\n"
                      "    act(Key(keys=('ctrl', 'alt', 'k')))\n"
                      "    assert fired.wait(5), 'the chord never arrived'\n"
                      "    latencies.append((seen[-1] - t) * 1000)\n"
                      "stopped = watch.stop()\n"
                      "fired.clear(); act(Key(keys=('ctrl', 'alt', 'k')))\n"
                      "after = fired.wait(0.5)\n"
                      "again = platform.input_watching().watch_chord(('ctrl', 'alt', 'k'), lambda: None, what='kill hotkey')\n"
                      "again.start(); again.stop()\n"
                      "print(json.dumps({'ms': latencies, 'stopped': stopped, 'after_stop': after, 'alive': watch.is_alive()}))")
    assert len(out["ms"]) == 5 and max(out["ms"]) < 1000  # type: ignore[arg-type]
    assert out["stopped"] is True and out["alive"] is False
    assert out["after_stop"] is False  # removed with the run: the chord no longer fires


@pytest.mark.process
def test_a_scripted_run_clicks_the_button_and_types_unicode_into_the_field(kwin: WaylandSession, probe: Probe) -> None:
    from tests.support import DONE, call

    folder = Path(tempfile.mkdtemp(prefix="deskpilot-kde-run-", dir="/var/tmp"))
    folder.chmod(0o777)
    try:
        # Qwen3-VL points are 0..1000 of the 1920x1080 screen: the entry at (300, 30), the button at (960, 600).
        replies = [
            call('{"action": "left_click", "coordinate": [156, 28]}'),
            call('{"action": "type", "text": "打开 deskpilot é€"}'),
            call('{"action": "left_click", "coordinate": [500, 556]}'),
            DONE,
        ]
        (folder / "script.jsonl").write_text("".join(json.dumps({"reply": r}) + "\n" for r in replies))
        env = kwin.environ({"XDG_CURRENT_DESKTOP": "KDE", "PYTHONDONTWRITEBYTECODE": "1",
                            "DESKPILOT_CONFIG": str(folder / "no-such-config.toml")})
        result = kwin.run([sys.executable, "-m", "agent", "run", "type and open", "--script",
                           str(folder / "script.jsonl"), "--confirm", "never", "--history-dir",
                           str(folder / "history")], env, user=USER, timeout=120)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        events = probe.wait_for(lambda e: e["event"] == "clicked")
        assert {"event": "text", "text": "打开 deskpilot é€"} in events
        assert {"event": "press", "button": 1, "x": 960, "y": 600} in events
        assert list((folder / "history").glob("*/steps.jsonl")) or list((folder / "history").iterdir())
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def deskpilot_in(kwin: WaylandSession, folder: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m agent ARGS`` as KWin's user, in the KDE session, with no settings file."""
    env = kwin.environ({"XDG_CURRENT_DESKTOP": "KDE", "PYTHONDONTWRITEBYTECODE": "1",
                        "DESKPILOT_CONFIG": str(folder / "no-such-config.toml")})
    return kwin.run([sys.executable, "-m", "agent", *args], env, user=USER, timeout=timeout)


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    # Under /var/tmp (the session's /tmp is its own), writable by KWin's user.
    folder = Path(tempfile.mkdtemp(prefix="deskpilot-kde-", dir="/var/tmp"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.process
def test_macro_record_refuses_in_one_line_that_names_what_works(kwin: WaylandSession, shared_folder: Path) -> None:
    result = deskpilot_in(kwin, shared_folder, "macro", "record", str(shared_folder / "m.json"))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot see your mouse and keyboard" in lines[0], result.stderr
    assert "macro from-run" in lines[0] and not (shared_folder / "m.json").exists()


@pytest.mark.process
@pytest.mark.parametrize("how", ["the chord through KWin", "deskpilot stop"])
def test_the_kill_chord_or_deskpilot_stop_ends_a_run_with_no_action_after(
    kwin: WaylandSession, probe: Probe, shared_folder: Path, how: str
) -> None:
    from tests.support import DONE, call

    click = call('{"action": "left_click", "coordinate": [500, 556]}')
    replies = [click, call('{"action": "wait", "time": 30}'), click, click, DONE]
    (shared_folder / "script.jsonl").write_text("".join(json.dumps({"reply": r}) + "\n" for r in replies))
    env = kwin.environ({"XDG_CURRENT_DESKTOP": "KDE", "PYTHONDONTWRITEBYTECODE": "1",
                        "DESKPILOT_CONFIG": str(shared_folder / "no-such-config.toml")})
    run = kwin.spawn([sys.executable, "-m", "agent", "run", "click three times", "--script",
                      str(shared_folder / "script.jsonl"), "--confirm", "never", "--history-dir",
                      str(shared_folder / "history")], env, log=shared_folder / "run.log")
    try:
        probe.wait_for(lambda e: e["event"] == "clicked", 60)  # the first click: the run is in its wait
        pressed = time.monotonic()
        if how == "deskpilot stop":
            stopped = deskpilot_in(kwin, shared_folder, "stop")
            assert stopped.returncode == 0, stopped.stderr
        else:
            drive(kwin, "computer = platform.computer(1)\nact(Key(keys=('ctrl', 'alt', 'k')))\nprint('{}')")
        code = run.wait(30)
        stopped_in_s = time.monotonic() - pressed
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(5)
    assert code == 3, (shared_folder / "run.log").read_text()[-2000:]  # EXIT_STOPPED
    assert stopped_in_s < 10  # not the 30 s wait running out
    assert [e["event"] for e in probe.events()].count("clicked") == 1  # nothing after the chord


@pytest.mark.x11
@pytest.mark.process
def test_a_macro_recorded_on_x11_replays_on_kwin_where_kwin_placed_the_window(
    kwin: WaylandSession, shared_folder: Path, x_display: str
) -> None:
    """The wlroots tests' GTK window on the suite's Xvfb gives the macro's anchor; KWin places it elsewhere."""
    from agent.computers.x11.screen import MssScreen
    from agent.macros.anchors import make_anchor
    from agent.macros.schema import Macro, MacroStep, Monitor, save_macro

    window_probe = ROOT / "tests" / "apps" / "wayland_probe.py"
    button = (920, 440)  # the centre of that window's "Launch" button, in window coordinates
    x11_log = shared_folder / "x11-probe.log"
    x11 = subprocess.Popen(["/usr/bin/python3", str(window_probe), str(x11_log), "--at", "0,0"],
                           env={**os.environ, "GDK_BACKEND": "x11"}, stderr=subprocess.DEVNULL)
    try:
        Probe(x11_log).wait_for(lambda e: e["event"] == "ready", READY_TIMEOUT_S)
        frame = MssScreen(1).capture()
    finally:
        x11.kill()
        x11.wait(timeout=5)
    macro = shared_folder / "launch.json"
    save_macro(Macro(monitor=Monitor(width=frame.image.width, height=frame.image.height),
                     steps=[MacroStep(action={"action": "left_click", "x": button[0], "y": button[1]},
                                      anchor=make_anchor(frame.image, button))]), macro)
    macro.chmod(0o644)
    log = shared_folder / "kwin-probe.log"
    window = kwin.spawn(["/usr/bin/python3", str(window_probe), str(log)],
                        kwin.environ({"GDK_BACKEND": "wayland", "NO_AT_BRIDGE": "1", "PYTHONPATH": ""}))
    try:
        on_kwin = Probe(log)
        on_kwin.wait_for(lambda e: e["event"] == "ready", READY_TIMEOUT_S)
        result = deskpilot_in(kwin, shared_folder, "macro", "play", str(macro), "--confirm", "never",
                              "--history-dir", str(shared_folder / "history"))
        assert result.returncode == 0, result.stderr[-3000:]
        # KWin centres the window (about 310, 210 further), so the click is not where it was recorded.
        assert f"Click at ({button[0]}, {button[1]})" not in result.stdout + result.stderr
        events = on_kwin.wait_for(lambda e: e["event"] == "clicked")
        # Window coordinates (all a Wayland client knows): the button's centre, wherever KWin put it.
        assert [(e["x"], e["y"]) for e in events if e["event"] == "press"] == [button]
    finally:
        os.killpg(window.pid, signal.SIGKILL)
        window.wait(5)

"""The kill hotkey: chord parsing, and a real pynput listener under X fed by xdotool."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from agent.computers.x11.keys import PYNPUT_KEY_NAMES, pynput_hotkey_string
from agent.computers.x11.platform import X11InputWatching
from agent.errors import ConfigError, DisplayError
from agent.run.hotkey import DEFAULT_KILL_HOTKEY, KillSwitch, parse_hotkey
from tests.conftest import ROOT, xdotool


@pytest.mark.parametrize(
    ("chord", "keys"),
    [
        ("ctrl+alt+k", ("ctrl", "alt", "k")),
        ("Control+Alt+K", ("ctrl", "alt", "k")),
        ("alt+ctrl+k", ("ctrl", "alt", "k")),
        (" ctrl + alt + k ", ("ctrl", "alt", "k")),
        ("cmd+shift+x", ("shift", "super", "x")),
        ("win+Return", ("super", "enter")),
        ("ctrl+alt+del", ("ctrl", "alt", "delete")),
        ("ctrl+esc", ("ctrl", "escape")),
        ("super+F12", ("super", "f12")),
        ("ctrl+shift+pgdn", ("ctrl", "shift", "pagedown")),
        ("ctrl++", ("ctrl", "+")),
        ("alt+1", ("alt", "1")),
        (DEFAULT_KILL_HOTKEY, ("ctrl", "alt", "k")),
    ],
)
def test_parse_hotkey(chord: str, keys: tuple[str, ...]) -> None:
    assert parse_hotkey(chord) == keys


@pytest.mark.parametrize(
    ("chord", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("k", "needs ctrl, alt or super"),
        ("shift+k", "needs ctrl, alt or super"),
        ("ctrl+alt", "exactly one non-modifier key (it has 0)"),
        ("ctrl+a+b", "exactly one non-modifier key (it has 2)"),
        ("ctrl+ctrl+k", "'ctrl' appears twice"),
        ("ctrl+control+k", "'ctrl' appears twice"),
        ("ctrl+alt+bogus", "unknown key 'bogus'"),
        ("ctrl+f24", "cannot be used in a global hotkey"),
    ],
)
def test_parse_hotkey_rejects(chord: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        parse_hotkey(chord)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("keys", "spelled"),
    [
        (("ctrl", "alt", "k"), "<ctrl>+<alt>+k"),
        (("super", "escape"), "<cmd>+<esc>"),
        (("ctrl", "shift", "pageup"), "<ctrl>+<shift>+<page_up>"),
        (("alt", "volumemute"), "<alt>+<media_volume_mute>"),
        (("ctrl", "+"), "<ctrl>++"),
        (("ctrl", "<"), "<ctrl>+<"),
        (("Control", "Return"), "<ctrl>+<enter>"),
    ],
)
def test_pynput_hotkey_string(keys: tuple[str, ...], spelled: str) -> None:
    assert pynput_hotkey_string(keys) == spelled


def test_every_spelling_is_one_pynput_accepts(x_display: str) -> None:
    from pynput.keyboard import HotKey, Key, KeyCode

    for name in [*PYNPUT_KEY_NAMES, "k", "+", "<", "1"]:
        parts = HotKey.parse(pynput_hotkey_string(("ctrl", "alt", name)))
        assert parts[:2] == [Key.ctrl, Key.alt]
        assert isinstance(parts[2], KeyCode)


# -- under X ------------------------------------------------------------------------------




@pytest.fixture(autouse=True)
def no_listener_outlives_its_test(no_thread_leaks: None) -> None:
    """Every listener thread a test starts must have ended when it returns."""


class Triggers:
    """Records kill-switch firings; a test waits on it instead of sleeping."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.event = threading.Event()

    def __call__(self) -> None:
        self.times.append(time.monotonic())
        self.event.set()

    def wait(self, timeout: float = 5.0) -> bool:
        fired = self.event.wait(timeout)
        self.event.clear()
        return fired


def test_the_chord_fires_and_stop_ends_the_thread(x_display: str) -> None:
    triggers = Triggers()
    switch = KillSwitch(DEFAULT_KILL_HOTKEY, triggers, X11InputWatching())
    switch.start()
    try:
        latencies = []
        for _ in range(3):
            sent = time.monotonic()
            xdotool("key", "ctrl+alt+k")
            assert triggers.wait(), "the kill hotkey did not fire"
            latencies.append(triggers.times[-1] - sent)
        print(f"\nkill hotkey latency (xdotool start to callback): {', '.join(f'{t * 1000:.0f} ms' for t in latencies)}")  # noqa: T201 (reports a measurement)
    finally:
        stopping = time.monotonic()
        switch.stop()
        stopped = time.monotonic() - stopping
    assert switch.watch is not None
    assert not switch.watch.is_alive()
    print(f"stop() returned with the thread ended in {stopped * 1000:.1f} ms")  # noqa: T201 (reports a measurement)
    assert stopped < 1.0
    assert len(triggers.times) == 3


def test_other_chords_do_not_fire(x_display: str) -> None:
    triggers = Triggers()
    with KillSwitch("ctrl+alt+k", triggers, X11InputWatching()) as switch:
        for other in ("ctrl+alt+j", "ctrl+k", "alt+k", "k", "ctrl+shift+k", "super+k", "ctrl+alt+shift+j"):
            xdotool("key", other)
        xdotool("key", "ctrl+alt+k")
        # Events arrive in order, so once the real chord fired every other chord was seen.
        assert triggers.wait()
        assert len(triggers.times) == 1
    assert switch.watch is not None and not switch.watch.is_alive()


def test_a_named_key_chord_fires(x_display: str) -> None:
    triggers = Triggers()
    with KillSwitch("super+escape", triggers, X11InputWatching()):
        xdotool("key", "Escape")
        xdotool("key", "super+Escape")
        assert triggers.wait()
        assert len(triggers.times) == 1


def test_a_failing_handler_does_not_disarm_the_switch(x_display: str) -> None:
    calls: list[float] = []
    fired = threading.Event()

    def handler() -> None:
        calls.append(time.monotonic())
        fired.set()
        if len(calls) == 1:
            raise RuntimeError("handler bug")

    with KillSwitch("ctrl+alt+k", handler, X11InputWatching()):
        xdotool("key", "ctrl+alt+k")
        assert fired.wait(5)
        fired.clear()
        xdotool("key", "ctrl+alt+k")
        assert fired.wait(5)
    assert len(calls) == 2


def test_stop_and_restart(x_display: str) -> None:
    triggers = Triggers()
    switch = KillSwitch("ctrl+alt+k", triggers, X11InputWatching())
    switch.stop()  # stopping before starting is harmless
    switch.start()
    switch.start()  # and starting twice keeps one listener
    first = switch.watch
    switch.stop()
    switch.stop()
    assert first is not None and not first.is_alive()
    with switch:
        assert switch.watch is not first
        xdotool("key", "ctrl+alt+k")
        assert triggers.wait()


@pytest.mark.process
@pytest.mark.parametrize(("display", "message"), [(None, "no display"), (":4242", "cannot listen for the kill hotkey")])
def test_no_display_is_a_one_line_display_error(display: str | None, message: str) -> None:
    code = (
        "from agent.computers.x11.platform import X11InputWatching\n"
        "from agent.run.hotkey import KillSwitch\n"
        "from agent.errors import DisplayError\n"
        "try:\n    KillSwitch('ctrl+alt+k', lambda: None, X11InputWatching()).start()\n"
        "except DisplayError as e:\n    print('DisplayError:', e)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    if display is not None:
        env["DISPLAY"] = display
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("DisplayError:")
    assert message in result.stdout
    assert result.stdout.count("\n") == 1
    assert DisplayError.__name__ in result.stdout

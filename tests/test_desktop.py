"""The desktop computer against a real X server: capture, clicks, keys and typing.

Every check reads what a real program received (a Qt probe window, xterm, xclip,
xdotool), never what our code believes it did.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.actions import Key, LeftClick, LeftClickDrag, MouseMove, ScreenAction, Type, Wait
from agent.computers.x11.screen import MssScreen
from agent.errors import CursorMismatchError, StoppedError
from agent.geometry import Region
from tests.apps.text_windows import user_copies, xclip_out
from tests.conftest import require_program, xdotool
from tests.support import display_size, wait_until


@pytest.fixture
def desktop(x_display: str) -> Iterator[object]:
    from agent.computers.x11.desktop import DesktopComputer

    xdotool("mousemove", "960", "540")
    yield DesktopComputer(1)
    # Keep the pointer out of the fail-safe corners for whatever runs next.
    xdotool("mousemove", "960", "540")


def act(action: object, x: int | None = None, y: int | None = None) -> ScreenAction:
    return ScreenAction(action=action, x=x, y=y)


def test_capture_returns_the_pixels_of_a_real_window(probe, x_display: str) -> None:
    app = probe("--geometry", "300x200+200+150", "--colour", "#12c034")
    assert (app.ready["x"], app.ready["y"]) == (200, 150)
    screen = MssScreen(1)
    assert wait_until(lambda: screen.capture().image.getpixel((350, 250)) == (0x12, 0xC0, 0x34))
    frame = screen.capture()
    assert frame.region == Region(0, 0, *display_size())
    assert frame.image.size == display_size()
    assert frame.image.getpixel((200, 150)) == (0x12, 0xC0, 0x34)  # top-left pixel is the window's
    assert frame.image.getpixel((499, 349)) == (0x12, 0xC0, 0x34)  # bottom-right too
    assert frame.image.getpixel((199, 150)) != (0x12, 0xC0, 0x34)
    assert frame.image.getpixel((500, 349)) != (0x12, 0xC0, 0x34)

    region_frame = MssScreen(Region(200, 150, 300, 200)).capture()
    assert region_frame.image.size == (300, 200)
    assert region_frame.image.getcolors() == [(300 * 200, (0x12, 0xC0, 0x34))]


def test_click_lands_where_the_window_records_it(probe, desktop) -> None:
    app = probe("--geometry", "400x300+700+300", "--colour", "#3050f0")
    desktop.perform(act(LeftClick(coordinate=(0, 0)), 812, 440))
    press = app.wait_for("press")
    assert (press["x"], press["y"], press["button"]) == (812, 440, "LeftButton")
    desktop.perform(act(LeftClick(coordinate=(0, 0)), 700, 300))  # the window's own corner pixel
    press = app.wait_for("press")
    assert (press["x"], press["y"]) == (700, 300)


def test_mouse_move_puts_the_pointer_there(desktop) -> None:
    desktop.perform(act(MouseMove(coordinate=(0, 0)), 123, 456))
    assert xdotool("getmouselocation", "--shell").splitlines()[:2] == ["X=123", "Y=456"]


def test_click_is_refused_when_the_pointer_cannot_get_there(probe, desktop) -> None:
    app = probe("--geometry", "300x300+1620+300", "--colour", "#ff00ff")
    with pytest.raises(CursorMismatchError, match="not clicking"):
        desktop.perform(act(LeftClick(coordinate=(0, 0)), 5000, 400))
    # The X server clamped the pointer onto the probe window; no click may arrive there.
    desktop.perform(act(LeftClick(coordinate=(0, 0)), 1700, 350))
    assert (app.wait_for("press")["x"], app.events.empty()) == (1700, True)


def test_drag_moves_from_the_pointer_to_the_target(probe, desktop) -> None:
    app = probe("--geometry", "400x300+100+600", "--colour", "#808000")
    desktop.perform(act(MouseMove(coordinate=(0, 0)), 150, 650))
    desktop.perform(act(LeftClickDrag(coordinate=(0, 0)), 400, 800))
    press = app.wait_for("press")
    assert (press["x"], press["y"]) == (150, 650)
    assert xdotool("getmouselocation", "--shell").splitlines()[:2] == ["X=400", "Y=800"]


@pytest.fixture
def edit_window(probe, desktop):
    app = probe("--edit", "--geometry", "600x80+600+200")
    # No window manager: focus follows the pointer, so click into the field first.
    desktop.perform(act(LeftClick(coordinate=(0, 0)), 900, 240))
    return app


@pytest.mark.parametrize(
    "text",
    ["plain ascii: <a href='x'>&amp;</a> ~`|\\{}", "你好，世界 打开浏览器", "café crème €5 — naïve", "emoji 🙂 mixed ä 日本"],
)
def test_typing_arrives_intact_in_a_qt_line_edit(edit_window, desktop, xclip_owned, text: str) -> None:
    desktop.perform(act(Type(text=text + "\n")))
    assert edit_window.wait_for("text")["text"] == text


def test_typing_restores_the_users_clipboard(edit_window, desktop, xclip_owned) -> None:
    require_program("xclip")
    owners = [user_copies("clipboard", "my precious notes"), user_copies("primary", "selected words")]
    try:
        desktop.perform(act(Type(text="中文输入\n")))
        assert edit_window.wait_for("text")["text"] == "中文输入"
        assert (xclip_out("clipboard"), xclip_out("primary")) == ("my precious notes", "selected words")
    finally:
        for proc in owners:
            proc.terminate()
            proc.wait(timeout=10)


def test_key_chord_reaches_the_application(edit_window, desktop) -> None:
    desktop.perform(act(Type(text="hello world")))
    desktop.perform(act(Key(keys=("ctrl", "a"))))
    desktop.perform(act(Type(text="replaced")))
    desktop.perform(act(Key(keys=("enter",))))
    assert edit_window.wait_for("text")["text"] == "replaced"


def test_typing_into_a_real_xterm(desktop, xclip_owned, tmp_path: Path) -> None:
    require_program("xterm")
    out = tmp_path / "typed.txt"
    env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
    term = subprocess.Popen(
        ["xterm", "-u8", "-T", "deskpilot-xterm", "-geometry", "80x10+300+500", "-e", "sh", "-c", f"cat > {out}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        xdotool("search", "--sync", "--onlyvisible", "--name", "deskpilot-xterm")
        desktop.perform(act(LeftClick(coordinate=(0, 0)), 500, 560))
        line = "echo <ok> & 'quoted' 你好 café"
        desktop.perform(act(Type(text=line + "\n")))
        assert wait_until(lambda: out.exists() and out.read_text("utf-8") == line + "\n"), (
            out.read_text("utf-8") if out.exists() else "no file"
        )
    finally:
        term.terminate()
        term.wait(timeout=10)


def test_stop_interrupts_a_wait_and_blocks_later_actions(edit_window, desktop) -> None:
    timer = threading.Timer(0.2, desktop.cancel.set)
    timer.start()
    started = time.monotonic()
    with pytest.raises(StoppedError):
        desktop.perform(act(Wait(time=30)))
    assert time.monotonic() - started < 5
    with pytest.raises(StoppedError):
        desktop.perform(act(Type(text="must not arrive\n")))
    desktop.cancel.clear()
    desktop.perform(act(Type(text="after\n")))
    assert edit_window.wait_for("text")["text"] == "after"


def test_a_chord_cut_short_releases_what_it_pressed(edit_window, desktop) -> None:
    calls = {"n": 0}

    def stop_on_second() -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise StoppedError("stop")

    with pytest.raises(StoppedError):
        desktop._keyboard.chord(("shift", "a"), before_each=stop_on_second)
    # Had shift stayed down, this would arrive upper-case.
    desktop.perform(act(Type(text="abc\n")))
    assert edit_window.wait_for("text")["text"] == "abc"


def test_the_pointer_in_a_corner_is_the_fail_safe_stop(probe, desktop) -> None:
    app = probe("--geometry", "300x300+100+100")
    xdotool("mousemove", "0", "0")
    with pytest.raises(StoppedError, match="fail-safe"):
        desktop.perform(act(LeftClick(coordinate=(0, 0)), 200, 200))
    desktop.release_all()  # must not trip the fail-safe itself
    xdotool("mousemove", "960", "540")
    desktop.perform(act(LeftClick(coordinate=(0, 0)), 250, 250))
    assert (app.wait_for("press")["x"], app.events.empty()) == (250, True)


def test_release_all_never_switches_the_fail_safe_off(probe, desktop) -> None:
    """Another thread driving the pointer must keep the corner fail-safe during a release."""

    class WatchedGui:
        def __init__(self, gui: object) -> None:
            object.__setattr__(self, "_gui", gui)
            object.__setattr__(self, "writes", [])

        def __getattr__(self, name: str) -> object:
            return getattr(self._gui, name)

        def __setattr__(self, name: str, value: object) -> None:
            self.writes.append((name, value))
            setattr(self._gui, name, value)

    app = probe("--geometry", "300x300+100+100")
    watched = WatchedGui(desktop._gui)
    desktop._gui = watched
    xdotool("mousemove", "200", "200")
    xdotool("mousedown", "1")  # a button left held, as after a stopped drag
    desktop.release_all()
    assert watched.writes == []
    assert app.wait_for("press")["x"] == 200
    # The button is up again: a fresh click arrives as a new press, not as part of a drag.
    xdotool("click", "1")
    assert app.wait_for("press")["x"] == 200

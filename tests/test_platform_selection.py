"""The selection point: which platform each session gets, the refusal's wording, capabilities and the fake."""

from __future__ import annotations

import threading

import pytest

from agent.computers.platform import Capabilities, Capability, InputHandlers
from agent.computers.selection import (
    NO_DISPLAY,
    WAYLAND_REFUSAL,
    RegistryProbe,
    Verdict,
    choose_platform,
    select_platform,
)
from agent.errors import ConfigError, DisplayError, UnsupportedDesktopError
from agent.geometry import Region
from agent.testing.platform import FakePlatform

X, W, NONE, WLR, G, KDE = Verdict.X11, Verdict.WAYLAND, Verdict.NO_DISPLAY, Verdict.WLROOTS, Verdict.GNOME, Verdict.KDE


@pytest.mark.parametrize(
    ("environ", "override", "verdict", "display"),
    [
        # Plain X11 sessions, Xvfb, ssh -X: DISPLAY alone.
        ({"DISPLAY": ":0"}, None, X, ":0"),
        ({"XDG_SESSION_TYPE": "x11", "DISPLAY": ":1"}, None, X, ":1"),
        # A Wayland login keeps DISPLAY for Xwayland: still Wayland, whatever DISPLAY says.
        ({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, None, W, ":0"),
        ({"XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0"}, None, W, ":0"),
        ({"XDG_SESSION_TYPE": "Wayland ", "DISPLAY": ":0"}, None, W, ":0"),
        ({"XDG_SESSION_TYPE": "wayland"}, None, W, ""),
        # No session type (a tty, sway started by hand): a compositor socket means Wayland.
        ({"WAYLAND_DISPLAY": "wayland-1", "DISPLAY": ":0"}, None, W, ":0"),
        ({"XDG_SESSION_TYPE": "tty", "WAYLAND_DISPLAY": "wayland-1"}, None, W, ""),
        ({"XDG_SESSION_TYPE": "tty", "DISPLAY": ":3"}, None, X, ":3"),
        # The session type wins over a nested compositor inside an X11 session.
        ({"XDG_SESSION_TYPE": "x11", "WAYLAND_DISPLAY": "wayland-1", "DISPLAY": ":0"}, None, X, ":0"),
        # Nothing to drive.
        ({}, None, NONE, ""),
        ({"XDG_SESSION_TYPE": "x11"}, None, NONE, ""),
        ({"DISPLAY": ""}, None, NONE, ""),
        # Overrides: Xvfb started inside a Wayland login, or a forced refusal.
        ({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "w", "DISPLAY": ":99"}, "x11", X, ":99"),
        ({"XDG_SESSION_TYPE": "wayland", "DISPLAY": ":99", "DESKPILOT_PLATFORM": "x11"}, None, X, ":99"),
        ({"XDG_SESSION_TYPE": "wayland", "DESKPILOT_PLATFORM": "x11"}, None, NONE, ""),
        ({"DISPLAY": ":0"}, "wayland", W, ":0"),
        ({"DISPLAY": ":0", "DESKPILOT_PLATFORM": "x11"}, "wayland", W, ":0"),  # the argument wins
        # wlroots compositors by desktop name (XDG_CURRENT_DESKTOP may list several).
        ({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-1", "XDG_CURRENT_DESKTOP": "sway"}, None, WLR, ""),
        ({"WAYLAND_DISPLAY": "wayland-1", "XDG_CURRENT_DESKTOP": "Hyprland", "DISPLAY": ":0"}, None, WLR, ":0"),
        ({"XDG_SESSION_TYPE": "wayland", "XDG_CURRENT_DESKTOP": "river:wlroots"}, None, WLR, ""),
        ({"XDG_SESSION_TYPE": "wayland", "XDG_CURRENT_DESKTOP": "GNOME"}, None, W, ""),
        # A desktop name says nothing about X11 sessions.
        ({"XDG_SESSION_TYPE": "x11", "DISPLAY": ":0", "XDG_CURRENT_DESKTOP": "sway"}, None, X, ":0"),
        # Overrides by name: the backend needs its compositor's socket.
        ({"WAYLAND_DISPLAY": "wayland-1", "DISPLAY": ":0"}, "wlroots", WLR, ":0"),
        ({"DISPLAY": ":0", "DESKPILOT_PLATFORM": "wlroots"}, None, NONE, ""),
        # KDE Plasma on Wayland: XDG_CURRENT_DESKTOP lists KDE.
        ({"XDG_SESSION_TYPE": "wayland", "XDG_CURRENT_DESKTOP": "KDE", "DISPLAY": ":0"}, None, KDE, ":0"),
        ({"XDG_SESSION_TYPE": "wayland", "XDG_CURRENT_DESKTOP": "kde:plasma"}, None, KDE, ""),
        ({"XDG_SESSION_TYPE": "wayland", "XDG_CURRENT_DESKTOP": "KDEX"}, None, W, ""),  # a list, not a prefix
        # Plasma's X11 session stays X11, and an override wins over the desktop.
        ({"XDG_SESSION_TYPE": "x11", "XDG_CURRENT_DESKTOP": "KDE", "DISPLAY": ":0"}, None, X, ":0"),
        ({"XDG_SESSION_TYPE": "wayland", "XDG_CURRENT_DESKTOP": "KDE", "DISPLAY": ":9"}, "x11", X, ":9"),
        ({"XDG_SESSION_TYPE": "wayland", "XDG_CURRENT_DESKTOP": "KDE"}, "wayland", W, ""),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "kde", KDE, ""),
        ({"DISPLAY": ":0", "DESKPILOT_PLATFORM": "kde"}, None, NONE, ""),
    ],
)
def test_choose_platform(environ: dict[str, str], override: str | None, verdict: Verdict, display: str) -> None:
    choice = choose_platform(environ, override, system="linux")
    assert (choice.verdict, choice.display) == (verdict, display), choice.reason
    assert choice.reason


GNOME_LOGIN = {"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}


@pytest.mark.parametrize(
    ("environ", "override", "on_bus", "verdict"),
    [
        # GNOME with Mutter's RemoteDesktop or the portal on the bus: the gnome backend.
        (GNOME_LOGIN | {"XDG_CURRENT_DESKTOP": "GNOME"}, None, True, G),
        (GNOME_LOGIN | {"XDG_CURRENT_DESKTOP": "ubuntu:GNOME"}, None, True, G),
        ({"WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "GNOME-Classic:GNOME"}, None, True, G),
        # GNOME named, but neither Mutter's API nor the portal (a nested or older shell): still refused.
        (GNOME_LOGIN | {"XDG_CURRENT_DESKTOP": "GNOME"}, None, False, W),
        # Mutter on the bus, but another desktop (or none) named: not guessed.
        (GNOME_LOGIN | {"XDG_CURRENT_DESKTOP": "KDE"}, None, True, KDE),  # KDE has its own backend
        (GNOME_LOGIN, None, True, W),
        # An X11 GNOME session stays X11 whatever is on the bus.
        ({"XDG_SESSION_TYPE": "x11", "DISPLAY": ":0", "XDG_CURRENT_DESKTOP": "GNOME"}, None, True, X),
        # Overrides.
        (GNOME_LOGIN | {"XDG_CURRENT_DESKTOP": "GNOME"}, "x11", True, X),
        ({"WAYLAND_DISPLAY": "w"}, "gnome", False, G),
        ({"DESKPILOT_PLATFORM": "gnome", "WAYLAND_DISPLAY": "w"}, None, False, G),
        ({"DESKPILOT_PLATFORM": "gnome"}, None, False, NONE),  # a Wayland backend needs a compositor
    ],
)
def test_choose_gnome(environ: dict[str, str], override: str | None, on_bus: bool, verdict: Verdict) -> None:
    asked: list[bool] = []

    def gnome_on_bus() -> bool:
        asked.append(True)
        return on_bus

    choice = choose_platform(environ, override, system="linux", gnome_on_bus=gnome_on_bus)
    assert choice.verdict == verdict, choice.reason
    # The bus is asked only when the session names GNOME (it costs a connection).
    names_gnome = "GNOME" in environ.get("XDG_CURRENT_DESKTOP", "") and override is None
    assert bool(asked) == (names_gnome and environ.get("XDG_SESSION_TYPE") != "x11")


def test_a_gnome_choice_builds_the_gnome_platform_without_connecting() -> None:
    platform = select_platform({"DESKPILOT_PLATFORM": "gnome", "WAYLAND_DISPLAY": "wayland-0"})
    assert platform.name == "gnome"
    assert not platform.capabilities.can(Capability.READ_POINTER)
    assert not platform.capabilities.can(Capability.RECORD_INPUT)
    assert not platform.capabilities.can(Capability.GLOBAL_KEYS)


def test_other_systems_use_the_native_backend_whatever_the_variables() -> None:
    for system in ("win32", "darwin"):
        assert choose_platform({}, system=system).verdict is X


@pytest.mark.parametrize(("environ", "override"), [({"DESKPILOT_PLATFORM": "beos"}, None), ({}, "mir")])
def test_an_unknown_platform_name_is_bad_input(environ: dict[str, str], override: str | None) -> None:
    with pytest.raises(ConfigError, match="unknown platform") as err:
        choose_platform(environ, override, system="linux")
    assert "x11, wlroots, gnome, kde, wayland" in str(err.value)


def test_a_wayland_session_is_refused_in_one_line_that_says_what_works() -> None:
    env = {"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}
    with pytest.raises(UnsupportedDesktopError) as err:
        select_platform(env)
    message = str(err.value)
    assert message == WAYLAND_REFUSAL and "\n" not in message
    assert message.startswith("this is a Wayland session whose compositor Deskpilot cannot drive yet")
    assert "sway, Hyprland, river" in message
    assert "X11 (Xorg), GNOME, Plasma or sway session" in message and "DESKPILOT_PLATFORM=x11 xvfb-run" in message
    # A refusal is a display problem: the CLI maps it to exit 2 like every other.
    assert isinstance(err.value, DisplayError)


def test_a_kde_session_gets_the_kde_platform_without_connecting() -> None:
    # No compositor at that socket: building the platform must not connect.
    env = {"XDG_SESSION_TYPE": "wayland", "XDG_CURRENT_DESKTOP": "KDE", "WAYLAND_DISPLAY": "wayland-87"}
    platform = select_platform(env)
    assert platform.name == "kde"
    assert not platform.capabilities.can(Capability.RECORD_INPUT)


def test_no_display_says_what_it_said_before_the_seam() -> None:
    with pytest.raises(DisplayError) as err:
        select_platform({})
    assert str(err.value) == NO_DISPLAY == "no display: DISPLAY is not set (start an X session or Xvfb)"


def test_an_x11_session_gets_the_x11_platform_without_connecting() -> None:
    # ":87" has no server: building the platform must not open the display.
    platform = select_platform({"DISPLAY": ":87"})
    assert platform.name == "x11"
    assert platform.describe().startswith("x11 (DISPLAY=:87; can capture, act, read the pointer")
    assert not platform.capabilities.missing


def test_capabilities_say_in_plain_words_what_is_missing() -> None:
    caps = Capabilities(frozenset({Capability.RECORD_INPUT, Capability.READ_POINTER}))
    assert not caps.can(Capability.READ_POINTER) and caps.can(Capability.CLIPBOARD)
    words = caps.cannot()
    assert len(words) == 2 and words[0].startswith("cannot read where the pointer is")
    assert "macro from-run" in words[1]
    assert caps.summary().endswith("; cannot read the pointer, record input")
    assert Capabilities().cannot() == ()


def test_the_fake_platform_serves_every_concern() -> None:
    platform = FakePlatform(active_window=Region(10, 10, 100, 50))
    stop = threading.Event()
    computer = platform.computer(cancel=stop)
    assert platform.screen().capture().region == computer.monitors()[0] == Region(0, 0, 1920, 1080)
    pasted: list[str] = []
    platform.clipboard().paste("é", lambda: pasted.append("key"))
    assert pasted == ["key"] and platform.fake_clipboard.pasted == ["é"]
    assert platform.active_window_region() == Region(10, 10, 100, 50)
    fired: list[str] = []
    watching = platform.input_watching()
    chord = watching.watch_chord(("ctrl", "alt", "k"), lambda: fired.append("chord"), what="kill hotkey")
    clicks = watching.watch_input(InputHandlers(on_button=lambda x, y, b, p: fired.append(f"{b} {p}")), what="t")
    watching.press_chord(("ctrl", "alt", "k"))  # not started yet: nothing
    chord.start()
    clicks.start()
    watching.press_chord(("ctrl", "alt", "k"))
    watching.click(5, 5)
    assert fired == ["chord", "left True", "left False"]
    assert chord.stop() and not chord.is_alive()
    with platform.acting_mark().acting():
        assert platform.acting_mark().active()
    assert not platform.mark.active() and platform.mark.marked == 1


def offering(*interfaces: str) -> RegistryProbe:
    return lambda environ: frozenset(interfaces)


WLR_GLOBALS = ("zwlr_screencopy_manager_v1", "zwlr_virtual_pointer_manager_v1", "wl_seat")
KWIN_GLOBALS = ("org_kde_kwin_server_decoration_manager", "org_kde_plasma_virtual_desktop_management", "wl_seat")


@pytest.mark.parametrize(
    ("environ", "offered", "verdict"),
    [
        # No desktop name: the compositor's registry says what it is.
        ({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-1"}, WLR_GLOBALS, WLR),
        ({"WAYLAND_DISPLAY": "wayland-1"}, WLR_GLOBALS, WLR),
        ({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-1"}, ("zwlr_screencopy_manager_v1",), W),
        ({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-1"}, (), W),
        # Without a socket there is nothing to ask.
        ({"XDG_SESSION_TYPE": "wayland"}, WLR_GLOBALS, W),
        # KWin (what it shows a client its desktop entry does not whitelist); sway also
        # offers the decoration manager, and stays wlroots.
        ({"WAYLAND_DISPLAY": "wayland-0"}, KWIN_GLOBALS, KDE),
        ({"WAYLAND_DISPLAY": "wayland-0"}, KWIN_GLOBALS[:1], W),
        ({"WAYLAND_DISPLAY": "wayland-0"}, (*WLR_GLOBALS, "org_kde_kwin_server_decoration_manager"), WLR),
    ],
)
def test_the_registry_decides_when_the_desktop_name_does_not(
    environ: dict[str, str], offered: tuple[str, ...], verdict: Verdict
) -> None:
    assert choose_platform(environ, system="linux", probe=offering(*offered)).verdict is verdict


def test_a_wlroots_session_gets_the_wlroots_platform_without_connecting() -> None:
    env = {"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "no-such-socket", "XDG_CURRENT_DESKTOP": "sway"}
    platform = select_platform(env)
    assert platform.name == "wlroots"
    assert platform.describe().startswith("wlroots (WAYLAND_DISPLAY=no-such-socket, no sway IPC; can capture, act")
    assert {Capability.READ_POINTER, Capability.RECORD_INPUT, Capability.GLOBAL_KEYS, Capability.WINDOW_TITLES} <= (
        platform.capabilities.missing
    )
    with pytest.raises(DisplayError, match="no sway IPC.*--no-kill-chord"):
        platform.input_watching().watch_chord(("ctrl", "alt", "k"), lambda: None, what="kill hotkey").start()
    with pytest.raises(DisplayError, match="macro from-run"):
        platform.input_watching().watch_input(InputHandlers(), what="recorder").start()

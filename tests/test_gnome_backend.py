"""Which GNOME API drives (Mutter's or the portal's), the override, and the portal's refusal of untypeable text.

Pure decisions and a fake session; the real portal is driven in tests/test_gnome_portal.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from agent.actions import ScreenAction, Type
from agent.computers.gnome.backend import NEITHER, choose_backend, forced_backend
from agent.computers.gnome.desktop import GnomeComputer
from agent.computers.gnome.portal import NO_UNICODE, NoPaste
from agent.computers.selection import select_platform
from agent.errors import ActionError, ConfigError, UnsupportedDesktopError

OK = None


@pytest.mark.parametrize(
    ("forced", "mutter", "portal", "kind"),
    [
        (None, OK, OK, "mutter"),  # Mutter's API as driven: no dialog
        (None, OK, "no portal", "mutter"),
        (None, "RemoteDesktop version 0", OK, "portal"),  # an API that changed: the portal
        (None, "its session lacks SelectionRead", OK, "portal"),
        (None, "no org.gnome.Mutter.RemoteDesktop", OK, "portal"),  # a GNOME without it
        ("portal", OK, OK, "portal"),  # forced, for tests and users
        ("mutter", "no org.gnome.Mutter.RemoteDesktop", OK, "mutter"),  # forced: its start says why
    ],
)
def test_choose_backend(forced: str | None, mutter: str | None, portal: str | None, kind: str) -> None:
    asked: list[str] = []

    def probe(name: str, problem: str | None) -> Callable[[], str | None]:
        def ask() -> str | None:
            asked.append(name)
            return problem

        return ask

    chosen = choose_backend(forced, probe("mutter", mutter), probe("portal", portal))  # type: ignore[arg-type]
    assert chosen.kind == kind
    if kind == "portal" and forced is None:
        assert mutter is not None and mutter in chosen.reason  # doctor says why Mutter's API is not used
    assert asked == ([] if forced else ["mutter"] if mutter is None else ["mutter", "portal"])


def test_neither_api_is_one_line_naming_both_reasons() -> None:
    with pytest.raises(UnsupportedDesktopError) as err:
        choose_backend(None, lambda: "no org.gnome.Mutter.RemoteDesktop", lambda: "no portal")
    assert str(err.value) == NEITHER.format(mutter="no org.gnome.Mutter.RemoteDesktop", portal="no portal")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("value", "forced"), [("", None), ("portal", "portal"), (" Mutter ", "mutter")])
def test_the_override_variable(value: str, forced: str | None) -> None:
    assert forced_backend({"DESKPILOT_GNOME_BACKEND": value}) == forced


def test_an_unknown_override_is_bad_input_before_anything_connects() -> None:
    env = {"DESKPILOT_PLATFORM": "gnome", "WAYLAND_DISPLAY": "wayland-0", "DESKPILOT_GNOME_BACKEND": "portl"}
    with pytest.raises(ConfigError, match="unknown GNOME backend 'portl' \\(known: mutter, portal\\)"):
        select_platform(env)


class FakeSession:
    """The surface GnomeComputer drives, recording every call."""

    area = (0, 0, 1920, 1080)

    def __init__(self, has_clipboard: bool) -> None:
        self.has_clipboard = has_clipboard
        self.sent: list[tuple[str, int, bool]] = []

    def motion(self, x: float, y: float) -> None:
        self.sent.append(("motion", int(x), True))

    def button(self, evdev_button: int, pressed: bool) -> None:
        self.sent.append(("button", evdev_button, pressed))

    def scroll_steps(self, axis: int, steps: int) -> None:
        self.sent.append(("scroll", steps, True))

    def keycode(self, evdev_code: int, pressed: bool) -> None:
        self.sent.append(("keycode", evdev_code, pressed))

    def keysym(self, keysym: int, pressed: bool) -> None:
        self.sent.append(("keysym", keysym, pressed))


class FakeReader:
    def close(self) -> None:
        pass


def computer(session: FakeSession) -> GnomeComputer:
    return GnomeComputer(session, FakeReader(), NoPaste())  # type: ignore[arg-type]


def test_on_the_portal_text_outside_the_layout_is_refused_whole_before_any_key() -> None:
    session = FakeSession(has_clipboard=False)
    with pytest.raises(ActionError) as err:
        computer(session).perform(ScreenAction(action=Type(text="ab\né€é x")))
    assert str(err.value) == NO_UNICODE.format(chars="'é€'")
    assert session.sent == []  # not even the "ab" before it


def test_on_the_portal_layout_text_is_typed_as_keysyms() -> None:
    session = FakeSession(has_clipboard=False)
    computer(session).perform(ScreenAction(action=Type(text="a!")))
    assert [s for s in session.sent if s[0] == "keysym"] == [
        ("keysym", ord("a"), True), ("keysym", ord("a"), False), ("keysym", ord("!"), True), ("keysym", ord("!"), False)
    ]


def test_the_portal_clipboard_refuses_to_paste() -> None:
    with pytest.raises(ActionError, match="no clipboard"):
        NoPaste().paste("日本", lambda: None)
    assert isinstance(NoPaste().cancel, threading.Event)

"""Which API drives a GNOME session: Mutter's own (no dialog) or the desktop portal (a dialog every run).

Mutter's ``org.gnome.Mutter.RemoteDesktop`` is private: it is used only when its
``Version`` and its session's method list are what this backend calls. Otherwise the
xdg-desktop-portal's RemoteDesktop + ScreenCast, when the portal offers both; else
one line says why neither can be used. ``DESKPILOT_GNOME_BACKEND`` (``mutter`` or
``portal``) forces one, for tests and for users whose Mutter API misbehaves.
``choose_backend`` is the pure decision (the probes are passed in); ``probe_backend``
asks the session bus.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from agent.errors import ConfigError, UnsupportedDesktopError

BACKEND_VARIABLE = "DESKPILOT_GNOME_BACKEND"
BACKENDS = ("mutter", "portal")
NEITHER = (
    "this GNOME session offers neither Mutter's RemoteDesktop API ({mutter}) nor the desktop portal's "
    "RemoteDesktop and ScreenCast ({portal}), so Deskpilot cannot drive it "
    "(install xdg-desktop-portal-gnome, or log in to an X11 session)"
)

Kind = Literal["mutter", "portal"]


@dataclass(frozen=True)
class GnomeBackend:
    """The API chosen, and why (in words doctor shows)."""

    kind: Kind
    reason: str


def forced_backend(environ: Mapping[str, str]) -> Kind | None:
    """``DESKPILOT_GNOME_BACKEND`` when set; ConfigError (one line) for an unknown value."""
    wanted = environ.get(BACKEND_VARIABLE, "").strip().lower()
    if not wanted:
        return None
    if wanted == "mutter":
        return "mutter"
    if wanted == "portal":
        return "portal"
    raise ConfigError(f"{BACKEND_VARIABLE}: unknown GNOME backend {wanted!r} (known: {', '.join(BACKENDS)})")


def choose_backend(
    forced: Kind | None,
    mutter_problem: Callable[[], str | None],
    portal_problem: Callable[[], str | None],
) -> GnomeBackend:
    """Mutter's API when it is what this backend calls, else the portal; UnsupportedDesktopError if neither.

    A forced backend is not probed (its own session start says what is wrong).
    """
    if forced == "mutter":
        return GnomeBackend("mutter", f"{BACKEND_VARIABLE}=mutter")
    if forced == "portal":
        return GnomeBackend("portal", f"{BACKEND_VARIABLE}=portal")
    mutter = mutter_problem()
    if mutter is None:
        return GnomeBackend("mutter", "Mutter's RemoteDesktop API has the version and methods used")
    portal = portal_problem()
    if portal is None:
        return GnomeBackend("portal", f"Mutter's RemoteDesktop API is not usable: {mutter}")
    raise UnsupportedDesktopError(NEITHER.format(mutter=mutter, portal=portal))


def probe_backend(environ: Mapping[str, str]) -> GnomeBackend:
    """``choose_backend`` with the session bus asked (a few D-Bus calls, about 10 ms)."""
    forced = forced_backend(environ)
    if forced is not None:
        return choose_backend(forced, lambda: None, lambda: None)
    try:
        from jeepney.io.threading import DBusRouter, open_dbus_connection
    except ImportError as err:
        raise UnsupportedDesktopError(f"cannot load the D-Bus library: {err} (pip install jeepney)") from None
    try:
        router = DBusRouter(open_dbus_connection(bus="SESSION"))
    except Exception as err:  # noqa: BLE001 - jeepney raises OSError, KeyError or its own errors
        raise UnsupportedDesktopError(f"cannot reach the session D-Bus: {err}") from None
    from agent.computers.gnome.mutter import mutter_problem
    from agent.computers.gnome.portal import portal_problem

    try:
        return choose_backend(None, lambda: mutter_problem(router), lambda: portal_problem(router))
    finally:
        router.close()

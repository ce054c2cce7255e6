"""The accessibility bus: does it answer (checked before AT-SPI is touched), and switching it on."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger(__name__)

# D-Bus replies on a local bus come in milliseconds; a hung bus must not hang a click.
_TIMEOUT_MS = 1500


def _session_bus_reachable(environ: Mapping[str, str]) -> bool:
    """A session bus is named, or sits at its usual socket (never autolaunch one: that starts a daemon)."""
    if environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return True
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    return bool(runtime) and Path(runtime, "bus").exists()


def bus_address(environ: Mapping[str, str] | None = None) -> str | None:
    """The accessibility bus's address once a connection to it succeeded; None when there is none.

    libatspi kills the process (SIGTRAP) when it cannot reach this bus, so nothing may
    call into it before this answered. ``AT_SPI_BUS_ADDRESS`` wins, as it does for
    libatspi; otherwise the session bus's ``org.a11y.Bus`` names it (D-Bus activation
    starts the launcher where it is installed).
    """
    environ = os.environ if environ is None else environ
    try:
        import gi

        gi.require_version("Gio", "2.0")
        from gi.repository import Gio, GLib
    except (ImportError, ValueError) as err:
        log.debug("no PyGObject: %s", err)
        return None
    address = environ.get("AT_SPI_BUS_ADDRESS", "")
    try:
        if not address:
            if not _session_bus_reachable(environ):
                return None
            session = Gio.bus_get_sync(Gio.BusType.SESSION, None)
            reply = session.call_sync(
                "org.a11y.Bus", "/org/a11y/bus", "org.a11y.Bus", "GetAddress", None,
                GLib.VariantType("(s)"), Gio.DBusCallFlags.NONE, _TIMEOUT_MS, None,
            )
            address = str(reply.unpack()[0])
        flags = (
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION
        )
        bus = Gio.DBusConnection.new_for_address_sync(address, flags, None, None)
        bus.close_sync(None)
    except GLib.Error as err:
        log.debug("no accessibility bus: %s", err.message)
        return None
    return address or None


def switch_on() -> None:
    """Tell toolkits an assistive technology is present (``org.a11y.Status.IsEnabled``), as GNOME does
    when Orca runs. Applications started before this may still expose nothing (Chromium, Electron)."""
    import gi

    gi.require_version("Gio", "2.0")
    from gi.repository import Gio, GLib

    try:
        session = Gio.bus_get_sync(Gio.BusType.SESSION, None)
        current = session.call_sync(
            "org.a11y.Bus", "/org/a11y/bus", "org.freedesktop.DBus.Properties", "Get",
            GLib.Variant("(ss)", ("org.a11y.Status", "IsEnabled")),
            GLib.VariantType("(v)"), Gio.DBusCallFlags.NONE, _TIMEOUT_MS, None,
        )
        if bool(current.unpack()[0]):
            return
        session.call_sync(
            "org.a11y.Bus", "/org/a11y/bus", "org.freedesktop.DBus.Properties", "Set",
            GLib.Variant("(ssv)", ("org.a11y.Status", "IsEnabled", GLib.Variant("b", True))),
            None, Gio.DBusCallFlags.NONE, _TIMEOUT_MS, None,
        )
    except GLib.Error as err:  # a read-only or missing status object: the tree may still be there
        log.debug("cannot switch accessibility on: %s", err.message)


# What an application Deskpilot starts needs in its environment to expose its tree.
LAUNCH_ENVIRONMENT = {"QT_LINUX_ACCESSIBILITY_ALWAYS_ON": "1", "ACCESSIBILITY_ENABLED": "1"}
# Chromium, Chrome and Electron apps expose only a bare frame without this flag.
CHROMIUM_FLAG = "--force-renderer-accessibility"

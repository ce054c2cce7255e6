"""The one place that decides which desktop backend drives this session (``select_platform``).

The decision is a pure function of the environment (``choose_platform``), table-tested;
``select_platform`` turns it into a ``Platform`` or a one-line refusal. A Wayland
session gets the backend of its compositor family: GNOME when ``XDG_CURRENT_DESKTOP``
names it and Mutter's RemoteDesktop or the desktop portal is on the session bus; the others from
``WAYLAND_FAMILIES`` (the desktop names ``XDG_CURRENT_DESKTOP`` may hold, then what the
compositor's registry offers). One with no backend is refused: there ``DISPLAY``
points at Xwayland, whose root window captures 100% black and whose XTEST input
reaches only X11 windows, so acting there would mean clicking blind.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from agent.errors import ConfigError, DisplayError, UnsupportedDesktopError

if TYPE_CHECKING:
    from agent.computers.platform import Platform

# Names the platform on purpose, over what the session says (``deskpilot --platform``
# sets the same variable, so processes it starts agree).
PLATFORM_VARIABLE = "DESKPILOT_PLATFORM"
# Set (to anything) by ``--no-kill-chord``: run where no kill chord can be installed.
NO_KILL_CHORD_VARIABLE = "DESKPILOT_NO_KILL_CHORD"

WAYLAND_REFUSAL = (
    "this is a Wayland session whose compositor Deskpilot cannot drive yet (it drives X11, GNOME with "
    "Mutter's RemoteDesktop, KDE Plasma, and wlroots compositors: sway, Hyprland, river), and here it "
    "would capture black frames and click blind: log in to an X11 (Xorg), GNOME, Plasma or sway session, "
    f"or run it on Xvfb with {PLATFORM_VARIABLE}=x11 "
    f"(e.g. `{PLATFORM_VARIABLE}=x11 xvfb-run -a deskpilot ...`)"
)
NO_DISPLAY = "no display: DISPLAY is not set (start an X session or Xvfb)"


class Verdict(StrEnum):
    X11 = "x11"  # drive DISPLAY with the X11 backend
    WLROOTS = "wlroots"  # drive WAYLAND_DISPLAY with the wlroots backend
    GNOME = "gnome"  # a GNOME Wayland session: Mutter's RemoteDesktop and ScreenCast
    KDE = "kde"  # KDE Plasma (KWin): fake-input, ScreenShot2, the clipboard, kglobalaccel
    WAYLAND = "wayland"  # a Wayland session with no backend for its compositor: refuse
    NO_DISPLAY = "no display"  # nothing to drive


# Each Wayland backend, in the order they are tried: its verdict, the XDG_CURRENT_DESKTOP
# names that mean it (lower case), and the registry globals that prove it when the
# desktop name says nothing. GNOME and KDE add their rows here.
WAYLAND_FAMILIES: tuple[tuple[Verdict, frozenset[str], frozenset[str]], ...] = (
    (
        Verdict.WLROOTS,
        frozenset({"sway", "hyprland", "river", "wlroots", "labwc", "wayfire", "dwl", "qtile"}),
        frozenset({"zwlr_screencopy_manager_v1", "zwlr_virtual_pointer_manager_v1"}),
    ),
    # KWin: fake-input itself is hidden from clients its desktop entry does not
    # whitelist, so KWin is recognised by two globals it shows everyone (sway offers
    # the first too, but matches the row above first).
    (
        Verdict.KDE,
        frozenset({"kde"}),
        frozenset({"org_kde_kwin_server_decoration_manager", "org_kde_plasma_virtual_desktop_management"}),
    ),
)

# The values an override may take; "wayland" forces the refusal (for tests, and for
# sessions that hide what they are).
OVERRIDES = ("x11", "wlroots", "gnome", "kde", "wayland")

# The interface names the Wayland compositor of an environment offers (empty when none answers).
RegistryProbe = Callable[[Mapping[str, str]], frozenset[str]]


@dataclass(frozen=True)
class Choice:
    """What ``choose_platform`` decided, and why, in words ``doctor`` can show."""

    verdict: Verdict
    display: str  # the X display the X11 backend would use ("" when none)
    reason: str


def choose_platform(
    environ: Mapping[str, str],
    override: str | None = None,
    system: str = sys.platform,
    probe: RegistryProbe | None = None,
    gnome_on_bus: Callable[[], bool] = lambda: False,
) -> Choice:
    """Decide from ``XDG_SESSION_TYPE``, ``WAYLAND_DISPLAY`` and ``DISPLAY`` (and an override).

    ``override`` wins over ``DESKPILOT_PLATFORM``, which wins over the session. Precedence
    within the session: ``XDG_SESSION_TYPE`` says what the login session is (a Wayland
    session keeps a DISPLAY for Xwayland); where it is missing or says neither (tty, a
    shell over ssh), a ``WAYLAND_DISPLAY`` means a compositor is running, else
    ``DISPLAY`` an X server. A Wayland session's backend comes from ``wayland_backend``;
    ``probe`` (None: do not connect) asks the compositor's registry when the desktop
    name does not say; ``gnome_on_bus`` (asked only for a GNOME session) whether
    Mutter's RemoteDesktop or the desktop portal is there (which of them drives is
    ``agent.computers.gnome.backend``'s choice, made when the session opens).
    """
    display = environ.get("DISPLAY", "")
    wanted = override if override is not None else environ.get(PLATFORM_VARIABLE, "")
    wanted = wanted.strip().lower()
    if wanted and wanted not in OVERRIDES:
        source = "the platform override" if override is not None else PLATFORM_VARIABLE
        raise ConfigError(f"{source}: unknown platform {wanted!r} (known: {', '.join(OVERRIDES)})")
    if not system.startswith("linux"):
        # mss and pyautogui drive Windows and macOS natively, through the same backend.
        return Choice(Verdict.X11, display, f"{system}: the native desktop through mss and pyautogui")
    if wanted == "x11":
        if not display:
            return Choice(Verdict.NO_DISPLAY, "", f"{PLATFORM_VARIABLE}=x11, but DISPLAY is not set")
        return Choice(Verdict.X11, display, f"asked for x11 on DISPLAY={display}")
    if wanted == "wayland":
        return Choice(Verdict.WAYLAND, display, "asked for wayland")
    if wanted:  # a Wayland backend by name
        if not environ.get("WAYLAND_DISPLAY"):
            return Choice(Verdict.NO_DISPLAY, "", f"asked for {wanted}, but WAYLAND_DISPLAY is not set")
        return Choice(Verdict(wanted), display, f"asked for {wanted} on {environ['WAYLAND_DISPLAY']}")
    session = environ.get("XDG_SESSION_TYPE", "").strip().lower()
    if session == "wayland":
        return wayland_backend(environ, display, "XDG_SESSION_TYPE=wayland", probe, gnome_on_bus)
    if session == "x11":
        if not display:
            return Choice(Verdict.NO_DISPLAY, "", "XDG_SESSION_TYPE=x11, but DISPLAY is not set")
        return Choice(Verdict.X11, display, f"XDG_SESSION_TYPE=x11 on DISPLAY={display}")
    if environ.get("WAYLAND_DISPLAY"):
        return wayland_backend(
            environ, display, f"WAYLAND_DISPLAY={environ['WAYLAND_DISPLAY']}", probe, gnome_on_bus
        )
    if display:
        return Choice(Verdict.X11, display, f"DISPLAY={display}")
    return Choice(Verdict.NO_DISPLAY, "", "neither DISPLAY nor WAYLAND_DISPLAY is set")


def wayland_backend(
    environ: Mapping[str, str],
    display: str,
    session: str,
    probe: RegistryProbe | None,
    gnome_on_bus: Callable[[], bool] = lambda: False,
) -> Choice:
    """The backend of a Wayland session: by ``XDG_CURRENT_DESKTOP``, else by the registry; else refuse."""
    desktops = {d.strip().lower() for d in environ.get("XDG_CURRENT_DESKTOP", "").split(":") if d.strip()}
    if "gnome" in desktops:
        if gnome_on_bus():
            return Choice(Verdict.GNOME, display,
                          f"{session}, GNOME with Mutter's RemoteDesktop or the desktop portal on the bus")
        return Choice(Verdict.WAYLAND, display,
                      f"{session}, GNOME with neither Mutter's RemoteDesktop nor the portal on the bus")
    for verdict, names, _ in WAYLAND_FAMILIES:
        if desktops & names:
            named = environ["XDG_CURRENT_DESKTOP"]
            return Choice(verdict, display, f"{session}, XDG_CURRENT_DESKTOP={named}")
    offered = probe(environ) if probe is not None and environ.get("WAYLAND_DISPLAY") else frozenset()
    for verdict, _, needed in WAYLAND_FAMILIES:
        if needed <= offered:
            return Choice(verdict, display, f"{session}; the compositor offers {', '.join(sorted(needed))}")
    return Choice(Verdict.WAYLAND, display, session)


def registry_globals(environ: Mapping[str, str]) -> frozenset[str]:
    """What the compositor at the environment's ``WAYLAND_DISPLAY`` offers (one roundtrip, a few ms)."""
    from agent.computers.wlroots.connection import offered_globals

    return frozenset(offered_globals(environ.get("WAYLAND_DISPLAY") or None))


def select_platform(environ: Mapping[str, str] = os.environ, override: str | None = None) -> Platform:
    """The platform of this session; ``UnsupportedDesktopError`` (Wayland) or ``DisplayError`` (none).

    Cheap: building a platform opens no connection (a Wayland session whose desktop
    name says nothing costs one registry roundtrip), so callers may check early,
    before any model loads.
    """
    choice = choose_platform(environ, override, probe=registry_globals, gnome_on_bus=_gnome_on_bus)
    if choice.verdict is Verdict.WAYLAND:
        raise UnsupportedDesktopError(WAYLAND_REFUSAL)
    if choice.verdict is Verdict.NO_DISPLAY:
        raise DisplayError(NO_DISPLAY)
    chord_optional = bool(environ.get(NO_KILL_CHORD_VARIABLE))
    if choice.verdict is Verdict.GNOME:
        from agent.computers.gnome import GnomePlatform
        from agent.computers.gnome.backend import forced_backend

        forced_backend(environ)  # a misspelt DESKPILOT_GNOME_BACKEND is bad input, said now
        return GnomePlatform(environ, chord_optional=chord_optional)
    if choice.verdict is Verdict.KDE:
        from agent.computers.kde import KdePlatform

        return KdePlatform(environ, chord_optional=chord_optional)
    if choice.verdict is Verdict.WLROOTS:
        from agent.computers.wlroots.platform import from_environment

        return from_environment(dict(environ), chord_optional=chord_optional)
    from agent.computers.x11 import X11Platform

    return X11Platform(choice.display)


def _gnome_on_bus() -> bool:
    """Mutter's RemoteDesktop, or else the desktop portal, on the bus (which drives: gnome/backend.py)."""
    from agent.computers.gnome.mutter import mutter_on_bus
    from agent.computers.gnome.portal import portal_on_bus

    return mutter_on_bus() or portal_on_bus()

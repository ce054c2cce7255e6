"""The one place that decides which desktop backend drives this session (``select_platform``).

The decision is a pure function of the environment (``choose_platform``), table-tested;
``select_platform`` turns it into a ``Platform`` or a one-line refusal. A Wayland
session gets the backend of its desktop where one exists (KDE Plasma: ``kde``) and is
refused otherwise: there ``DISPLAY`` points at Xwayland, whose root window captures
100% black and whose XTEST input reaches only X11 windows, so acting there through the
X11 backend would mean clicking blind.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from agent.errors import ConfigError, DisplayError, UnsupportedDesktopError

if TYPE_CHECKING:
    from agent.computers.platform import Platform

# Names the platform on purpose, over what the session says (the --platform option
# issue 20 adds will set the same override).
PLATFORM_VARIABLE = "DESKPILOT_PLATFORM"

WAYLAND_REFUSAL = (
    "this is a Wayland session; Deskpilot drives X11 desktops only for now (an X11 session, or Xvfb), "
    "and here it would capture black frames and click blind: log in to an X11 (Xorg) session, "
    f"or run it on Xvfb with {PLATFORM_VARIABLE}=x11 "
    f"(e.g. `{PLATFORM_VARIABLE}=x11 xvfb-run -a deskpilot ...`)"
)
NO_DISPLAY = "no display: DISPLAY is not set (start an X session or Xvfb)"


class Verdict(StrEnum):
    X11 = "x11"  # drive DISPLAY with the X11 backend
    KDE = "kde"  # a KDE Plasma (KWin) Wayland session: fake-input, ScreenShot2, the clipboard
    WAYLAND = "wayland"  # a Wayland session with no backend for its desktop: refuse
    NO_DISPLAY = "no display"  # nothing to drive


# The values an override may take; "wayland" forces the refusal (for tests, and for
# sessions that hide what they are).
OVERRIDES = ("x11", "kde", "wayland")


@dataclass(frozen=True)
class Choice:
    """What ``choose_platform`` decided, and why, in words ``doctor`` can show."""

    verdict: Verdict
    display: str  # the X display the X11 backend would use ("" when none)
    reason: str


def is_kde(environ: Mapping[str, str]) -> bool:
    """Whether the session says it is KDE Plasma: ``XDG_CURRENT_DESKTOP`` lists KDE, or ``KDE_FULL_SESSION``.

    ``XDG_CURRENT_DESKTOP`` is a colon-separated list ("KDE", "KDE:plasma"); Plasma's
    session also exports ``KDE_FULL_SESSION=true`` (kept by some shells that drop the first).
    """
    desktops = {part.strip().lower() for part in environ.get("XDG_CURRENT_DESKTOP", "").split(":")}
    return "kde" in desktops or environ.get("KDE_FULL_SESSION", "").strip().lower() == "true"


def _wayland(environ: Mapping[str, str], display: str, why: str) -> Choice:
    """A Wayland session: the backend of its desktop, or the refusal."""
    if is_kde(environ):
        return Choice(Verdict.KDE, display, f"{why} on KDE Plasma (XDG_CURRENT_DESKTOP)")
    return Choice(Verdict.WAYLAND, display, why)


def choose_platform(
    environ: Mapping[str, str], override: str | None = None, system: str = sys.platform
) -> Choice:
    """Decide from ``XDG_SESSION_TYPE``, ``WAYLAND_DISPLAY`` and ``DISPLAY`` (and an override).

    ``override`` wins over ``DESKPILOT_PLATFORM``, which wins over the session. Precedence
    within the session: ``XDG_SESSION_TYPE`` says what the login session is (a Wayland
    session keeps a DISPLAY for Xwayland); where it is missing or says neither (tty, a
    shell over ssh), a ``WAYLAND_DISPLAY`` means a compositor is running, else
    ``DISPLAY`` an X server.
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
    if wanted == "kde":
        return Choice(Verdict.KDE, display, "asked for kde")
    session = environ.get("XDG_SESSION_TYPE", "").strip().lower()
    if session == "wayland":
        return _wayland(environ, display, "XDG_SESSION_TYPE=wayland")
    if session == "x11":
        if not display:
            return Choice(Verdict.NO_DISPLAY, "", "XDG_SESSION_TYPE=x11, but DISPLAY is not set")
        return Choice(Verdict.X11, display, f"XDG_SESSION_TYPE=x11 on DISPLAY={display}")
    if environ.get("WAYLAND_DISPLAY"):
        return _wayland(environ, display, f"WAYLAND_DISPLAY={environ['WAYLAND_DISPLAY']}")
    if display:
        return Choice(Verdict.X11, display, f"DISPLAY={display}")
    return Choice(Verdict.NO_DISPLAY, "", "neither DISPLAY nor WAYLAND_DISPLAY is set")


def select_platform(environ: Mapping[str, str] = os.environ, override: str | None = None) -> Platform:
    """The platform of this session; ``UnsupportedDesktopError`` (Wayland) or ``DisplayError`` (none).

    Cheap: building a platform opens no connection, so callers may check early,
    before any model loads.
    """
    choice = choose_platform(environ, override)
    if choice.verdict is Verdict.KDE:
        from agent.computers.kde import KdePlatform

        return KdePlatform(environ)
    if choice.verdict is Verdict.WAYLAND:
        raise UnsupportedDesktopError(WAYLAND_REFUSAL)
    if choice.verdict is Verdict.NO_DISPLAY:
        raise DisplayError(NO_DISPLAY)
    from agent.computers.x11 import X11Platform

    return X11Platform(choice.display)

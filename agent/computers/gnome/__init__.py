"""The GNOME (Mutter, Wayland) platform: Mutter's RemoteDesktop and ScreenCast D-Bus API, PipeWire frames."""

from __future__ import annotations

from agent.computers.gnome.platform import GnomePlatform

__all__ = ["GnomePlatform"]

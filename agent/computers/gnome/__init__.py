"""The GNOME (Wayland) platform: Mutter's RemoteDesktop + ScreenCast API or the portal's; PipeWire frames."""

from __future__ import annotations

from agent.computers.gnome.platform import GnomePlatform

__all__ = ["GnomePlatform"]

"""The KDE Plasma (KWin, Wayland) platform; its modules import pywayland and jeepney only when used."""

from __future__ import annotations

from agent.computers.kde.platform import KdePlatform

__all__ = ["KdePlatform"]

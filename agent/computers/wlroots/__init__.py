"""wlroots compositors (sway, Hyprland, river): the only code importing pywayland.

``connection`` (the Wayland socket, outputs, seat), ``screen`` (wlr-screencopy),
``desktop`` (the ``Computer``: one virtual pointer and keyboard), ``keymap`` (XKB
keymaps for any Unicode), ``sway`` (sway's IPC: windows, the kill chord binding),
``protocols`` (the vendored XML and its generated bindings), reached through
``WlrootsPlatform``. Importing this package loads no Wayland library.
"""

from __future__ import annotations

from agent.computers.wlroots.platform import WlrootsPlatform

__all__ = ["WlrootsPlatform"]

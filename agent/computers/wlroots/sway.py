"""sway's IPC socket (the i3 protocol): the focused window and its rectangle, and key bindings for a run.

Only sway speaks it among wlroots compositors. Hyprland has its own socket
(``hyprctl``), river its ``riverctl``; neither is spoken here, so there window titles
and the kill chord are unavailable (the platform says so).
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import struct
from collections.abc import Iterator, Sequence
from typing import Any

from agent.errors import DisplayError
from agent.geometry import Region
from agent.ports import ScreenWindow

_MAGIC = b"i3-ipc"
_HEADER = struct.Struct("<6sII")
RUN_COMMAND, GET_TREE = 0, 4
TIMEOUT_S = 2.0

# Canonical modifier -> sway's modifier name.
_SWAY_MODIFIERS = {"ctrl": "Ctrl", "alt": "Mod1", "shift": "Shift", "super": "Mod4"}


def socket_path(environ: dict[str, str] | None = None) -> str | None:
    """sway's IPC socket from ``SWAYSOCK`` (sway sets it for everything it starts), or None."""
    env = os.environ if environ is None else environ
    path = env.get("SWAYSOCK", "")
    return path if path and os.path.exists(path) else None


class SwayIpc:
    """One request per connection: a run sends few, and a fresh socket never holds a stale reply."""

    def __init__(self, path: str) -> None:
        self.path = path

    def request(self, kind: int, payload: str = "") -> Any:
        body = payload.encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(TIMEOUT_S)
                sock.connect(self.path)
                sock.sendall(_HEADER.pack(_MAGIC, len(body), kind) + body)
                magic, length, _ = _HEADER.unpack(_read(sock, _HEADER.size))
                if magic != _MAGIC:
                    raise DisplayError(f"{self.path} is not sway's IPC socket")
                return json.loads(_read(sock, length))
        except OSError as err:
            raise DisplayError(f"sway's IPC socket {self.path} does not answer: {err}") from None

    def command(self, command: str) -> None:
        """Run one sway command; DisplayError with sway's own words when it fails."""
        replies = self.request(RUN_COMMAND, command)
        failed = [r.get("error", "failed") for r in replies if not r.get("success")]
        if failed:
            raise DisplayError(f"sway refused {command!r}: {'; '.join(failed)}")

    def tree(self) -> dict[str, Any]:
        tree: dict[str, Any] = self.request(GET_TREE)
        return tree


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise OSError("the socket closed mid-reply")
        data += chunk
    return data


def _windows(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every window (a leaf with a pid or app) in the tree, floating ones included."""
    children = [*node.get("nodes", []), *node.get("floating_nodes", [])]
    if not children and node.get("type") in ("con", "floating_con") and node.get("pid"):
        yield node
    for child in children:
        yield from _windows(child)


def _region(node: dict[str, Any]) -> Region | None:
    rect = node.get("rect") or {}
    if rect.get("width", 0) <= 0 or rect.get("height", 0) <= 0:
        return None
    return Region(rect["x"], rect["y"], rect["width"], rect["height"])


class SwayWindows:
    """Visible windows' titles, rectangles and focus from sway's tree: ``Windows`` and ``WindowStack``."""

    def __init__(self, ipc: SwayIpc) -> None:
        self._ipc = ipc

    def visible(self) -> list[tuple[ScreenWindow, bool]]:
        """Each visible window and whether it has the keyboard, focused first."""
        found = []
        for node in _windows(self._ipc.tree()):
            region = _region(node)
            if region is not None and node.get("visible", True):
                window = ScreenWindow(
                    id=int(node.get("id", 0)), pid=int(node.get("pid", 0)),
                    title=str(node.get("name") or ""), region=region,
                )
                found.append((window, bool(node.get("focused"))))
        return sorted(found, key=lambda w: not w[1])

    def title_at(self, x: int, y: int) -> str | None:
        window = self.top_at(x, y)
        return None if window is None else window.title

    def focused_title(self) -> str | None:
        window = self.active()
        return None if window is None else window.title

    def focused_region(self) -> Region:
        window = self.active()
        if window is None:
            raise DisplayError("sway reports no focused window")
        return window.region

    def active(self) -> ScreenWindow | None:
        return next((w for w, focused in self.visible() if focused), None)

    def top_at(self, x: int, y: int) -> ScreenWindow | None:
        # Tiled windows do not overlap; a focused floating window comes first in the list.
        return next((w for w, _ in self.visible() if w.region.contains(x, y)), None)

    def find(self, pid: int, title: str) -> ScreenWindow | None:
        mine = [w for w, _ in self.visible() if w.pid == pid]
        return next((w for w in mine if w.title == title), mine[0] if mine else None)


def sway_chord(keys: Sequence[str]) -> str:
    """A canonical chord ("ctrl", "alt", "k") in sway's bindsym spelling ("Ctrl+Mod1+k")."""
    from agent.computers.keysyms import NAMED_KEYSYMS

    parts = []
    for key in keys:
        if key in _SWAY_MODIFIERS:
            parts.append(_SWAY_MODIFIERS[key])
        elif key in NAMED_KEYSYMS:
            parts.append(NAMED_KEYSYMS[key])
        else:
            from agent.computers.wlroots.keymap import char_keysym

            parts.append(key if key.isalnum() else char_keysym(key))
    return "+".join(parts)


class SwayBinding:
    """A ``bindsym --no-repeat CHORD exec COMMAND`` that lives as long as a run."""

    def __init__(self, ipc: SwayIpc, keys: Sequence[str], argv: Sequence[str]) -> None:
        self._ipc = ipc
        self.chord = sway_chord(keys)
        self._command = shlex.join(argv)
        self.installed = False

    def install(self) -> None:
        # sway's parser takes the rest of the line as the exec command; a quoted word is
        # one argument there, so the command goes in as a shell line sway hands to sh -c.
        self._ipc.command(f"bindsym --no-repeat {self.chord} exec {self._command}")
        self.installed = True

    def remove(self) -> None:
        if self.installed:
            self._ipc.command(f"unbindsym {self.chord}")
            self.installed = False

"""A GTK4 window of named buttons (two called "Delete") that prints "CLICK <name>" for each click.

Run with /usr/bin/python3 (Debian's python3-gi and gir1.2-gtk-4.0). Arguments: the window
title, then X and Y. GTK4 cannot place its own window on X, so xdotool moves it (the
window's X id comes from its title) before "ready" is printed.
"""

from __future__ import annotations

import subprocess
import sys

import gi

gi.require_version("Gtk", "4.0")
from gi.repository import GLib, Gtk  # noqa: E402


def say(line: str) -> bool:
    sys.stdout.write(line + "\n")  # the test reads what was clicked from stdout
    sys.stdout.flush()
    return False


def place(title: str, x: int, y: int) -> bool:
    found = subprocess.run(["xdotool", "search", "--name", f"^{title}$"], capture_output=True, text=True)
    ids = found.stdout.split()
    if not ids:
        return True  # not mapped yet: try again
    subprocess.run(["xdotool", "windowmove", "--sync", ids[-1], str(x), str(y)], capture_output=True)
    GLib.timeout_add(300, lambda: say("ready"))
    return False


def main() -> None:
    title = sys.argv[1] if len(sys.argv) > 1 else "Deskpilot GTK4"
    x, y = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (100, 80)
    app = Gtk.Application(application_id=None)

    def activate(application: Gtk.Application) -> None:
        window = Gtk.ApplicationWindow(application=application, title=title)
        window.set_default_size(520, 240)
        grid = Gtk.Grid(row_spacing=8, column_spacing=8)
        for side in ("top", "bottom", "start", "end"):
            getattr(grid, f"set_margin_{side}")(16)
        window.set_child(grid)
        grid.attach(Gtk.Label(label="Invoice settings"), 0, 0, 3, 1)
        status = Gtk.Label(label="Status: ready")
        clicks = [0]

        def clicked(name: str, index: int) -> None:
            # The status line counts clicks: a handler's work the tree can show (confirms a press).
            clicks[0] += 1
            status.set_label(f"Status: {clicks[0]} clicks")
            say(f"CLICK {name} {index}")

        for i, name in enumerate(["Save", "Open", "Delete", "Delete", "Export report", "Help"]):
            button = Gtk.Button(label=name)
            button.connect("clicked", lambda _b, n=name, k=i: clicked(n, k))
            grid.attach(button, i % 3, 1 + i // 3, 1, 1)
        grid.attach(status, 0, 3, 3, 1)
        window.present()
        GLib.timeout_add(100, lambda: place(title, x, y))

    app.connect("activate", activate)
    app.run([])


if __name__ == "__main__":
    main()

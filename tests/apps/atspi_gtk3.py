"""A GTK3 window of named buttons (two called "Delete") that prints "CLICK <name>" for each click
and counts the clicks in its status line.

Run with /usr/bin/python3 (Debian's python3-gi). Arguments: the window title, then X and Y.
"""

from __future__ import annotations

import sys

import gi

gi.require_version("Gtk", "3.0")
from gi.repository import GLib, Gtk  # noqa: E402


def say(line: str) -> bool:
    sys.stdout.write(line + "\n")  # the test reads what was clicked from stdout
    sys.stdout.flush()
    return False


def main() -> None:
    title = sys.argv[1] if len(sys.argv) > 1 else "Deskpilot GTK3"
    x, y = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (100, 80)
    window = Gtk.Window(title=title)
    window.move(x, y)
    window.set_default_size(520, 240)
    grid = Gtk.Grid(row_spacing=8, column_spacing=8, margin=16)
    window.add(grid)
    heading = Gtk.Label(label="Invoice settings")
    grid.attach(heading, 0, 0, 3, 1)
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
    window.connect("destroy", Gtk.main_quit)
    window.show_all()
    GLib.timeout_add(300, lambda: say("ready"))
    Gtk.main()


if __name__ == "__main__":
    main()

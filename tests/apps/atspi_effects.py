"""A GTK3 window for confirming a press's effect: "Count" updates a label, "Inert" has no handler,
"Locked" is insensitive (its handler would print, but GTK never calls it). Each has a tooltip.

Prints "ready", then "CLICK <name>" for each click a handler saw. Run with /usr/bin/python3
(Debian's python3-gi). Arguments: the window title, then X and Y.
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
    title = sys.argv[1] if len(sys.argv) > 1 else "Deskpilot effects"
    x, y = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (100, 80)
    window = Gtk.Window(title=title)
    window.move(x, y)
    window.set_default_size(420, 160)
    box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=8, margin=16)
    window.add(box)
    status = Gtk.Label(label="Count: 0")
    count = [0]

    def counted(_button: Gtk.Button) -> None:
        count[0] += 1
        status.set_label(f"Count: {count[0]}")
        say("CLICK Count")

    row = Gtk.Box(spacing=8)
    for name in ("Count", "Inert", "Locked"):
        button = Gtk.Button(label=name)
        # No focus on click: the effect a test sees is the handler's, not GTK moving the focus.
        button.set_focus_on_click(False)
        # A tooltip shows ~0.5 s after the pointer stops on it: within the wait for an
        # effect, and never the click's effect.
        button.set_tooltip_text(f"The {name} button")
        if name == "Count":
            button.connect("clicked", counted)
        elif name == "Locked":
            button.connect("clicked", lambda _b: say("CLICK Locked"))
            button.set_sensitive(False)
        row.pack_start(button, False, False, 0)
    box.pack_start(row, False, False, 0)
    box.pack_start(status, False, False, 0)
    window.connect("destroy", Gtk.main_quit)
    window.show_all()
    GLib.timeout_add(300, lambda: say("ready"))
    Gtk.main()


if __name__ == "__main__":
    main()

"""A GTK3 window whose button relabels itself the moment it is pressed ("Press me" -> "Clicked").

Prints "ready X Y" (the button's middle on the screen), then "CLICK" for each click of it. Run with /usr/bin/python3
(Debian's python3-gi). Arguments: X and Y of the window; GTK_THEME picks the look.
"""

from __future__ import annotations

import sys

import gi

gi.require_version("Gtk", "3.0")
from gi.repository import GLib, Gtk  # noqa: E402


def say(line: str) -> bool:
    sys.stdout.write(line + "\n")  # the test reads what happened from stdout
    sys.stdout.flush()
    return False


def main() -> None:
    x, y = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) > 2 else (100, 80)
    window = Gtk.Window(title="Deskpilot relabel")
    window.move(x, y)
    window.set_default_size(360, 160)
    box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=8, margin=24)
    window.add(box)
    box.pack_start(Gtk.Label(label="Send the form"), False, False, 0)
    button = Gtk.Button(label="Press me")

    def relabel(pressed: Gtk.Button, _event: object) -> bool:
        # On the press itself, before the release makes it a click: what the recorder must not see.
        pressed.set_label("Clicked")
        return False  # the button goes on to handle the press

    def ready() -> bool:
        _, left, top = window.get_window().get_origin()
        alloc = button.get_allocation()
        return say(f"ready {left + alloc.x + alloc.width // 2} {top + alloc.y + alloc.height // 2}")

    button.connect("button-press-event", relabel)
    button.connect("clicked", lambda _b: say("CLICK"))
    box.pack_start(button, False, False, 0)
    window.connect("destroy", Gtk.main_quit)
    window.show_all()
    GLib.timeout_add(300, ready)
    Gtk.main()


if __name__ == "__main__":
    main()

"""A real GTK 3 text field for tests: reports its text as a JSON line on Enter.

Run with the system interpreter (/usr/bin/python3 with Debian's python3-gi), not the
venv's: PyGObject is not installed there. It prints {"event": "ready", ...} once the
window is mapped and {"event": "text", "text": ...} each time Enter is pressed in the
entry (which then clears), so a test waits on what GTK itself received.
"""

from __future__ import annotations

import argparse
import json
import sys

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, GLib, Gtk  # noqa: E402 (gi needs the versions first)


def emit(**payload: object) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--geometry", default="600x80+100+100")
    args = parser.parse_args()
    size, _, rest = args.geometry.partition("+")
    width, height = (int(v) for v in size.split("x"))
    left, top = (int(v) for v in rest.split("+"))

    window = Gtk.Window(title="deskpilot-gtk-entry")
    window.set_decorated(False)
    window.set_default_size(width, height)
    window.move(left, top)
    entry = Gtk.Entry()
    entry.set_name("gtk-entry")

    def submit(widget: Gtk.Entry) -> None:
        emit(event="text", text=widget.get_text())
        widget.set_text("")

    entry.connect("activate", submit)
    window.add(entry)
    window.connect("destroy", Gtk.main_quit)

    def announce(widget: Gtk.Window, _event: Gdk.Event) -> bool:
        # map-event fires once the X window is viewable; report after that turn.
        def ready() -> bool:
            x, y = widget.get_position()
            emit(event="ready", x=x, y=y, width=width, height=height)
            return False

        GLib.idle_add(ready)
        return False

    window.connect("map-event", announce)
    window.show_all()
    entry.grab_focus()
    Gtk.main()


if __name__ == "__main__":
    main()

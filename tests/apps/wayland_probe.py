"""A native Wayland GTK 3 window for tests: logs every click, key and text it receives as JSON lines.

Run with the system interpreter (/usr/bin/python3 with Debian's python3-gi) and
``GDK_BACKEND=wayland`` (or ``x11`` with ``--at``, to record a macro of the same window on X11). Under sway the only window is tiled over the whole output,
so window coordinates are screen coordinates until a test floats and moves it.
Layout (window coordinates): a pure red block at 0,0 400x300, a "Launch" button at
800,400 240x80, a text field at 700,600 600x60 (focused). Each line carries
``time.monotonic()``, which is system-wide, so a test compares it with its own clock.
"""

from __future__ import annotations

import argparse
import json
import time

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, GLib, Gtk  # noqa: E402 (gi needs the versions first)

RED = (400, 300)
BUTTON = (800, 400, 240, 80)
ENTRY = (700, 600, 600, 60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("log")
    parser.add_argument("--at", default="", help="X,Y: where to put the window on X11 (Wayland ignores it)")
    args = parser.parse_args()
    out = open(args.log, "a", encoding="utf-8")  # noqa: SIM115 (open for the window's life)

    def emit(**payload: object) -> None:
        out.write(json.dumps({"t": time.monotonic(), **payload}, ensure_ascii=False) + "\n")
        out.flush()

    window = Gtk.Window(title="deskpilot-wayland-probe")
    fixed = Gtk.Fixed()
    red = Gtk.EventBox()
    red.set_name("red")
    red.set_size_request(*RED)
    css = Gtk.CssProvider()
    css.load_from_data(b"#red { background-color: #ff0000; }")
    Gtk.StyleContext.add_provider_for_screen(Gdk.Screen.get_default(), css, Gtk.STYLE_PROVIDER_PRIORITY_USER)
    fixed.put(red, 0, 0)
    button = Gtk.Button(label="Launch")
    button.set_size_request(BUTTON[2], BUTTON[3])
    button.connect("clicked", lambda _b: emit(event="clicked", name="Launch"))
    fixed.put(button, BUTTON[0], BUTTON[1])
    entry = Gtk.Entry()
    entry.set_size_request(ENTRY[2], ENTRY[3])
    entry.connect("changed", lambda e: emit(event="text", text=e.get_text()))
    fixed.put(entry, ENTRY[0], ENTRY[1])
    window.add(fixed)
    window.add_events(Gdk.EventMask.BUTTON_PRESS_MASK | Gdk.EventMask.SCROLL_MASK)

    def on_event(event: Gdk.Event) -> None:
        # Every event GDK reads, before any widget can stop it: what Wayland delivered.
        kind = event.get_event_type()
        if kind == Gdk.EventType.BUTTON_PRESS:
            _, x, y = event.get_root_coords()
            emit(event="press", button=event.get_button()[1], x=round(x), y=round(y))
        elif kind == Gdk.EventType.KEY_PRESS:
            keyval = event.get_keyval()[1]
            code = Gdk.keyval_to_unicode(keyval)
            emit(event="key", name=Gdk.keyval_name(keyval), char=chr(code) if code else "")
        elif kind == Gdk.EventType.SCROLL:
            emit(event="scroll", direction=int(event.get_scroll_direction()[1]))
        Gtk.main_do_event(event)

    Gdk.Event.handler_set(on_event)
    window.connect("destroy", Gtk.main_quit)

    def ready() -> bool:
        emit(event="ready")
        return False

    # After the first frame is drawn, the red block is on screen.
    window.connect("map-event", lambda *_: GLib.timeout_add(50, ready) and False)
    if args.at:
        window.move(*(int(v) for v in args.at.split(",")))
    window.show_all()
    entry.grab_focus()
    Gtk.main()


if __name__ == "__main__":
    main()

"""A native Wayland GTK 3 window for tests: logs the clicks, keys and text it receives as JSON lines.

Run with the system interpreter (/usr/bin/python3 with Debian's python3-gi) and
``GDK_BACKEND=wayland``. Fullscreen, so window and screen coordinates agree: an entry
at the top, a big "Open" button, and a strip for pixel checks, pure red, turned pure blue and back by each click of the button. It prints
{"event": "ready", "entry": [x, y, w, h], "button": [...], "red": [...]} once drawn,
then {"event": "press", "button": n, "x": x, "y": y} for every button press,
{"event": "key", "name": keyval name} for every key press, {"event": "clicked"} when
the button is activated, {"event": "text", "text": ...} whenever the entry changes and
{"event": "scroll", "dy": ...} for scrolls (F5 copies "the user's text"), so a test asserts on what the client saw;
each line also has "t", its ``time.monotonic()``.
"""

from __future__ import annotations

import json
import sys
import time

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, GLib, Gtk  # noqa: E402 (gi needs the versions first)


def emit(**payload: object) -> None:
    # "t": the same monotonic clock as a test's, so it can tell what came after its input.
    sys.stdout.write(json.dumps({**payload, "t": time.monotonic()}, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def box(widget: Gtk.Widget) -> list[int]:
    alloc = widget.get_allocation()
    return [alloc.x, alloc.y, alloc.width, alloc.height]


def main() -> None:
    window = Gtk.Window(title="deskpilot-wayland-probe")
    layout = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=0)
    entry = Gtk.Entry()
    entry.set_name("probe-entry")
    button = Gtk.Button(label="Open")
    button.set_size_request(-1, 300)
    # Painted through CSS: Debian's python3-gi draws without python3-gi-cairo that way.
    red = Gtk.Label(label="")
    red.set_name("probe-red")
    red.set_size_request(-1, 200)
    css = Gtk.CssProvider()
    css.load_from_data(
        b"#probe-red { background-color: #ff0000; } #probe-red.flipped { background-color: #0000ff; }"
    )
    Gtk.StyleContext.add_provider_for_screen(
        Gdk.Screen.get_default(), css, Gtk.STYLE_PROVIDER_PRIORITY_APPLICATION
    )
    widgets = [(entry, False), (button, False), (red, False), (Gtk.Label(label=""), True)]
    if len(sys.argv) > 1:
        # A band above the entry (--top N pixels): while a screen is shared, gnome-shell
        # shows its top bar, with the sharing indicator, over this fullscreen window.
        top = Gtk.Label(label="")
        top.set_size_request(-1, int(sys.argv[sys.argv.index("--top") + 1]))
        widgets.insert(0, (top, False))
    for widget, expand in widgets:
        layout.pack_start(widget, expand, True, 0)
    window.add(layout)

    def pressed(_widget: Gtk.Widget, event: Gdk.EventButton) -> bool:
        emit(event="press", button=event.button, x=round(event.x_root), y=round(event.y_root))
        return False

    def key(_widget: Gtk.Widget, event: Gdk.EventKey) -> bool:
        name = Gdk.keyval_name(event.keyval) or ""
        emit(event="key", name=name)
        if name == "F5":
            # The user copies something: Wayland takes a copy only with an input serial.
            Gtk.Clipboard.get(Gdk.SELECTION_CLIPBOARD).set_text("the user's text", -1)
        return False

    def scrolled(_widget: Gtk.Widget, event: Gdk.EventScroll) -> bool:
        ok, _dx, dy = event.get_scroll_deltas()
        direction = {Gdk.ScrollDirection.UP: -1, Gdk.ScrollDirection.DOWN: 1}.get(event.direction, 0)
        emit(event="scroll", dy=dy if ok else direction)
        return False

    window.add_events(Gdk.EventMask.SCROLL_MASK | Gdk.EventMask.BUTTON_PRESS_MASK)
    window.connect("button-press-event", pressed)
    window.connect("key-press-event", key)
    window.connect("scroll-event", scrolled)
    button.connect("button-press-event", pressed)
    entry.connect("button-press-event", pressed)
    def clicked(_button: Gtk.Button) -> None:
        # Each click flips the strip between red and blue: a stale frame shows the old colour.
        style = red.get_style_context()
        (style.remove_class if style.has_class("flipped") else style.add_class)("flipped")
        emit(event="clicked")

    button.connect("clicked", clicked)
    entry.connect("changed", lambda e: emit(event="text", text=e.get_text()))
    window.connect("destroy", Gtk.main_quit)

    def announce() -> bool:
        # Fullscreen arrives after the first configure: wait for the full width, then
        # one more turn, so the drawn frame has reached the compositor.
        if window.get_allocated_width() < 1000:
            return True
        entry.grab_focus()
        GLib.timeout_add(150, lambda: emit(event="ready", entry=box(entry), button=box(button), red=box(red)))
        return False

    window.connect("map-event", lambda _w, _e: GLib.timeout_add(20, announce) and False)
    window.fullscreen()
    window.show_all()
    Gtk.main()


if __name__ == "__main__":
    main()

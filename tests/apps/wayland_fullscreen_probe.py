"""A native Wayland GTK 3 window for tests: logs the clicks, keys and text it receives as JSON lines.

Run with the system interpreter (/usr/bin/python3, Debian's python3-gi) and
GDK_BACKEND=wayland. Fullscreen, so window coordinates are screen coordinates: an
entry across the top (y < 60) and a red button filling the rest. It prints
{"event": "ready"} once drawn, then "press" (button, x, y), "clicked", "key"
(keyval name) and "text" (the entry's whole text after each change).
"""

from __future__ import annotations

import json
import sys

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, GLib, Gtk  # noqa: E402 (gi needs the versions first)

CSS = b"""
entry { min-height: 60px; font-size: 20px; }
button, button:hover, button:active { background: #cc3322; background-image: none; border: none; }
"""


def emit(**payload: object) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def main() -> None:
    style = Gtk.CssProvider()
    style.load_from_data(CSS)
    Gtk.StyleContext.add_provider_for_screen(Gdk.Screen.get_default(), style, 800)
    window = Gtk.Window(title="deskpilot-wayland-probe")
    box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL)
    entry = Gtk.Entry()
    button = Gtk.Button(label="Open")
    box.pack_start(entry, False, False, 0)
    box.pack_start(button, True, True, 0)
    window.add(box)

    def on_press(_widget: Gtk.Widget, event: Gdk.EventButton) -> bool:
        emit(event="press", button=event.button, x=round(event.x_root), y=round(event.y_root))
        return False

    def on_key(_widget: Gtk.Widget, event: Gdk.EventKey) -> bool:
        emit(event="key", name=Gdk.keyval_name(event.keyval))
        return False

    for widget in (button, entry):  # each takes its own presses, so each reports them
        widget.connect("button-press-event", on_press)
    window.connect("key-press-event", on_key)
    button.connect("clicked", lambda _b: emit(event="clicked"))
    entry.connect("changed", lambda e: emit(event="text", text=e.get_text()))
    window.connect("destroy", Gtk.main_quit)

    state = {"ready": False}

    def check(*_args: object) -> None:
        # Ready once a frame at the monitor's full size has been painted (the fullscreen
        # state can arrive before the configure that resizes) and the compositor has
        # activated the window (before that, input may not reach it yet).
        gdk_window = window.get_window()
        if gdk_window is None:
            return
        area = gdk_window.get_display().get_monitor_at_window(gdk_window).get_geometry()
        full = (window.get_allocated_width(), window.get_allocated_height()) == (area.width, area.height)
        fullscreen = gdk_window.get_state() & Gdk.WindowState.FULLSCREEN
        if full and fullscreen and window.is_active() and not state["ready"]:
            state["ready"] = True
            GLib.idle_add(lambda: emit(event="ready", width=window.get_allocated_width(),
                                       height=window.get_allocated_height()))

    window.connect("realize", lambda w: w.get_frame_clock().connect("after-paint", check))
    window.connect("notify::is-active", check)
    window.fullscreen()
    window.show_all()
    Gtk.main()


if __name__ == "__main__":
    main()

"""Print AT-SPI events as Orca would receive them, one JSON line each, until stdin closes.

Run with /usr/bin/python3 (Debian's python3-gi) inside the application's accessibility
session: ``atspi_listen.py EVENT_TYPE...``. Prints "listening" once registered, then
{"type", "role", "name", "description", "detail"} per event (the source read at once).
"""

import json
import sys
import threading

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi, GLib  # noqa: E402


def main():
    def seen(event):
        source = event.source
        data = event.any_data
        sys.stdout.write(json.dumps({
            "type": event.type,
            "role": source.get_role_name() if source else "",
            "name": (source.get_name() or "") if source else "",
            "description": (source.get_description() or "") if source else "",
            "detail": data if isinstance(data, str) else "",
        }) + "\n")
        sys.stdout.flush()

    listener = Atspi.EventListener.new(seen)
    for kind in sys.argv[1:]:
        listener.register(kind)

    def quit_on_eof():
        sys.stdin.read()
        GLib.idle_add(Atspi.event_quit)

    threading.Thread(target=quit_on_eof, daemon=True).start()
    GLib.idle_add(lambda: (sys.stdout.write("listening\n"), sys.stdout.flush(), False)[-1])
    Atspi.event_main()


if __name__ == "__main__":
    main()

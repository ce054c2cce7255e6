"""Inside a fresh D-Bus session: start the AT-SPI bus, then the command window, then read its tree.

Run as ``dbus-run-session -- python atspi_session.py``; prints the JSON tree that
atspi_tree.py (under /usr/bin/python3, where Debian's pyatspi lives) reads. The bus
must exist before the Qt app starts, or the app never registers (an empty tree).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

APPS = Path(__file__).resolve().parent
LAUNCHER = "/usr/libexec/at-spi-bus-launcher"


def bus_is_up() -> bool:
    reply = subprocess.run(
        ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
         "org.freedesktop.DBus.NameHasOwner", "string:org.a11y.Bus"],
        capture_output=True, text=True, timeout=5,
    )
    return "boolean true" in reply.stdout


def main() -> int:
    launcher = subprocess.Popen(
        [LAUNCHER, "--launch-immediately"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    app = None
    try:
        deadline = time.monotonic() + 10
        while not bus_is_up():
            if time.monotonic() > deadline:
                sys.stderr.write("the AT-SPI bus did not come up\n")
                return 1
            time.sleep(0.05)  # a helper process outside agent/: polling a bus name has no event to wait on
        env = dict(os.environ, QT_ACCESSIBILITY="1", QT_LINUX_ACCESSIBILITY_ALWAYS_ON="1")
        app = subprocess.Popen(
            [sys.executable, str(APPS / "command_window_app.py")],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
        )
        assert app.stdout is not None
        if "ready" not in app.stdout.readline():
            sys.stderr.write("the command window did not start\n")
            return 1
        tree = subprocess.run(
            ["/usr/bin/python3", str(APPS / "atspi_tree.py"), "deskpilot-a11y"],
            capture_output=True, text=True, timeout=30,
        )
        sys.stdout.write(tree.stdout)
        return tree.returncode
    finally:
        if app is not None:
            app.terminate()
            app.wait(timeout=10)
        launcher.terminate()
        launcher.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())

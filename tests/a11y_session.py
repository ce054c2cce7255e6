"""A private accessibility session for tests: its own session D-Bus and AT-SPI bus, apps started inside it."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import APPS, require_program, xdotool

LAUNCHER = "/usr/libexec/at-spi-bus-launcher"
CHROMIUM_FLAGS = (
    "--no-sandbox", "--force-renderer-accessibility", "--no-first-run", "--no-default-browser-check",
    "--disable-gpu", "--disable-features=Translate", "--password-store=basic",
)


def _dbus(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["dbus-send", "--session", "--print-reply", *args], env=env, capture_output=True, text=True, timeout=5
    )


def wait_for(condition: object, timeout: float, what: str) -> None:
    """Poll ``condition`` (a callable) until true; a helper process has no event to wait on."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout:.0f} s")
        time.sleep(0.05)


class App:
    """A started application; the lines it prints arrive on a queue."""

    def __init__(self, argv: list[str], env: dict[str, str], stdin: bool = False) -> None:
        self.proc = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def expect(self, prefix: str, timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            if line.startswith(prefix):
                return line

    def send(self, line: str) -> None:
        """A line to the app's stdin (started with ``stdin=True``)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def said(self, within: float = 0.5) -> list[str]:
        """Every line printed until ``within`` seconds pass without one."""
        out = []
        while True:
            try:
                out.append(self.lines.get(timeout=within))
            except queue.Empty:
                return out

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


class AccessibilitySession:
    """dbus-daemon + at-spi-bus-launcher of the test's own, accessibility switched on before apps start."""

    def __init__(self, folder: Path) -> None:
        require_program("dbus-daemon")
        require_program("dbus-send")
        if not Path(LAUNCHER).exists():
            raise RuntimeError("at-spi2-core is not installed; scripts/install.sh installs it")
        runtime = folder / "xdg"
        runtime.mkdir(mode=0o700, exist_ok=True)
        address = f"unix:path={folder / 'bus'}"
        self.env = dict(
            os.environ,
            DBUS_SESSION_BUS_ADDRESS=address,
            XDG_RUNTIME_DIR=str(runtime),
            QT_LINUX_ACCESSIBILITY_ALWAYS_ON="1",
            ACCESSIBILITY_ENABLED="1",
        )
        self.env.pop("AT_SPI_BUS_ADDRESS", None)
        self.apps: list[App] = []
        started = subprocess.run(
            ["dbus-daemon", "--session", f"--address={address}", "--fork", "--print-pid"],
            env=self.env, capture_output=True, text=True, timeout=10, check=True,
        )
        self._dbus_pid = int(started.stdout.split()[0])
        self._launcher = subprocess.Popen(
            [LAUNCHER, "--launch-immediately"], env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(
            lambda: "boolean true" in _dbus(
                self.env, "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner", "string:org.a11y.Bus",
            ).stdout,
            10, "the AT-SPI bus did not come up",
        )
        # Chromium reads the switch at start only: it must be on before any app starts.
        for prop in ("IsEnabled", "ScreenReaderEnabled"):
            _dbus(self.env, "--dest=org.a11y.Bus", "/org/a11y/bus", "org.freedesktop.DBus.Properties.Set",
                  "string:org.a11y.Status", f"string:{prop}", "variant:boolean:true")

    def gtk3(self, title: str, x: int = 100, y: int = 80) -> App:
        app = App(["/usr/bin/python3", str(APPS / "atspi_gtk3.py"), title, str(x), str(y)], self.env)
        self.apps.append(app)
        app.expect("ready")
        return app

    def gtk4(self, title: str, x: int = 100, y: int = 80) -> App:
        """The same window in GTK4, which reports window-relative boxes (the tree must add the origin)."""
        app = App(["/usr/bin/python3", str(APPS / "atspi_gtk4.py"), title, str(x), str(y)], self.env)
        self.apps.append(app)
        app.expect("ready", timeout=30)
        return app

    def qt(self, title: str, x: int = 100, y: int = 80) -> App:
        """The same window in Qt (PySide6, this interpreter's), seen through QT_LINUX_ACCESSIBILITY_ALWAYS_ON."""
        app = App([sys.executable, str(APPS / "atspi_qt.py"), title, str(x), str(y)], self.env)
        self.apps.append(app)
        app.expect("ready", timeout=30)
        return app

    def chromium(self, folder: Path, page: Path, geometry: str = "0,0") -> App:
        chromium = require_program("chromium")
        app = App(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={folder}", f"--window-position={geometry}",
             "--window-size=1280,900", page.as_uri()],
            self.env,
        )
        self.apps.append(app)
        wait_for(lambda: window_id("ready - Chromium") is not None, 60, "Chromium did not show the page")
        return app

    def deskpilot(self, *args: str, history: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agent", *args, "--history-dir", str(history)] if args[0] == "click"
            else [sys.executable, "-m", "agent", *args],
            env=self.env, capture_output=True, text=True, timeout=120,
        )

    def close(self) -> None:
        for app in reversed(self.apps):
            app.stop()
        self._launcher.terminate()
        self._launcher.wait(timeout=10)
        os.kill(self._dbus_pid, 15)


def window_id(title: str) -> str | None:
    found = subprocess.run(["xdotool", "search", "--name", f"^{title}$"], capture_output=True, text=True)
    ids = found.stdout.split()
    return ids[-1] if ids else None


def focus(title: str) -> str:
    """Give the window the keyboard and raise it (no window manager runs on the test display)."""
    wid = window_id(title)
    assert wid is not None, f"no window titled {title!r}"
    xdotool("windowraise", wid)
    xdotool("windowfocus", "--sync", wid)
    return wid


def pointer() -> tuple[int, int]:
    out = dict(part.split(":") for part in xdotool("getmouselocation").split()[:2])
    return (int(out["x"]), int(out["y"]))


def xterm(session: AccessibilitySession, text: str, geometry: str) -> App:
    """An xterm (no accessibility tree) showing ``text`` in large black-on-white letters."""
    program = require_program("xterm")
    app = App(
        [program, "-T", "Deskpilot xterm", "-geometry", geometry, "-fa", "DejaVu Sans Mono", "-fs", "16",
         "-bg", "white", "-fg", "black", "-e", "sh", "-c", f"printf '%s\\n' '{text}'; exec cat"],
        session.env,
    )
    session.apps.append(app)
    wait_for(lambda: window_id("Deskpilot xterm") is not None, 20, "the xterm did not show")
    return app

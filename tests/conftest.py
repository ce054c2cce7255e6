"""Shared fixtures: a real X display, real probe windows, an accessibility bus, and subprocess helpers."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.a11y_session import AccessibilitySession

ROOT = Path(__file__).resolve().parent.parent
APPS = Path(__file__).resolve().parent / "apps"


def display_problem(env: Mapping[str, str]) -> str | None:
    """Why the suite must not run on ``env``'s DISPLAY, or None when it may.

    The suite moves the pointer, types and replaces the clipboard: on the user's own
    desktop that does damage. It may drive only the display scripts/test.sh started,
    or one named on purpose in DESKPILOT_TEST_DISPLAY (test.sh sets both to the same).
    """
    display = env.get("DISPLAY", "")
    if not display or display == env.get("DESKPILOT_TEST_DISPLAY", ""):
        return None  # without a display, the tests that need one fail through x_display
    return (
        f"DISPLAY={display} may be your desktop and the tests would drive it: run them through "
        f"scripts/test.sh (it starts its own X server), or set DESKPILOT_TEST_DISPLAY={display} "
        "to use that display on purpose"
    )


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# A DISPLAY the suite was not given is hidden from this process and its children
# before anything can open it (Qt, mss, pyautogui); if the selected tests need a
# display, pytest_collection_finish refuses to run them, saying why in one line.
FOREIGN_DISPLAY = display_problem(os.environ)
if FOREIGN_DISPLAY is not None:
    del os.environ["DISPLAY"]
if not os.environ.get("DISPLAY"):
    # The fast loop (-m "not x11") has no X server: widgets render offscreen, as Qt
    # would otherwise abort the whole process.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session", autouse=True)
def x_server_kept_up() -> Iterator[None]:
    """Hold one X connection for the session: an Xvfb started without -noreset resets when
    its last client leaves, and a connection opened during that reset is dropped."""
    if not os.environ.get("DISPLAY"):
        yield
        return
    import Xlib.display
    import Xlib.error

    for _ in range(20):  # this connection itself may meet a reset already under way
        try:
            display = Xlib.display.Display()
            break
        except (Xlib.error.ConnectionClosedError, Xlib.error.DisplayConnectionError):
            threading.Event().wait(0.05)
    else:
        pytest.fail("cannot connect to the X server")
    yield
    display.close()


@pytest.fixture
def no_thread_leaks() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive() and t.daemon]
    assert not leaked, f"threads outlived the test: {leaked}"


@pytest.fixture(scope="session")
def x_display() -> str:
    """The X display the suite runs on: the Xvfb scripts/test.sh starts (never $DISPLAY)."""
    display = os.environ.get("DISPLAY")
    if not display:
        pytest.fail("no DISPLAY: run the suite through scripts/test.sh, which starts its own Xvfb")
    return display


def xdotool(*args: str) -> str:
    result = subprocess.run(["xdotool", *args], capture_output=True, text=True, timeout=10)
    if result.returncode != 0:
        raise RuntimeError(f"xdotool {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


class ProbeApp:
    """A running tests/apps/probe_window.py (or another app there that prints JSON event
    lines and a "ready" event); its events arrive on a queue."""

    def __init__(self, *args: str, env: Mapping[str, str] | None = None, app: str = "probe_window.py") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(APPS / app), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.ready = self.wait_for("ready", timeout=20)

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.put(json.loads(line))

    def wait_for(self, event: str, timeout: float = 10) -> dict[str, Any]:
        while True:
            try:
                item = self.events.get(timeout=timeout)
            except queue.Empty:
                err = self.proc.stderr.read() if self.proc.poll() is not None else ""
                raise AssertionError(f"probe window sent no {event!r} event in {timeout}s {err}") from None
            if item["event"] == event:
                return item

    def typed_before_marker(self, x: int, y: int) -> tuple[str, list[dict[str, Any]]]:
        """Type a marker into the window's field and return (the field's text, events before it).

        X delivers input in order, so once the marker arrives every event sent before it
        has been seen: the sync point a "nothing was typed" check needs. The text is the
        field's whole content at Enter, so anything typed earlier shows up in front of
        the marker.
        """
        xdotool("mousemove", str(x), str(y))  # no window manager: focus follows the pointer
        xdotool("type", "--delay", "20", "zq")
        xdotool("key", "Return")
        before: list[dict[str, Any]] = []
        while True:
            item = self.events.get(timeout=10)
            if item["event"] == "text":
                return item["text"], before
            before.append(item)

    def events_before_click(self, x: int, y: int) -> list[dict[str, Any]]:
        """Click the window at (x, y) ourselves and return every event it reported before that click.

        The window reports presses and keys, not motion; X delivers input in order, so
        once our own click arrives, anything sent to the window earlier has arrived too.
        """
        xdotool("mousemove", str(x), str(y))
        xdotool("click", "1")
        before: list[dict[str, Any]] = []
        while True:
            item = self.events.get(timeout=10)
            if item["event"] == "press" and (item["x"], item["y"]) == (x, y):
                return before
            before.append(item)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def probe(x_display: str) -> Iterator[type[ProbeApp]]:
    started: list[ProbeApp] = []

    def start(*args: str) -> ProbeApp:
        app = ProbeApp(*args)
        started.append(app)
        return app

    yield start  # type: ignore[misc]
    for app in started:
        app.close()


@pytest.fixture
def xclip_owned(x_display: str) -> Iterator[None]:
    """Leave the clipboard as we found it: tests below set it on purpose."""
    yield
    for sel in ("clipboard", "primary"):
        subprocess.run(["xclip", "-selection", sel, "-i", "/dev/null"], timeout=5,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def session(x_display: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AccessibilitySession]:
    """An accessibility bus of the module's own (tests/a11y_session.py), shared by its tests, closed after."""
    from tests.a11y_session import AccessibilitySession  # that module imports this one

    a11y = AccessibilitySession(tmp_path_factory.mktemp("a11y"))
    try:
        yield a11y
    finally:
        a11y.close()


def require_program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; scripts/install.sh installs it")
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight Qwen3-VL checkpoint, built once per session (about 0.1 s, 2 MB)."""
    from agent.testing.tiny import build_tiny_qwen3vl

    return build_tiny_qwen3vl(tmp_path_factory.mktemp("tiny-qwen3vl"))


# -- markers from what a test needs ----------------------------------------------------------
# `pytest -m "not x11 and not model and not process and not e2e"` is the fast inner loop: no X
# server, no model, no processes. A marker comes from a fixture the test uses or from one the
# test (or its module) declares, never from names in its body; a test that declares no need
# and still starts a process or opens the display fails, saying which marker it lacks.
X11_FIXTURES = frozenset({"x_display", "probe", "xclip_owned", "dual"})  # dual: tests/test_multimonitor.py
MODEL_FIXTURES = frozenset({"tiny_model_dir"})
PROCESS_FIXTURES = frozenset({"probe", "xclip_owned"})  # they start programs of their own
NEEDS = ("x11", "model", "process", "e2e")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "x11: needs the X server scripts/test.sh starts (set from fixture use)")
    config.addinivalue_line(
        "markers", "model: loads a model: the tiny Qwen3-VL (set from tiny_model_dir) or the real OCR (declared)"
    )
    config.addinivalue_line("markers", "process: starts a program (the deskpilot CLI, xdotool, espeak-ng, git...)")
    config.addinivalue_line("markers", "e2e: drives a whole Deskpilot program from outside")


def pytest_collection_finish(session: pytest.Session) -> None:
    if FOREIGN_DISPLAY is not None and any(item.get_closest_marker("x11") for item in session.items):
        raise pytest.UsageError(FOREIGN_DISPLAY)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & X11_FIXTURES:
            item.add_marker(pytest.mark.x11)
        if used & MODEL_FIXTURES:
            item.add_marker(pytest.mark.model)
        if used & PROCESS_FIXTURES or item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.process)  # a whole program driven from outside is a process


class UndeclaredNeed(AssertionError):
    """A test without the marker for what it does: the fast loop would not be fast or X-free."""


@pytest.fixture(autouse=True)
def declared_needs_only(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test marked for no need may start no process and open no X display."""
    if any(request.node.get_closest_marker(name) for name in NEEDS):
        return

    def no_process(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        raise UndeclaredNeed(f"started {args!r} without @pytest.mark.process")

    def no_display(*args: Any, **kwargs: Any) -> None:
        raise UndeclaredNeed("opened the X display without the x_display fixture")

    monkeypatch.setattr(subprocess.Popen, "_execute_child", no_process)
    monkeypatch.setattr("Xlib.display.Display.__init__", no_display)

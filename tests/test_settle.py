"""Settle detection: the thumbnail diff, the timing logic on a fake clock, and a real animated window."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PIL import Image, ImageDraw

from agent.computers.x11.screen import thumbnail_grabber
from agent.errors import StoppedError
from agent.imaging import DEFAULT_TOLERANCE, changed_fraction, thumbnail
from agent.run.settle import SettleResult, wait_until_settled
from tests.conftest import APPS, ROOT

WHITE = Image.new("RGB", (1920, 1080), "white")


def with_box(box: tuple[int, int, int, int], fill: str = "black", base: Image.Image = WHITE) -> Image.Image:
    image = base.copy()
    ImageDraw.Draw(image).rectangle(box, fill=fill)
    return image


# A 2x18 text caret, a 200x120 dialog.
CARET = with_box((400, 300, 401, 317))
DIALOG = with_box((800, 400, 999, 519), fill="#336699")


# -- the thumbnail diff -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "thumb"),
    [((1920, 1080), (192, 108)), ((3840, 2160), (192, 108)), ((2560, 1440), (197, 111)), ((1280, 720), (214, 120)), ((100, 50), (100, 50))],
)
def test_thumbnail_is_greyscale_and_about_the_asked_size(size: tuple[int, int], thumb: tuple[int, int]) -> None:
    image = thumbnail(Image.new("RGB", size, "red"))
    assert image.mode == "L"
    assert image.size == thumb


def test_thumbnail_of_a_thumbnail_is_itself() -> None:
    small = thumbnail(WHITE)
    assert thumbnail(small) is small


@pytest.mark.parametrize(
    ("after", "low", "high"),
    [
        (WHITE, 0.0, 0.0),
        (Image.new("RGB", (1920, 1080), "black"), 1.0, 1.0),
        (Image.new("RGB", (1920, 1080), (253, 253, 253)), 0.0, 0.0),  # an invisible shift
        (CARET, 1e-5, DEFAULT_TOLERANCE),  # seen, but under the default tolerance
        (DIALOG, 0.01, 0.02),  # 20x12 blocks of 192x108
        (with_box((0, 0, 0, 0)), 1e-5, 1e-4),  # one screen pixel still moves its block
    ],
)
def test_changed_fraction(after: Image.Image, low: float, high: float) -> None:
    fraction = changed_fraction(thumbnail(WHITE), thumbnail(after))
    assert low <= fraction <= high


def test_changed_fraction_of_different_sizes_is_total() -> None:
    assert changed_fraction(thumbnail(WHITE), thumbnail(Image.new("RGB", (1280, 720), "white"))) == 1.0


def test_changed_fraction_compares_full_size_images_too() -> None:
    assert changed_fraction(WHITE, DIALOG) == pytest.approx(200 * 120 / (1920 * 1080), rel=0.01)


# -- timing on a fake clock ---------------------------------------------------------------


class FakeTime:
    """A clock that only moves when the code under test waits; records every wait."""

    def __init__(self, cancel_after_waits: int | None = None) -> None:
        self.now = 0.0
        self.waits: list[float] = []
        self.cancel_after_waits = cancel_after_waits

    def clock(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        assert seconds > 0
        self.waits.append(seconds)
        self.now += seconds
        return self.cancel_after_waits is not None and len(self.waits) >= self.cancel_after_waits


def grab_by_time(fake: FakeTime, frame_at: Callable[[float], Image.Image]) -> Callable[[], Image.Image]:
    thumbs: dict[int, Image.Image] = {}

    def grab() -> Image.Image:
        image = frame_at(fake.now)
        return thumbs.setdefault(id(image), thumbnail(image))

    return grab


def settle(fake: FakeTime, frame_at: Callable[[float], Image.Image], **kwargs: Any) -> SettleResult:
    return wait_until_settled(
        grab_by_time(fake, frame_at), threading.Event(), clock=fake.clock, wait=fake.wait, **kwargs
    )


def test_a_still_screen_settles_after_quiet_s() -> None:
    fake = FakeTime()
    result = settle(fake, lambda t: WHITE)
    assert result.settled
    assert result.waited_s == pytest.approx(0.1)
    assert result.since_last_change_s == pytest.approx(0.1)
    assert result.polls == 6  # the first capture and one per 20 ms


def test_settles_quiet_s_after_the_last_change() -> None:
    fake = FakeTime()
    # Flips every 30 ms until 0.5 s, then holds still.
    result = settle(fake, lambda t: WHITE if t >= 0.5 or int(t / 0.03) % 2 else DIALOG)
    assert result.settled
    assert 0.5 + 0.1 <= result.waited_s <= 0.5 + 0.1 + 0.02 + 1e-9
    assert result.since_last_change_s == pytest.approx(0.1)


def test_a_screen_that_never_stops_times_out() -> None:
    fake = FakeTime()
    result = settle(fake, lambda t: DIALOG if round(t / 0.02) % 2 else WHITE, timeout_s=1.0)
    assert not result.settled
    assert result.waited_s == pytest.approx(1.0)
    assert result.polls == 51
    assert result.since_last_change_s < 0.1


def test_waits_never_overshoot_the_quiet_point_or_the_deadline() -> None:
    fake = FakeTime()
    settle(fake, lambda t: WHITE, quiet_s=0.05, poll_s=0.03)
    assert fake.waits == pytest.approx([0.03, 0.02])
    fake = FakeTime()
    settle(fake, lambda t: DIALOG if round(t / 0.03) % 2 else WHITE, poll_s=0.03, timeout_s=0.1)
    assert sum(fake.waits) == pytest.approx(0.1)
    assert max(fake.waits) <= 0.03


def test_a_blinking_caret_does_not_hold_the_screen_unsettled() -> None:
    def blinking(t: float) -> Image.Image:
        return CARET if int(t / 0.04) % 2 else WHITE  # faster than any real caret, on purpose

    fake = FakeTime()
    assert settle(fake, blinking).settled
    assert fake.now == pytest.approx(0.1)
    # With no tolerance the caret counts, and a caret blinking faster than quiet_s never settles.
    fake = FakeTime()
    assert not settle(fake, blinking, tolerance=0.0, timeout_s=1.0).settled


def test_a_set_cancel_raises_before_any_capture() -> None:
    cancel = threading.Event()
    cancel.set()
    grabs: list[int] = []

    def grab() -> Image.Image:
        grabs.append(1)
        return WHITE

    with pytest.raises(StoppedError):
        wait_until_settled(grab, cancel)
    assert grabs == []


def test_cancel_during_a_wait_raises() -> None:
    fake = FakeTime(cancel_after_waits=3)
    with pytest.raises(StoppedError):
        settle(fake, lambda t: DIALOG if round(t / 0.02) % 2 else WHITE)
    assert len(fake.waits) == 3


def test_cancel_from_another_thread_stops_a_long_wait_promptly() -> None:
    cancel = threading.Event()
    frames = iter(range(10**9))

    def changing() -> Image.Image:
        return thumbnail(DIALOG if next(frames) % 2 else WHITE)

    timer = threading.Timer(0.05, cancel.set)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(StoppedError):
            wait_until_settled(changing, cancel, timeout_s=30.0)
    finally:
        timer.join()
    assert time.monotonic() - started < 1.0


# -- a real screen ------------------------------------------------------------------------




class AnimatedApp:
    """A running tests/apps/animated_window.py; its JSON event lines arrive on a queue."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(APPS / "animated_window.py"), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.put(json.loads(line))

    def wait_for(self, event: str, timeout: float = 20) -> dict[str, Any]:
        while True:
            try:
                item = self.events.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"animated window sent no {event!r} event in {timeout}s") from None
            if item["event"] == event:
                return item

    def close(self) -> None:
        self.proc.terminate()
        self.proc.communicate(timeout=10)
        self._pump_thread.join(timeout=5)


@pytest.fixture
def animated(x_display: str) -> Iterator[Callable[..., AnimatedApp]]:
    started: list[AnimatedApp] = []

    def start(*args: str) -> AnimatedApp:
        app = AnimatedApp(*args)
        started.append(app)
        return app

    yield start
    for app in started:
        app.close()


def test_thumbnail_grabber_matches_a_full_capture(x_display: str) -> None:
    from agent.computers.x11.screen import MssScreen

    screen = MssScreen(1)
    grab = thumbnail_grabber(screen)
    assert grab().tobytes() == thumbnail(screen.capture().image).tobytes()
    started = time.perf_counter()
    for _ in range(20):
        grab()
    per_grab = (time.perf_counter() - started) / 20
    started = time.perf_counter()
    for _ in range(20):
        thumbnail(screen.capture().image)
    per_capture = (time.perf_counter() - started) / 20
    print(f"\nthumbnail poll: {per_grab * 1000:.1f} ms (via a full capture: {per_capture * 1000:.1f} ms)")  # noqa: T201 (reports a measurement)


def test_settles_right_after_a_real_animation_ends(animated: Callable[..., AnimatedApp]) -> None:
    from agent.computers.x11.screen import MssScreen

    app = animated("--duration", "1.0", "--interval-ms", "30")
    grab = thumbnail_grabber(MssScreen(1))
    app.wait_for("ready")  # the animation starts now
    result = wait_until_settled(grab, threading.Event(), timeout_s=10.0)
    returned = time.monotonic()
    done = app.wait_for("animation_done", timeout=5)
    delay = returned - done["t"]
    print(  # noqa: T201 (reports a measurement)
        f"\nsettled {delay * 1000:.0f} ms after the last frame ({done['frames']} frames; "
        f"{result.polls} polls, quiet {result.since_last_change_s * 1000:.0f} ms)"
    )
    assert result.settled
    assert returned > done["t"], "declared settled while the window was still animating"
    assert delay < 1.0


def test_a_still_real_screen_settles_in_about_quiet_s(x_display: str) -> None:
    from agent.computers.x11.screen import MssScreen

    result = wait_until_settled(thumbnail_grabber(MssScreen(1)), threading.Event())
    assert result.settled
    assert result.waited_s < 0.5


@pytest.mark.process
def test_importing_the_input_modules_loads_no_display_library() -> None:
    heavy = ["mss", "pynput", "PIL", "Xlib", "PySide6"]
    code = (
        "import json, sys\n"
        "import agent.run.settle, agent.run.hotkey, agent.run.takeover\n"
        f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []

"""Takeover detection: the decision on a fake clock, and real pynput listeners under X fed by xdotool."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from agent.computers.x11.keys import canonical_key
from agent.computers.x11.platform import X11InputWatching
from agent.errors import ConfigError
from agent.run.hotkey import DEFAULT_KILL_HOTKEY, parse_hotkey
from agent.run.takeover import (
    KEY_PRESSED,
    MOUSE_CLICKED,
    MOUSE_MOVED,
    MOUSE_SCROLLED,
    TakeoverDetector,
)
from tests.conftest import xdotool


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Reports:
    """Records takeover reports; a test waits on it instead of sleeping."""

    def __init__(self) -> None:
        self.descriptions: list[str] = []
        self.event = threading.Event()

    def __call__(self, description: str) -> None:
        self.descriptions.append(description)
        self.event.set()

    def wait(self, timeout: float = 5.0) -> bool:
        fired = self.event.wait(timeout)
        self.event.clear()
        return fired


# -- the decision, on a fake clock --------------------------------------------------------


def test_reports_once_until_rearmed() -> None:
    reports = Reports()
    detector = TakeoverDetector(reports, clock=Clock())
    assert detector.observe(MOUSE_MOVED)
    assert not detector.observe(KEY_PRESSED)
    assert detector.triggered
    detector.rearm()
    assert not detector.triggered
    assert detector.observe(KEY_PRESSED)
    assert reports.descriptions == [MOUSE_MOVED, KEY_PRESSED]


def test_the_agents_own_input_and_its_grace_window_do_not_count() -> None:
    reports = Reports()
    clock = Clock()
    detector = TakeoverDetector(reports, grace_s=0.15, clock=clock)
    with detector.agent_acting():
        clock.now += 5.0  # a long action
        assert not detector.observe(MOUSE_CLICKED)
        with detector.agent_acting():  # nested brackets (an action made of actions)
            pass
        clock.now += 1.0
        assert not detector.observe(MOUSE_MOVED)  # still inside the outer bracket
    clock.now += 0.149
    assert not detector.observe(MOUSE_MOVED)  # in flight when the action ended
    clock.now += 0.002
    assert detector.observe(MOUSE_SCROLLED)
    assert reports.descriptions == [MOUSE_SCROLLED]


def test_grace_counts_from_the_end_of_the_last_action() -> None:
    clock = Clock()
    detector = TakeoverDetector(Reports(), grace_s=0.15, clock=clock)
    with detector.agent_acting():
        pass
    clock.now += 0.1
    with detector.agent_acting():
        pass
    clock.now += 0.1
    assert not detector.observe(MOUSE_MOVED)
    clock.now += 0.06
    assert detector.observe(MOUSE_MOVED)


def test_a_failing_handler_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def handler(description: str) -> None:
        raise RuntimeError("handler bug")

    detector = TakeoverDetector(handler, clock=Clock())
    assert detector.observe(MOUSE_MOVED)
    assert "takeover handler failed" in caplog.text


def test_the_handler_may_rearm_or_act() -> None:
    detector: TakeoverDetector

    def handler(description: str) -> None:
        with detector.agent_acting():
            detector.rearm()

    detector = TakeoverDetector(handler, clock=Clock())
    assert detector.observe(MOUSE_MOVED)  # no deadlock on the detector's lock


@pytest.mark.parametrize(
    ("key", "name"),
    [
        (SimpleNamespace(name="ctrl_l"), "ctrl"),
        (SimpleNamespace(name="alt_gr"), "alt"),
        (SimpleNamespace(name="cmd"), "super"),
        (SimpleNamespace(name="page_up"), "pageup"),
        (SimpleNamespace(name="esc"), "escape"),
        (SimpleNamespace(name="media_volume_up"), "volumeup"),
        (SimpleNamespace(char="K"), "k"),
        (SimpleNamespace(char="+"), "+"),
        (SimpleNamespace(char="é"), None),
        (SimpleNamespace(char=None, vk=269025026), None),
        (SimpleNamespace(name="f21"), None),
    ],
)
def test_canonical_key(key: object, name: str | None) -> None:
    assert canonical_key(key) == name


def test_unknown_ignore_keys_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="bogus"):
        TakeoverDetector(Reports(), ignore_keys=("bogus",))


# -- under X ------------------------------------------------------------------------------




@pytest.fixture(autouse=True)
def no_listener_outlives_its_test(no_thread_leaks: None) -> None:
    """Every listener thread a test starts must have ended when it returns."""


@pytest.fixture
def detector(x_display: str) -> Iterator[tuple[TakeoverDetector, Reports]]:
    xdotool("mousemove", "700", "500")
    reports = Reports()
    detector = TakeoverDetector(reports, watching=X11InputWatching(), ignore_keys=parse_hotkey(DEFAULT_KILL_HOTKEY))
    detector.start()
    yield detector, reports
    detector.stop()
    assert detector.watch is not None and not detector.watch.is_alive()


def test_real_input_is_reported_once_per_rearm(detector: tuple[TakeoverDetector, Reports]) -> None:
    takeover, reports = detector
    xdotool("mousemove", "710", "505")
    assert reports.wait()
    xdotool("mousemove", "720", "510")  # more of the same gesture: quiet
    takeover.rearm()
    xdotool("click", "1")
    assert reports.wait()
    takeover.rearm()
    xdotool("key", "a")
    assert reports.wait()
    takeover.rearm()
    xdotool("click", "5")
    assert reports.wait()
    assert reports.descriptions == [MOUSE_MOVED, MOUSE_CLICKED, KEY_PRESSED, MOUSE_SCROLLED]


def test_the_agents_own_input_is_not_reported(x_display: str) -> None:
    # The detector's clock is ours: it stands still until every injected event has
    # arrived (the sync point is the last motion, after the scroll), then moves past the
    # grace window, so the next real key press is the user's. No sleeping on a guess.
    xdotool("mousemove", "700", "500")
    reports, clock = Reports(), Clock()
    takeover = TakeoverDetector(reports, watching=X11InputWatching(), ignore_keys=parse_hotkey(DEFAULT_KILL_HOTKEY), clock=clock)
    arrivals: list[tuple[str, float]] = []
    observe = takeover.observe
    all_arrived = threading.Event()

    def spy(description: str) -> bool:
        arrivals.append((description, time.monotonic()))
        if description == MOUSE_MOVED and any(d == MOUSE_SCROLLED for d, _ in arrivals):
            all_arrived.set()
        return observe(description)

    takeover.observe = spy  # type: ignore[method-assign]
    takeover.start()
    try:
        with takeover.agent_acting():
            for args in (["mousemove", "800", "600"], ["click", "1"], ["key", "x"], ["click", "4"], ["mousemove", "810", "610"]):
                subprocess.run(["xdotool", *args], check=True, timeout=10)
        ended = time.monotonic()
        assert all_arrived.wait(10), arrivals
        late = [round((t - ended) * 1000, 1) for _, t in arrivals if t > ended]
        print(f"\n{len(arrivals)} agent events, {len(late)} arrived after the action ended: {late} ms")  # noqa: T201 (reports a measurement)
        assert reports.descriptions == []
        clock.now += 1.0  # past the grace window
        xdotool("key", "b")
        assert reports.wait()
        assert reports.descriptions == [KEY_PRESSED]
    finally:
        takeover.stop()


def test_input_still_in_flight_when_the_action_ends_is_not_reported(x_display: str) -> None:
    # X may deliver an action's input after the action returned. To the detector that is
    # input arriving after the bracket closed: sent here right after it, while the fake
    # clock stands still, so it arrives inside the grace window on any machine. Then the
    # clock moves past the window and a key of the user's is the first thing reported.
    xdotool("mousemove", "820", "620")
    reports, clock = Reports(), Clock()
    takeover = TakeoverDetector(reports, watching=X11InputWatching(), grace_s=0.15, clock=clock)
    seen: list[str] = []
    late_arrived = threading.Event()
    observe = takeover.observe

    def spy(description: str) -> bool:
        seen.append(description)
        if MOUSE_MOVED in seen and KEY_PRESSED in seen:  # two listeners: wait for both
            late_arrived.set()
        return observe(description)

    takeover.observe = spy  # type: ignore[method-assign]
    with takeover:
        with takeover.agent_acting():
            pass  # the action returns; its input is still on the way
        xdotool("mousemove", "830", "630", "key", "y")
        assert late_arrived.wait(10), seen
        assert reports.descriptions == []  # the late input is the agent's
        clock.now += 0.2  # past the grace window
        xdotool("key", "b")
        assert reports.wait()
        assert reports.descriptions == [KEY_PRESSED]


def test_the_kill_chord_and_lone_modifiers_are_not_a_takeover(detector: tuple[TakeoverDetector, Reports]) -> None:
    _, reports = detector
    for chord in ("ctrl+alt+k", "shift", "ctrl", "super", "alt"):
        xdotool("key", chord)
    xdotool("click", "4")
    # Events arrive in order: had a key counted, it would have been reported first.
    assert reports.wait()
    assert reports.descriptions == [MOUSE_SCROLLED]


def test_stop_ends_the_listener_threads_promptly(x_display: str) -> None:
    takeover = TakeoverDetector(Reports(), watching=X11InputWatching())
    with takeover:
        watch = takeover.watch
        assert watch is not None and watch.is_alive()
    started = time.monotonic()
    takeover.stop()  # a second stop is harmless
    assert time.monotonic() - started < 0.5
    assert not watch.is_alive()

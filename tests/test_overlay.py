"""The confirmation overlay and the capture guard, on the real X server: geometry, keys, countdown, screenshots."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PIL import Image, ImageChops
from PySide6.QtCore import QCoreApplication, QRect
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from agent.actions import Key, LeftClick, LeftClickDrag, ScreenAction, Type
from agent.computers.base import Frame
from agent.errors import DisplayError
from agent.geometry import Region
from agent.testing.fake import FakeComputer
from tests.conftest import ProbeApp, xdotool
from tests.support import display_size
from ui.capture_guard import OverlayHidingComputer
from ui.overlay import (
    COLOUR_PAIRS,
    FOCUS,
    MARKER_RGB,
    OUTCOMES,
    ConfirmOverlay,
    ConfirmRequest,
    countdown_text,
    logical_geometry,
)
from ui.style import contrast_ratio

PRIMARY = Region(0, 0, 1920, 1080)  # for words and geometry; on screen, primary() is the real one


def primary() -> Region:
    """The display under test as one monitor: never assume the 1920x1080 test.sh starts."""
    return Region(0, 0, *display_size())


def click_at(x: int, y: int) -> ScreenAction:
    return ScreenAction(action=LeftClick(coordinate=(0.5, 0.5)), x=x, y=y)


def request(
    point: tuple[int, int] = (812, 440),
    monitor: Region | None = None,
    timeout_s: float = 30.0,
    reason: str = "every action is confirmed (confirm=always)",
) -> ConfirmRequest:
    return ConfirmRequest.from_action(click_at(*point), reason, monitor or primary(), timeout_s)


def keyboard_grabbed() -> bool:
    """Whether some client holds the X keyboard grab (ours would make this grab fail)."""
    from Xlib import X, display

    conn = display.Display()
    try:
        status = conn.screen().root.grab_keyboard(False, X.GrabModeAsync, X.GrabModeAsync, X.CurrentTime)
        if status == X.GrabSuccess:
            conn.ungrab_keyboard(X.CurrentTime)
            conn.sync()
            return False
        return True
    finally:
        conn.close()


def colour_count(image: Image.Image, rgb: tuple[int, int, int]) -> int:
    colours = image.convert("RGB").getcolors(maxcolors=image.width * image.height) or []
    return sum(count for count, colour in colours if colour == rgb)


def exact_colour_mask(image: Image.Image, rgb: tuple[int, int, int]) -> Image.Image:
    """White where ``image`` is exactly ``rgb``, black elsewhere."""
    channels = [Image.eval(image.getchannel(i), lambda v, want=want: 255 if v == want else 0) for i, want in enumerate(rgb)]
    return ImageChops.multiply(ImageChops.multiply(channels[0], channels[1]), channels[2])


def screen_image() -> Image.Image:
    from agent.computers.x11.desktop import DesktopComputer

    return DesktopComputer(1).capture().image


def qimage_colours(image: QImage) -> set[tuple[int, int, int]]:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    pil = Image.frombytes("RGBX", (image.width(), image.height()), bytes(image.constBits()), "raw", "BGRX")
    return {colour for _, colour in pil.convert("RGB").getcolors(maxcolors=image.width() * image.height()) or []}


def show_and_wait_ready(qtbot: QtBot, overlay: ConfirmOverlay, req: ConfirmRequest) -> None:
    with qtbot.waitSignal(overlay.ready, timeout=10_000):
        overlay.ask(req)


def probe_key_events(app: ProbeApp) -> list[dict[str, Any]]:
    return [e for e in list(app.events.queue) if e["event"] in ("key", "text")]


@pytest.fixture
def overlay(qtbot: QtBot, x_display: str) -> Iterator[ConfirmOverlay]:
    widget = ConfirmOverlay()
    qtbot.addWidget(widget)
    yield widget
    widget.hide_now()
    assert not widget.isVisible()
    assert not keyboard_grabbed(), "the overlay left the keyboard grabbed"


# -- requests, wording and pure geometry -------------------------------------------------


def test_request_from_actions_uses_the_shared_wording(x_display: str) -> None:
    req = request()
    assert (req.words, req.action, req.point, req.drag_from) == ("Click at (812, 440)", "left_click", (812, 440), None)

    drag = ScreenAction(action=LeftClickDrag(coordinate=(0.1, 0.1)), x=300, y=200)
    req = ConfirmRequest.from_action(drag, "drags need approval", PRIMARY, 10.0, drag_from=(100, 120))
    assert (req.words, req.point, req.drag_from, req.timeout_s) == ("Drag to (300, 200)", (300, 200), (100, 120), 10.0)

    typed = ConfirmRequest.from_action(ScreenAction(action=Type(text="hello")), "typing", PRIMARY, 5.0)
    assert (typed.words, typed.point) == ("Type 'hello'", None)
    keys = ConfirmRequest.from_action(ScreenAction(action=Key(keys=["ctrl", "s"])), "keys", PRIMARY, 5.0)
    assert keys.words == "Press ctrl+s"


@pytest.mark.parametrize(
    ("remaining", "text"),
    [(30.0, "Rejects in 30 s"), (27.0, "Rejects in 27 s"), (26.01, "Rejects in 27 s"), (0.2, "Rejects in 1 s"), (-1.0, "Rejects in 1 s")],
)
def test_countdown_text_rounds_up(remaining: float, text: str) -> None:
    assert countdown_text(remaining) == text


@pytest.mark.parametrize(
    ("monitor", "screens", "expected"),
    [
        (Region(0, 0, 1920, 1080), [(QRect(0, 0, 1920, 1080), 1.0)], (QRect(0, 0, 1920, 1080), 1.0)),
        # A 4K monitor at 200%: Qt's logical screen is half the size, same origin.
        (Region(0, 0, 3840, 2160), [(QRect(0, 0, 1920, 1080), 2.0)], (QRect(0, 0, 1920, 1080), 2.0)),
        # The second monitor of a mixed pair keeps its native origin.
        (
            Region(3840, 0, 1920, 1080),
            [(QRect(0, 0, 1920, 1080), 2.0), (QRect(3840, 0, 1920, 1080), 1.0)],
            (QRect(3840, 0, 1920, 1080), 1.0),
        ),
        (Region(-1920, 0, 1920, 1080), [(QRect(-1920, 0, 1920, 1080), 1.0)], (QRect(-1920, 0, 1920, 1080), 1.0)),
        # Unknown to Qt: used as given.
        (Region(5000, 0, 800, 600), [(QRect(0, 0, 1920, 1080), 1.0)], (QRect(5000, 0, 800, 600), 1.0)),
    ],
)
def test_logical_geometry(monitor: Region, screens: list[tuple[QRect, float]], expected: tuple[QRect, float]) -> None:
    assert logical_geometry(monitor, screens) == expected


@pytest.mark.parametrize(("use", "fg", "bg", "minimum"), COLOUR_PAIRS, ids=[p[0] for p in COLOUR_PAIRS])
def test_colours_meet_wcag_contrast(use: str, fg: str, bg: str, minimum: float) -> None:
    assert contrast_ratio(QColor(fg), QColor(bg)) >= minimum


def test_every_control_is_named_described_and_reachable_by_tab(overlay: ConfirmOverlay) -> None:
    buttons = overlay.findChildren(QPushButton)
    assert len(buttons) == 4
    for control in [*buttons, overlay.note_edit]:
        assert control.accessibleName(), control.objectName()
        assert control.accessibleDescription(), control.objectName()
        assert control.focusPolicy().value & 0x1, f"{control.objectName()} takes no Tab focus"
    chain = [overlay.approve_button]
    for _ in range(4):
        chain.append(chain[-1].nextInFocusChain())
    assert chain == [
        overlay.approve_button,
        overlay.session_button,
        overlay.reject_button,
        overlay.note_button,
        overlay.note_edit,
    ]


# -- on screen ---------------------------------------------------------------------------


def test_covers_the_monitor_shows_words_and_reason_and_times_out(qtbot: QtBot, overlay: ConfirmOverlay) -> None:
    monitor = Region(100, 50, 1200, 800)
    req = request(point=(812, 440), monitor=monitor, timeout_s=0.5)
    with qtbot.waitSignal(overlay.decided, timeout=5000) as decided:
        overlay.ask(req)
        assert overlay.isVisible()
        assert overlay.geometry() == QRect(100, 50, 1200, 800)
        # What X itself says about the window, not only Qt's idea of it.
        geometry = xdotool("getwindowgeometry", str(int(overlay.winId())))
        assert "Position: 100,50" in geometry and "Geometry: 1200x800" in geometry
        assert overlay.headline.text() == "Click at (812, 440)"
        assert overlay.reason_label.text() == "every action is confirmed (confirm=always)"
        assert overlay.countdown.text() == "Rejects in 1 s"
        assert overlay.headline.font().pixelSize() >= 32
        assert overlay.accessibleDescription() == "Click at (812, 440). every action is confirmed (confirm=always)"
        panel = overlay.findChild(QPushButton, "approve").parentWidget().geometry()
        assert overlay.rect().contains(panel)
    assert decided.args == ["timed_out", ""]
    assert not overlay.isVisible()
    assert not overlay.is_asking()


def test_backdrop_is_the_screen_under_it_dimmed(
    qtbot: QtBot, overlay: ConfirmOverlay, probe: Callable[..., ProbeApp]
) -> None:
    probe("--geometry", "200x150+400+350", "--colour", "#ff0000")
    # A monitor off the origin, and a target high up so the panel goes to the bottom, clear of the window.
    show_and_wait_ready(qtbot, overlay, request(point=(1100, 150), monitor=Region(100, 50, 1200, 800)))
    image = screen_image()
    dimmed_red = image.getpixel((500, 425))
    assert 60 < dimmed_red[0] < 160 and dimmed_red[1:] == (0, 0), dimmed_red
    # Lined up with the window itself: dimmed red exactly where the red window is.
    assert exact_colour_mask(image, dimmed_red).getbbox() == (400, 350, 600, 500)


def test_countdown_counts_down(qtbot: QtBot, overlay: ConfirmOverlay) -> None:
    overlay.ask(request(timeout_s=3.0))
    assert overlay.countdown.text() == "Rejects in 3 s"
    qtbot.waitUntil(lambda: overlay.countdown.text() == "Rejects in 2 s", timeout=3000)
    assert overlay.countdown.accessibleName() == "Rejects in 2 s"


@pytest.mark.parametrize(
    ("keys", "outcome"),
    [
        ([("key", "Return")], ("approved", "")),
        ([("key", "KP_Enter")], ("approved", "")),
        ([("key", "Escape")], ("rejected", "")),
        ([("key", "alt+a")], ("approved", "")),
        ([("key", "Tab", "space")], ("approved_for_session", "")),
        ([("key", "alt+s")], ("approved_for_session", "")),
        # Enter presses the focused button, as in any dialog.
        ([("key", "Tab", "Tab", "Return")], ("rejected", "")),
        ([("key", "Tab", "Tab", "Tab", "space"), ("type", "wrong field"), ("key", "Return")], ("rejected", "wrong field")),
        # The accelerator must act before the next key: typing at once goes into the note.
        ([("key", "alt+n"), ("type", "Not that one"), ("key", "Return")], ("rejected", "Not that one")),
        ([("key", "alt+n"), ("type", "Esc keeps it"), ("key", "Escape")], ("rejected", "Esc keeps it")),
    ],
    ids=["enter", "keypad-enter", "escape", "alt-a", "tab-space-session", "alt-s", "enter-on-reject", "note-by-tab", "note-by-alt-n", "note-then-escape"],
)
def test_real_key_presses_reach_the_overlay_wherever_the_pointer_is(
    qtbot: QtBot, overlay: ConfirmOverlay, probe: Callable[..., ProbeApp], keys: list[tuple[str, ...]], outcome: tuple[str, str]
) -> None:
    # A focused text field under the pointer: without a window manager, X would send
    # the keys there if the overlay did not grab the keyboard.
    app = probe("--geometry", "700x380+462+250", "--colour", "#e8eaed", "--edit")
    xdotool("mousemove", "600", "300")
    show_and_wait_ready(qtbot, overlay, request())
    assert overlay.has_keyboard_grab() and keyboard_grabbed()
    with qtbot.waitSignal(overlay.decided, timeout=10_000) as decided:
        for args in keys:
            xdotool(*args)
    assert tuple(decided.args) == outcome
    assert outcome[0] in OUTCOMES
    assert not overlay.isVisible()
    assert not keyboard_grabbed()
    assert probe_key_events(app) == []


def test_a_new_question_replaces_the_open_one(qtbot: QtBot, overlay: ConfirmOverlay) -> None:
    show_and_wait_ready(qtbot, overlay, request(point=(812, 440)))
    with qtbot.waitSignal(overlay.ready, timeout=5000):
        overlay.ask(request(point=(300, 200), reason="second"))
    assert overlay.headline.text() == "Click at (300, 200)"
    assert overlay.has_keyboard_grab()
    with qtbot.waitSignal(overlay.decided, timeout=5000) as decided:
        xdotool("key", "Escape")
    assert decided.args == ["rejected", ""]


def test_approvals_are_armed_only_after_a_moment(qtbot: QtBot, overlay: ConfirmOverlay) -> None:
    # An Enter meant for another window, arriving as the overlay pops up, must not approve.
    with qtbot.assertNotEmitted(overlay.decided):
        overlay.ask(request())
        overlay.approve_button.click()
        overlay.session_button.click()
    assert overlay.is_asking()
    qtbot.waitSignal(overlay.ready, timeout=5000).wait()
    with qtbot.waitSignal(overlay.decided, timeout=1000) as decided:
        overlay.approve_button.click()
    assert decided.args == ["approved", ""]


def test_decides_only_once_per_ask(qtbot: QtBot, x_display: str) -> None:
    overlay = ConfirmOverlay(arm_delay_s=0.0)
    qtbot.addWidget(overlay)
    seen: list[tuple[str, str]] = []
    overlay.decided.connect(lambda outcome, note: seen.append((outcome, note)))
    show_and_wait_ready(qtbot, overlay, request(timeout_s=1.5))
    overlay.approve_button.click()
    # The countdown is stopped, and clicks on the (hidden) buttons change nothing.
    with qtbot.assertNotEmitted(overlay.decided, wait=1800):
        overlay.reject_button.click()
        overlay.session_button.click()
    assert seen == [("approved", "")]
    overlay.hide_now()


def test_hide_now_withdraws_the_question_without_a_decision(qtbot: QtBot, overlay: ConfirmOverlay) -> None:
    show_and_wait_ready(qtbot, overlay, request(timeout_s=1.0))
    with qtbot.assertNotEmitted(overlay.decided, wait=1300):
        overlay.hide_now()
        assert not overlay.isVisible()
    assert not overlay.is_asking()
    assert not keyboard_grabbed()


def test_focus_is_visible_and_moves_with_tab(qtbot: QtBot, overlay: ConfirmOverlay) -> None:
    focus_rgb = QColor(FOCUS).getRgb()[:3]
    show_and_wait_ready(qtbot, overlay, request())
    qtbot.waitUntil(overlay.approve_button.hasFocus, timeout=3000)
    assert focus_rgb in qimage_colours(overlay.approve_button.grab().toImage())
    assert focus_rgb not in qimage_colours(overlay.session_button.grab().toImage())
    xdotool("key", "Tab")
    qtbot.waitUntil(overlay.session_button.hasFocus, timeout=3000)
    assert focus_rgb in qimage_colours(overlay.session_button.grab().toImage())
    assert focus_rgb not in qimage_colours(overlay.approve_button.grab().toImage())


def test_drag_is_drawn_and_panel_keeps_clear_of_the_target(qtbot: QtBot, overlay: ConfirmOverlay) -> None:
    drag = ScreenAction(action=LeftClickDrag(coordinate=(0.5, 0.5)), x=1500, y=900)
    req = ConfirmRequest.from_action(drag, "drags need approval", primary(), 30.0, drag_from=(400, 800))
    show_and_wait_ready(qtbot, overlay, req)
    panel = overlay.approve_button.parentWidget().geometry()
    assert panel.bottom() < primary().height // 2, "targets low on the screen: the panel goes to the top"
    image = overlay.grab().toImage()
    for x, y in ((1500, 900 - 34), (950, 850)):  # on the ring; on the line halfway
        assert image.pixelColor(x, y).getRgb()[:3] == MARKER_RGB or any(
            image.pixelColor(x + dx, y + dy).getRgb()[:3] == MARKER_RGB for dx in (-2, -1, 1, 2) for dy in (-2, -1, 1, 2)
        )


# -- screenshots never show it -----------------------------------------------------------


class SpyComputer:
    """A fake computer that notes whether the overlay was on screen at each capture."""

    def __init__(self, overlay: ConfirmOverlay) -> None:
        self.overlay = overlay
        self.fake = FakeComputer()
        self.seen_visible: list[bool] = []

    def capture(self) -> Frame:
        self.seen_visible.append(self.overlay.isVisible())
        return self.fake.capture()

    def poll_image(self) -> Image.Image:
        return self.fake.poll_image()

    def perform(self, action: ScreenAction) -> None:
        self.fake.perform(action)

    def release_all(self) -> None:
        self.fake.release_all()


def test_guard_hides_the_overlay_when_called_on_the_gui_thread(qtbot: QtBot, overlay: ConfirmOverlay) -> None:
    spy = SpyComputer(overlay)
    guard = OverlayHidingComputer(spy, overlay, settle_quiet_s=0.02)
    show_and_wait_ready(qtbot, overlay, request())
    guard.capture()
    assert spy.seen_visible == [False]
    assert overlay.isVisible() and overlay.is_asking()
    qtbot.waitUntil(overlay.has_keyboard_grab, timeout=3000)
    # Nothing to hide: the overlay is left alone.
    overlay.hide_now()
    guard.capture()
    assert spy.seen_visible == [False, False]
    assert not overlay.isVisible()


def test_guard_refuses_to_capture_when_the_gui_thread_does_not_answer(qtbot: QtBot, overlay: ConfirmOverlay) -> None:
    spy = SpyComputer(overlay)
    guard = OverlayHidingComputer(spy, overlay, gui_timeout_s=0.2)
    show_and_wait_ready(qtbot, overlay, request())
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            guard.capture()
        except DisplayError as err:
            errors.append(err)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(timeout=10)  # this (GUI) thread runs no events meanwhile: it "hangs"
    assert not thread.is_alive()
    assert len(errors) == 1 and spy.seen_visible == []
    # The abandoned hide does not run late and leave the question hidden for good.
    QCoreApplication.processEvents()
    assert overlay.isVisible() and not overlay.is_suspended() and overlay.is_asking()


def test_capture_from_a_worker_thread_never_contains_the_overlay(
    qtbot: QtBot, overlay: ConfirmOverlay, probe: Callable[..., ProbeApp]
) -> None:
    from agent.computers.x11.desktop import DesktopComputer

    probe("--geometry", "700x380+462+250", "--colour", "#3a6ea5")
    xdotool("mousemove", "1800", "1000")
    baseline = screen_image()  # what the model should see: the screen without the overlay
    assert colour_count(baseline, MARKER_RGB) == 0

    show_and_wait_ready(qtbot, overlay, request())
    # Positive control: a plain capture does contain the overlay's marker colour.
    qtbot.waitUntil(lambda: colour_count(screen_image(), MARKER_RGB) > 200, timeout=5000)

    results: dict[str, Any] = {}

    def worker() -> None:
        try:
            guard = OverlayHidingComputer(DesktopComputer(1), overlay)
            results["frame"] = guard.capture()
            results["poll"] = guard.poll_image()
        except BaseException as err:  # reported by the assertions below
            results["error"] = err

    thread = threading.Thread(target=worker, name="agent-worker")
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=20_000)
    thread.join()
    assert "error" not in results, results.get("error")

    frame: Frame = results["frame"]
    assert frame.region == primary()
    assert colour_count(frame.image, MARKER_RGB) == 0
    # Not one pixel of the overlay: the guarded capture is the screen as it was without it.
    assert ImageChops.difference(frame.image, baseline).getbbox() is None

    # And it is back, keyboard included, still asking.
    qtbot.waitUntil(lambda: overlay.isVisible() and overlay.has_keyboard_grab(), timeout=5000)
    assert overlay.is_asking()
    qtbot.waitUntil(lambda: colour_count(screen_image(), MARKER_RGB) > 200, timeout=5000)


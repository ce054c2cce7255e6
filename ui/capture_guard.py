"""Keeps the confirmation overlay out of screenshots: hides it around every capture, from any thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Generic, TypeVar

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Qt, QThread, QTimer, Signal, Slot

from agent.api import (
    DisplayError,
    wait_until_settled,
)

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.api import Computer, Frame, ScreenAction
    from ui.overlay import ConfirmOverlay

log = logging.getLogger(__name__)

T = TypeVar("T")

# How long a worker waits for the GUI thread to hide or show the overlay. The GUI thread
# answers in milliseconds; a longer wait means it is blocked (perhaps on this very
# worker, at shutdown), and then refusing to capture beats a deadlock or a screenshot
# with the overlay in it.
GUI_TIMEOUT_S = 5.0
# Unmapping the overlay exposes the windows under it, and each of them repaints on its
# own time (about 1 ms for a responsive one). Until then the screen still holds the
# overlay's pixels, so the capture waits for the screen to stop changing.
SETTLE_QUIET_S = 0.08
SETTLE_POLL_S = 0.01
SETTLE_TIMEOUT_S = 1.0


class _Job(Generic[T]):
    """One call to run on the GUI thread, and its result for the thread that waits."""

    def __init__(self, fn: Callable[[], T], run_late: bool) -> None:
        self.fn = fn
        self.run_late = run_late
        self.value: T | None = None
        self.error: BaseException | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._started = False
        self._abandoned = False

    def run(self) -> None:
        with self._lock:
            if self._abandoned and not self.run_late:
                return
            self._started = True
        try:
            self.value = self.fn()
        except BaseException as err:  # handed to the waiting thread, which re-raises it
            self.error = err
        finally:
            self._done.set()

    def wait(self, timeout_s: float) -> bool:
        """Whether it ran; False means it never will (unless ``run_late``)."""
        if self._done.wait(timeout_s):
            return True
        with self._lock:
            if not self._started:
                self._abandoned = True
                return False
        # It started just as the time ran out; it is a quick call, so see it through
        # rather than leave the overlay in a state the caller does not know about.
        self._done.wait()
        return True


class _GuiCaller(QObject):
    """Runs callables on the thread it lives in (the GUI thread) for callers on any thread.

    A queued signal and an event with a timeout instead of a BlockingQueuedConnection:
    that one waits forever when the GUI thread is itself waiting for the worker.
    """

    _requested = Signal(object)

    def __init__(self, home: QObject) -> None:
        super().__init__()
        self._home = home
        if QThread.currentThread() != home.thread():
            self.moveToThread(home.thread())
        else:
            self.setParent(home)  # the GUI side owns and deletes it with the overlay
        self._requested.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _run(self, job: _Job[object]) -> None:
        if self.parent() is None:
            # Created on another thread: adopt it here, where the overlay's children live.
            self.setParent(self._home)
        job.run()

    def on_home_thread(self) -> bool:
        return QThread.currentThread() == self.thread()

    def call(self, fn: Callable[[], T], timeout_s: float, *, run_late: bool = False) -> T:
        """``fn()`` on the GUI thread; DisplayError if that takes over ``timeout_s``.

        ``run_late``: still run it once the GUI thread gets to it after the timeout.
        """
        if self.on_home_thread():
            return fn()
        job: _Job[T] = _Job(fn, run_late)
        self._requested.emit(job)
        if not job.wait(timeout_s):
            raise DisplayError(
                "the confirmation overlay could not be hidden (the window thread is not "
                "responding); not taking a screenshot that could show it"
            )
        if job.error is not None:
            raise job.error
        return job.value  # type: ignore[return-value]  # set when fn returned


class OverlayHidingComputer:
    """A ``Computer`` that takes its screenshots with the confirmation overlay hidden.

    capture() and poll_image() may run on any thread (the agent's worker, usually): the
    overlay is unmapped on the GUI thread, the screen is allowed to repaint, the inner
    computer captures, and the overlay comes back if its question is still open.
    perform() and release_all() pass straight through: the overlay is off the screen
    before it reports a decision, so no action runs while it is up.
    """

    # Guarded captures must not interleave: one could map the overlay again in the middle
    # of another's capture. One lock for all guards, as an application has one overlay.
    _capture_lock = threading.Lock()

    def __init__(
        self,
        inner: Computer,
        overlay: ConfirmOverlay,
        *,
        gui_timeout_s: float = GUI_TIMEOUT_S,
        settle_quiet_s: float = SETTLE_QUIET_S,
        settle_timeout_s: float = SETTLE_TIMEOUT_S,
    ) -> None:
        self.inner = inner
        self._overlay = overlay
        self._gui = _GuiCaller(overlay)
        self._gui_timeout_s = gui_timeout_s
        self._settle_quiet_s = settle_quiet_s
        self._settle_timeout_s = settle_timeout_s

    def capture(self) -> Frame:
        with self._overlay_hidden():
            return self.inner.capture()

    def poll_image(self) -> Image:
        with self._overlay_hidden():
            return self.inner.poll_image()

    def perform(self, action: ScreenAction) -> None:
        self.inner.perform(action)

    def release_all(self) -> None:
        self.inner.release_all()

    @contextmanager
    def _overlay_hidden(self) -> Iterator[None]:
        self._acquire()
        try:
            was_visible = self._gui.call(self._overlay.suspend, self._gui_timeout_s)
            try:
                if was_visible:
                    self._wait_for_repaint()
                yield
            finally:
                self._resume()
        finally:
            self._capture_lock.release()

    def _resume(self) -> None:
        try:
            # Even late: a suspend that is never resumed would hide the question for good.
            self._gui.call(self._overlay.resume, self._gui_timeout_s, run_late=True)
        except DisplayError:
            # The screenshot is good; the overlay returns once the window thread is free.
            log.warning("the window thread is busy; the confirmation overlay will return later")

    def _acquire(self) -> None:
        if not self._gui.on_home_thread():
            self._capture_lock.acquire()
            return
        # On the GUI thread a worker may hold the lock while it waits for this very
        # thread to hide or show the overlay: keep serving it while waiting.
        while not self._capture_lock.acquire(timeout=SETTLE_POLL_S):
            QCoreApplication.processEvents()

    def _wait_for_repaint(self) -> None:
        # On the GUI thread our own windows under the overlay repaint only if events run.
        pause = _event_loop_wait if self._gui.on_home_thread() else None
        result = wait_until_settled(
            self.inner.poll_image,
            threading.Event(),
            quiet_s=self._settle_quiet_s,
            poll_s=SETTLE_POLL_S,
            timeout_s=self._settle_timeout_s,
            # Any change counts here: the last window to repaint may be a small one.
            tolerance=0.0,
            wait=pause,
        )
        if not result.settled:
            log.info("the screen kept changing after the overlay was hidden; capturing anyway")


def _event_loop_wait(seconds: float) -> bool:
    """Wait ``seconds`` while running the GUI thread's events; never cancelled."""
    loop = QEventLoop()
    QTimer.singleShot(max(1, round(seconds * 1000)), loop.quit)
    loop.exec()
    return False

"""Recording the user's real mouse and keyboard into a macro, until the kill hotkey or Ctrl+C.

The platform's input watching (which waits for the desktop to really report input
and stops cleanly) puts raw events on a queue. Each press gets the screen as it was
just *before* it: a ``FrameRing`` keeps the last few grabs (where the pointer comes
to rest, and at an idle rate), and the listener picks, as the press arrives, the
newest grab completed before the press's own event time (the desktop's timestamp on
the monotonic clock, ``InputHandlers.on_button_at``; ``agent.macros.frame_ring``); an
application that relabels its button on mousedown has already redrawn by the time
this thread hears of the press. This thread adds the window title, so each pointer
step gets the screen it was aimed at. When recording ends, the events become steps
(``agent.macros.steps``) and each pointer step gets its anchor bundle, its text read
by the OCR reader ``finish`` is given (``agent.macros.anchors``); ``targets`` keeps each
anchored step's frame and point for ``--describe`` (``agent.macros.describing``).
With an accessibility tree, each click also keeps the element under it (role, name,
path, window), which replay looks for before any picture (``agent.macros.element_tier``):
asked when the pointer comes to rest, so its name too is the one from before the press
(asked again at the press when the pointer did not rest there first). The element's box
and name also decide which text is the anchor's own (``anchors.own_text``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from agent.computers.platform import InputHandlers
from agent.geometry import Region
from agent.imaging import Box
from agent.macros.anchors import AnchorMaker
from agent.macros.describing import Target
from agent.macros.frame_ring import FrameRing, Shot
from agent.macros.schema import ElementRef, Macro, MacroStep, Monitor
from agent.macros.steps import EventKind, PendingStep, RawEvent, build_steps, strip_kill_chord
from agent.scaling import screen_to_image

if TYPE_CHECKING:
    from agent.computers.platform import ActingMark, InputWatch, Platform
    from agent.ports import AccessibleTree, Element, TextReader

_BUTTONS = {"left": "left", "right": "right", "middle": "middle"}
# The pointer still this long at a place: the user is aiming there, worth one tree lookup.
_REST_S = 0.1


class Recorder:
    """Records input on ``platform``'s ``monitor`` until ``stop`` is set; ``finish()`` returns the macro."""

    def __init__(
        self,
        platform: Platform,
        monitor: int,
        kill_chord: tuple[str, ...],
        stop: threading.Event,
        own_windows: Collection[str] = (),
        tree: AccessibleTree | None = None,
    ) -> None:
        self.screen = platform.screen(monitor)
        self.tree = tree
        self._elements: dict[float, ElementRef] = {}  # by the time its button went down
        self._element_boxes: dict[float, Region] = {}  # their boxes (screen), same keys
        self._ring = FrameRing(self.screen)
        self._shots: dict[float, Shot] = {}  # each press's screen from before it, same keys
        # Where the pointer last moved to and when (set on the listener thread), and the
        # element found under it once it rested there: (x, y, answered at, element).
        self._pointer: tuple[int, int, float] | None = None
        self._resting: tuple[int, int, float, Element | None] | None = None
        self.windows = platform.windows()
        self._watching = platform.input_watching()
        self.kill_chord = kill_chord
        self.stop = stop
        # Titles of the recording front end's own windows (the tray's): input aimed at
        # them (its Stop recording entry, say) is how the user drives Deskpilot, not the task.
        self.own_windows = frozenset(own_windows)
        self._own_buttons: set[str] = set()  # buttons pressed on an own window, up to their release
        self.own = 0  # events left out because they went to Deskpilot's own windows
        self._queue: queue.Queue[RawEvent] = queue.Queue()
        self._watch: InputWatch | None = None
        self.events: list[RawEvent] = []
        self._mark: ActingMark | None = platform.acting_mark()
        self.ignored = 0  # events Deskpilot itself injected (a player or agent acting meanwhile)
        self.targets: list[Target] = []  # the anchored steps' frames and points, after finish()

    def _put(self, event: RawEvent) -> None:
        # Checked at once, on the listener thread: the mark's grace covers the delivery delay.
        if self._mark is not None and self._mark.active():
            self.ignored += 1
            return
        self._queue.put(event)

    # -- listener callbacks (the platform's threads): only enqueue ---------------------
    def _on_button_at(self, x: int, y: int, button: str, pressed: bool, t: float) -> None:
        name = _BUTTONS.get(button, "")
        if not name:
            return
        if pressed and not (self._mark is not None and self._mark.active()):
            # Picked now, as the press arrives: later grabs may already show its result.
            shot = self._ring.before(t)
            if shot is not None:
                self._shots[t] = shot
        kind: EventKind = "button_down" if pressed else "button_up"
        self._put(RawEvent(t, kind, int(x), int(y), button=name))

    def _on_move(self, x: int, y: int) -> None:
        self._pointer = (int(x), int(y), time.monotonic())
        self._ring.moved()

    def _on_scroll(self, x: int, y: int, dx: int, dy: int) -> None:
        self._put(RawEvent(time.monotonic(), "scroll", int(x), int(y), dx=int(dx), dy=int(dy)))

    def _key(self, key: str, char: str, kind: EventKind) -> None:
        self._put(RawEvent(time.monotonic(), kind, key=key, char=char))

    # -- the recording thread ----------------------------------------------------------
    def start(self) -> None:
        handlers = InputHandlers(
            on_key_down=lambda key, char: self._key(key, char, "key_down"),
            on_key_up=lambda key, char: self._key(key, char, "key_up"),
            on_move=self._on_move,
            on_button_at=self._on_button_at,
            on_scroll=self._on_scroll,
        )
        self._watch = self._watching.watch_input(handlers, what="recording")
        try:
            self._ring.start()
            self._watch.start()
        except Exception:
            self.close()
            raise

    def run(self) -> None:
        """Take events until the stop token is set; pointer events get their capture here, at once."""
        while not self.stop.is_set():
            try:
                event = self._queue.get(timeout=0.05)
            except queue.Empty:
                self._look_under_pointer()
                continue
            self._take(event)
        self.close()
        while not self._queue.empty():
            self._take(self._queue.get())

    def _take(self, event: RawEvent) -> None:
        kept = self._shots.pop(event.t, None) if event.kind == "button_down" else None  # never left behind
        if self.own_windows and self._is_own(event):
            self.own += 1
            return
        if event.kind in ("button_down", "scroll") and not self.stop.is_set():
            shot = kept or self._ring.before(event.t)
            # No grab before it (the first instant, a failed grab): the screen now, as before.
            frame = shot.frame() if shot is not None else self.screen.capture()
            title = self.windows.title_at(event.x, event.y)
            event = RawEvent(**{**event.__dict__, "frame": frame, "title": title})
            if event.kind == "button_down":
                self._keep_element(event)
        self.events.append(event)

    def _keep_element(self, event: RawEvent) -> None:
        """The accessible element under the press: the one answered while the pointer rested there
        before it, else asked now (under 1 ms, but the application may have reacted already)."""
        if self.tree is None:
            return
        from agent.access.tree_targets import CLICKABLE_ROLES
        from agent.errors import DisplayError

        resting = self._resting
        element: Element | None
        if (
            resting is not None and resting[:2] == (event.x, event.y) and resting[2] < event.t
            and resting[3] is not None and resting[3].role in CLICKABLE_ROLES
        ):
            element = resting[3]  # answered before the press: its name is not the press's result
        else:
            # No answer before it (no rest there, or the tree not ready yet): ask now.
            try:
                element = self.tree.element_at(event.x, event.y)
            except DisplayError:
                return  # the app did not answer: the picture anchor alone, as without a tree
        # Only a target in its own right: a click inside a page or panel means a place, not it.
        if element is not None and element.role in CLICKABLE_ROLES:
            self._elements[event.t] = ElementRef(
                role=element.role, name=element.name, path=list(element.path), window=element.window
            )
            if element.box is not None:
                self._element_boxes[event.t] = element.box

    def _look_under_pointer(self) -> None:
        """Ask the tree for the element under the pointer once it has rested ``_REST_S`` at a new place.

        On this thread (the tree's calls stay on one thread), between events: one lookup
        per resting place, so a press there finds its element as it was before the press.
        """
        pointer = self._pointer
        if self.tree is None or pointer is None:
            return
        x, y, moved_at = pointer
        if time.monotonic() - moved_at < _REST_S:
            return
        if self._resting is not None and self._resting[:2] == (x, y):
            return
        from agent.errors import DisplayError

        try:
            element = self.tree.element_at(x, y)
        except DisplayError:
            element = None
        # Stamped when the answer came: a first lookup into a fresh application can take
        # longer than the user's hover, and an answer that came after the press may be its result.
        self._resting = (x, y, time.monotonic(), element)

    def _is_own(self, event: RawEvent) -> bool:
        """Whether ``event`` went to one of ``own_windows``: pointer by the window under it
        (a release with the press it ends), keys by the window with the keyboard focus."""
        if event.kind == "button_up":
            if event.button in self._own_buttons:
                self._own_buttons.discard(event.button)
                return True
            return False
        if event.kind in ("button_down", "scroll"):
            own = self.windows.title_at(event.x, event.y) in self.own_windows
            if own and event.kind == "button_down":
                self._own_buttons.add(event.button)
            return own
        return self.windows.focused_title() in self.own_windows

    def close(self) -> None:
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        self._ring.stop()
        if self._mark is not None:
            self._mark.close()
            self._mark = None

    # -- the macro ---------------------------------------------------------------------
    def finish(
        self,
        name: str,
        progress: Callable[[str], None] | None = None,
        *,
        interrupted: bool = False,
        reader: TextReader | None = None,
    ) -> Macro:
        """The recorded macro; after Ctrl+C in this terminal that chord is dropped from the end too.

        With a ``reader``, each anchor keeps the text under or beside its point (OCR);
        a reader that cannot load is said once and the anchors are kept without text.
        """
        events = strip_kill_chord(self.events, self.kill_chord)
        if interrupted:
            events = strip_kill_chord(events, ("ctrl", "c"))
        pending = build_steps(events)
        region = self.screen.capture_region()
        first_frame = next((p.frame for p in pending if p.frame is not None), None)
        scale = first_frame.geometry.scale_x if first_frame is not None else 1.0
        monitor = Monitor(
            left=region.left, top=region.top, width=region.width, height=region.height, scale=scale
        )
        steps: list[MacroStep] = []
        previous: float | None = None
        self.targets = []
        maker = AnchorMaker(reader, progress)
        for number, item in enumerate(pending, start=1):
            if progress is not None and item.frame is not None:
                reading = " and reading its text" if maker.reads_text else ""
                progress(f"cutting the anchor of step {number} of {len(pending)}{reading}")
            delay = 0.0 if previous is None else max(0.0, item.t - previous)
            previous = item.t
            point = _image_point(item)
            anchor = None
            if point is not None and item.frame is not None:
                element = self._elements.get(item.t)
                anchor = maker(
                    item.frame.image, point, window_title=item.title,
                    element_box=_image_box(self._element_boxes.get(item.t), item),
                    element_name=element.name if element is not None else "",
                )
                anchor.element = element
                self.targets.append(Target(len(steps), item.frame.image, point))
            steps.append(MacroStep(action=item.action, delay_s=round(delay, 3), anchor=anchor))
        return Macro(
            name=name,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            source="recorded",
            monitor=monitor,
            steps=steps,
        )


def _image_point(item: PendingStep) -> tuple[int, int] | None:
    """The step's point in its frame's pixels; None without a frame or a point, or off the monitor."""
    if item.frame is None or "x" not in item.action:
        return None
    geometry = item.frame.geometry
    screen_xy = (int(item.action["x"]), int(item.action["y"]))
    if not geometry.region.contains(*screen_xy):
        return None  # a step off the recorded monitor cannot be anchored (and will not replay)
    return screen_to_image(screen_xy, geometry)


def _image_box(box: Region | None, item: PendingStep) -> Box | None:
    """An element's screen box in its step's frame pixels; None without one or off the frame."""
    if box is None or item.frame is None:
        return None
    geometry = item.frame.geometry
    region = geometry.region
    left, top = max(box.left, region.left), max(box.top, region.top)
    right = min(box.left + box.width, region.left + region.width) - 1
    bottom = min(box.top + box.height, region.top + region.height) - 1
    if right < left or bottom < top:
        return None
    x0, y0 = screen_to_image((left, top), geometry)
    x1, y1 = screen_to_image((right, bottom), geometry)
    return Box(x0, y0, x1 - x0 + 1, y1 - y0 + 1)

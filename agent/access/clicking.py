"""Click by name: one guarded action built on the run core (capture → read → point → executor → settle).

The name is looked up in the OCR text of one frame. Several matches are listed in
reading order and nothing is clicked unless ``pick`` chooses one; no match is a
failure, never a guess. The click goes through ``GuardedExecutor`` like every model
action: policy, confirmation, stop and pause checks, dry run, the history record.

When OCR finds nothing, a ``Locator`` may be asked instead: ``agent.api`` plugs in
the model's grounding call (``locate``) when the caller gives a ``Session``. Without
one, or when the model points at nothing, "not found" is the answer.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from agent.access.matching import Match, find_matches
from agent.actions import DoubleClick, LeftClick, RightClick, ScreenAction
from agent.run.harness import RunEnd
from agent.scaling import image_to_screen
from agent.wording import clip

if TYPE_CHECKING:
    from agent.computers.base import Frame
    from agent.ports import Speech, TextReader
    from agent.records.schema import StepRecord
    from agent.run.capture import Capture
    from agent.run.events import RunResult
    from agent.run.executor import GuardedExecutor
    from agent.run.harness import RunHarness

Button = Literal["left", "double", "right"]
_WORDS = {"left": "Clicking", "double": "Double-clicking", "right": "Right-clicking"}


class Locator(Protocol):
    """Finds the element a name means when OCR cannot: a screen point, or None (the model seam)."""

    def locate(self, name: str, frame: Frame) -> tuple[int, int] | None: ...


@dataclass(frozen=True)
class ClickRequest:
    name: str
    pick: int | None = None  # 1-based, in reading order
    button: Button = "left"


@dataclass
class Found:
    """What the run found on the screen: every match in reading order, and the one clicked."""

    matches: list[Match] = field(default_factory=list)
    clicked: Match | None = None


@dataclass(frozen=True)
class ClickResult:
    result: RunResult
    found: Found

    @property
    def exit_code(self) -> int:
        return self.result.exit_code


def _where(match: Match, frame: Frame) -> str:
    """A coarse place on the screen in words ("top left"), for listing and speaking."""
    x, y = match.box.center
    width, height = frame.image.size
    row = "top" if y < height / 3 else "bottom" if y > 2 * height / 3 else "middle"
    col = "left" if x < width / 3 else "right" if x > 2 * width / 3 else "centre"
    return "centre" if (row, col) == ("middle", "centre") else f"{row} {col}"


def describe_match(number: int, match: Match, frame: Frame) -> str:
    """One numbered match: its text, where it is in words, and its screen point, which tells equals apart."""
    x, y = image_to_screen(match.box.center, frame.geometry)
    return f"{number}. {clip(match.text, 60)}, {_where(match, frame)} (at {x}, {y})"


@dataclass
class ClickByName:
    """One click-by-name run on the standard core."""

    reader: TextReader
    executor: GuardedExecutor
    capture: Capture
    harness: RunHarness
    speech: Speech | None = None
    locator: Locator | None = None
    on_line: Callable[[str], None] = lambda line: None  # progress in words ("Clicking Save, top left")
    on_list: Callable[[str], None] = lambda line: None  # the numbered matches when several are found

    def run(self, request: ClickRequest) -> ClickResult:
        found = Found()
        result = self.harness.run(f"click {request.name}", functools.partial(self._body, request, found))
        return ClickResult(result, found)

    def _say(self, text: str) -> None:
        self.on_line(text)
        if self.speech is not None:
            self.speech.say(text)

    def _list(self, text: str) -> None:
        self.on_list(text)
        if self.speech is not None:
            self.speech.say(text)

    def _body(self, request: ClickRequest, found: Found) -> RunEnd:
        executor, harness = self.executor, self.harness
        executor.check_stop()
        record = harness.begin_step(1)
        started = time.perf_counter()
        frame = self.capture.frame()
        record.timings["capture_s"] = time.perf_counter() - started
        harness.attach_frame(record, frame)
        self.on_line("Reading the screen…")  # OCR takes a second or two on a full monitor
        read = time.perf_counter()
        boxes = self.reader.read(frame.image)
        record.timings["ocr_s"] = time.perf_counter() - read
        executor.check_stop()
        matches = find_matches(request.name, boxes)
        found.matches = matches
        name = clip(request.name, 60)

        if not matches:
            point = None
            if self.locator is not None:
                # Said before asking: loading or asking a model takes seconds, and may fail.
                self._say(f"{name} not found on screen; asking the model")
                point = self.locator.locate(request.name, frame)
            if point is None:
                record.error = f"no text matching {name!r} on the screen"
                harness.finish_step(record, frame)
                self._say(f"Not found: {name}")
                return RunEnd("failure", f"{record.error} (OCR read {len(boxes)} text boxes)")
            # A point a model guessed is confirmed before the click (unless --confirm never).
            return self._click(
                request, frame, record, point, name, ask=f"the model located {name!r}; OCR did not"
            )
        if request.pick is None and len(matches) > 1:
            self._list(f"{len(matches)} matches for {name}:")
            for number, match in enumerate(matches, 1):
                self._list(describe_match(number, match, frame))
            record.error = f"{len(matches)} matches; nothing clicked"
            harness.finish_step(record, frame)
            return RunEnd("failure", f"{len(matches)} matches for {name!r}; choose one with --pick N")
        index = (request.pick or 1) - 1
        if index >= len(matches):
            record.error = f"--pick {request.pick}: there are only {len(matches)} matches"
            harness.finish_step(record, frame)
            return RunEnd("failure", record.error)
        chosen = found.clicked = matches[index]
        point = image_to_screen(chosen.box.center, frame.geometry)
        return self._click(request, frame, record, point, f"{clip(chosen.text, 60)}, {_where(chosen, frame)}")

    def _click(
        self,
        request: ClickRequest,
        frame: Frame,
        record: StepRecord,
        point: tuple[int, int],
        words: str,
        ask: str = "",
    ) -> RunEnd:
        x, y = point
        kinds = {"left": LeftClick, "double": DoubleClick, "right": RightClick}
        action = ScreenAction.at_screen_point(kinds[request.button](coordinate=(x, y)), x, y)
        self._say(f"{_WORDS[request.button]} {words}")
        result = self.executor.execute(1, action, frame.region, ask=ask)
        record.actions.append(result.record)
        if result.performed:
            record.timings["perform_s"] = result.perform_s
            settled = time.perf_counter()
            self.capture.settle()
            record.timings["settle_s"] = time.perf_counter() - settled
        self.harness.finish_step(record, frame)
        if result.performed:
            self._say("Done")
            return RunEnd("success", f"clicked {words}")
        if result.status == "dry_run":
            return RunEnd("success", f"would click {words} (dry run)")
        why = result.status.replace("_", " ") + (f": {result.reason}" if result.reason else "")
        self._say(f"Not clicked: {why}")
        return RunEnd("failure", f"not clicked ({why})")

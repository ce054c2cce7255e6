"""Click by name: one guarded action built on the run core (capture → read → point → executor → settle).

The name is looked up in the OCR text of one frame. Several matches are listed in
reading order and nothing is clicked unless ``pick`` chooses one; no match is a
failure, never a guess. The click goes through ``GuardedExecutor`` like every model
action: policy, confirmation, stop and pause checks, dry run, the history record.

When OCR finds nothing, a ``Locator`` may be asked instead: ``agent.api`` plugs in
the model's grounding call (``locate``) when the caller gives a ``Session``. Without
one, or when the model points at nothing, "not found" is the answer.

Before OCR, an ``AccessibleTree`` (where the active window has one) is asked by name
(``agent.access.tree_targets``): exact and fast, and the only source that may press an
element without moving the pointer (``no_pointer``), through the same executor.

A tree-found click or press is then confirmed (``agent.effects``): an event from the
element's application after the action, or the element read again differing. What an
unconfirmed one means is decided in ``ClickByName._confirm``.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from agent.access.matching import Match, find_matches
from agent.access.tree_targets import CLICKABLE_ROLES, tree_matches
from agent.actions import DoubleClick, LeftClick, RightClick, ScreenAction
from agent.effects import CONFIRM_TIMEOUT_S, disabled, effect_words
from agent.errors import DeskpilotError
from agent.ports import NameReader
from agent.run.harness import RunEnd
from agent.scaling import image_to_screen
from agent.wording import clip

if TYPE_CHECKING:
    from agent.computers.base import Frame
    from agent.ports import AccessibleTree, Effect, Element, Speech, TextReader
    from agent.records.schema import StepRecord
    from agent.run.capture import Capture
    from agent.run.events import RunResult
    from agent.run.executor import GuardedExecutor
    from agent.run.harness import RunHarness

Button = Literal["left", "double", "right"]
_WORDS = {"left": "Clicking", "double": "Double-clicking", "right": "Right-clicking"}
TREE, OCR, MODEL = "the accessibility tree", "OCR", "the model"  # which source found the target

log = logging.getLogger(__name__)


class Locator(Protocol):
    """Finds the element a name means when OCR cannot: a screen point, or None (the model seam)."""

    def locate(self, name: str, frame: Frame) -> tuple[int, int] | None: ...


@dataclass(frozen=True)
class ClickRequest:
    name: str
    pick: int | None = None  # 1-based, in reading order
    button: Button = "left"
    no_pointer: bool = False  # press the element through the accessibility tree; the pointer stays put


@dataclass
class Found:
    """What the run found on the screen: every match in reading order, and the one clicked."""

    matches: list[Match] = field(default_factory=list)
    clicked: Match | None = None
    source: str = ""  # TREE, OCR or MODEL: which found the target
    elements: list[Element] = field(default_factory=list)  # the tree's matches, in reading order
    element: Element | None = None  # the one clicked or pressed


@dataclass(frozen=True)
class ClickResult:
    result: RunResult
    found: Found

    @property
    def exit_code(self) -> int:
        return self.result.exit_code


def _where(match: Match, frame: Frame) -> str:
    """A coarse place on the screen in words ("top left"), for listing and speaking."""
    return _place(*match.box.center, *frame.image.size)


def _element_where(element: Element, frame: Frame) -> str:
    """The same words for an element, whose box is in screen units rather than image pixels."""
    x, y = element.center or (0, 0)
    region = frame.region
    return _place(x - region.left, y - region.top, region.width, region.height)


def _place(x: int, y: int, width: int, height: int) -> str:
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
    tree: AccessibleTree | None = None  # asked first, where the active window has one
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
        if self.tree is not None:
            end = self._by_tree(request, found, frame, record)
            if end is not None:
                return end
        if request.no_pointer:
            # OCR and the model give points only: pressing without the pointer needs the tree.
            record.error = f"no accessible element named {clip(request.name, 60)!r}; nothing pressed"
            harness.finish_step(record, frame)
            self._say(f"Not found: {clip(request.name, 60)}")
            return RunEnd("failure", f"{record.error} (--no-pointer needs the accessibility tree)")
        self.on_line("Reading the screen…")  # OCR takes a second or two on a full monitor
        read = time.perf_counter()
        # A reader that can (OCR) reads the boxes sized like the name first, often only those.
        reader = self.reader
        if isinstance(reader, NameReader):
            boxes = reader.read_for(frame.image, request.name)
        else:
            boxes = reader.read(frame.image)
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
            found.source = MODEL
            return self._click(
                request, frame, record, point, name,
                ask=f"the model located {name!r}; OCR did not", source=MODEL,
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
        found.source = OCR
        point = image_to_screen(chosen.box.center, frame.geometry)
        return self._click(
            request, frame, record, point, f"{clip(chosen.text, 60)}, {_where(chosen, frame)}", source=OCR
        )

    def _by_tree(
        self, request: ClickRequest, found: Found, frame: Frame, record: StepRecord
    ) -> RunEnd | None:
        """Click or press what the tree names ``request.name``; None falls back to OCR (no tree, no match)."""
        assert self.tree is not None
        started = time.perf_counter()
        try:
            elements = self.tree.find(CLICKABLE_ROLES) if self.tree.available() else []
        except DeskpilotError as err:  # the tree broke mid-query: the pixels still work
            log.info("accessibility tree query failed: %s", err)
            elements = []
        matches = tree_matches(request.name, elements)
        record.timings["tree_s"] = time.perf_counter() - started
        if not matches:
            return None
        found.source, found.elements = TREE, matches
        name = clip(request.name, 60)
        if request.pick is None and len(matches) > 1:
            self._list(f"{len(matches)} matches for {name} (found by {TREE}):")
            for number, element in enumerate(matches, 1):
                where = _element_where(element, frame)
                self._list(f"{number}. {element.role} {clip(element.name, 60)}, {where}")
            record.error = f"{len(matches)} matches; nothing clicked"
            self.harness.finish_step(record, frame)
            return RunEnd("failure", f"{len(matches)} matches for {name!r}; choose one with --pick N")
        index = (request.pick or 1) - 1
        if index >= len(matches):
            record.error = f"--pick {request.pick}: there are only {len(matches)} matches"
            self.harness.finish_step(record, frame)
            return RunEnd("failure", record.error)
        chosen = found.element = matches[index]
        words = f"the {chosen.role} {clip(chosen.name, 60)}, {_element_where(chosen, frame)}"
        point = chosen.center
        assert point is not None  # tree_matches keeps only elements with a box
        if request.no_pointer:
            return self._click(request, frame, record, point, words, source=TREE, press=chosen, watch=chosen)
        if self.tree.covered(chosen):
            # The tree still says "showing" under another window: a click would land on that one.
            record.error = f"{words} is covered by another window; nothing clicked"
            self.harness.finish_step(record, frame)
            self._say(f"Not clicked: {record.error}")
            return RunEnd("failure", f"not clicked ({record.error}; bring its window to the front)")
        return self._click(request, frame, record, point, words, source=TREE, watch=chosen)

    def _click(
        self,
        request: ClickRequest,
        frame: Frame,
        record: StepRecord,
        point: tuple[int, int],
        words: str,
        ask: str = "",
        source: str = "",
        press: Element | None = None,
        watch: Element | None = None,
    ) -> RunEnd:
        """Click at ``point`` (or ``press`` the element without the pointer); a ``watch``ed
        element's effect is then confirmed before settling."""
        x, y = point
        kinds = {"left": LeftClick, "double": DoubleClick, "right": RightClick}
        # A press is judged by the policy as the click it stands for, at the element's centre.
        action = ScreenAction.at_screen_point(kinds[request.button](coordinate=(x, y)), x, y)
        verb = "Pressing" if press is not None else _WORDS[request.button]
        self._say(f"{verb} {words} (found by {source})")
        perform = watching = None
        if press is not None or watch is not None:
            tree = self.tree
            assert tree is not None
            if press is not None:
                perform = functools.partial(tree.do_action, press)
            if watch is not None:
                watching = functools.partial(tree.watch, watch)
        result = self.executor.execute(1, action, frame.region, ask=ask, perform=perform, watch=watching)
        if press is not None:
            result.record.element_description = f"pressed {press.role} {press.name!r} without the pointer"
        record.actions.append(result.record)
        effect = result.effect
        if result.performed:
            record.timings["perform_s"] = result.perform_s
            if effect is not None:
                record.timings["effect_s"] = effect.after_s
                self.executor.check_stop()  # a stop during the wait ends the run, nothing after
            settled = time.perf_counter()
            self.capture.settle()
            record.timings["settle_s"] = time.perf_counter() - settled
        self.harness.finish_step(record, frame)
        done = "pressed" if press is not None else "clicked"
        if result.performed:
            if effect is not None:
                return self._confirm(effect, f"{done} {words}", source, watch, pressed=press is not None)
            self._say("Done")
            return RunEnd("success", f"{done} {words} (found by {source})")
        if result.status == "dry_run":
            verb = "press" if press is not None else "click"
            return RunEnd("success", f"would {verb} {words} (found by {source}; dry run)")
        why = result.status.replace("_", " ") + (f": {result.reason}" if result.reason else "")
        self._say(f"Not clicked: {why}")
        return RunEnd("failure", f"not clicked ({why})")

    def _confirm(
        self, effect: Effect, done: str, source: str, element: Element | None, *, pressed: bool
    ) -> RunEnd:
        """The end of a performed, watched action: confirmed, or what seeing no effect means.

        Seeing no effect is never retried: the action may have acted (a handler whose work
        the tree does not show), and a second press could do it twice. Whether it fails:

        - a press without the pointer (``--no-pointer``) fails (exit 1): AT-SPI's
          ``do_action`` answers True on an insensitive GTK button and does nothing, so its
          True is the only evidence there is, and it is no evidence;
        - a pointer click fails (exit 1) when the tree said the element was disabled
          (neither "enabled" nor "sensitive"): it landed on something that ignores clicks;
        - any other pointer click succeeds, said plainly: the input really reached the
          element's box, checked to be on top beforehand, and an enabled control whose
          work shows nowhere in the tree (saving a file) is a common, correct click.
        """
        if effect.seen:
            return self._done(f"{done} (found by {source}; confirmed: {effect_words(effect)})", "Done")
        unseen = f"{done} but saw no effect within {CONFIRM_TIMEOUT_S:g} s (found by {source}; not retried"
        off = element is not None and disabled(element.states)
        if pressed or off:
            self._say("No effect seen")
            why = "the tree says it is disabled" if off else "it may have acted"
            return RunEnd("failure", f"{unseen}: {why})")
        return self._done(f"{unseen}: the click reached its box)", "Done, but no effect seen")

    def _done(self, line: str, spoken: str) -> RunEnd:
        """A success whose result line is shown (what confirmed it, or that nothing did) and said short."""
        self.on_line(line)
        if self.speech is not None:
            self.speech.say(spoken)
        return RunEnd("success", line)

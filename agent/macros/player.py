"""Replaying a macro on the run core: each step settles, finds its anchor, then goes through the executor.

No model is involved unless the healer has a grounder and a step's anchor carries a
description. A pointer step runs only where its anchor was found on the current screen
(``healing``), and when each tier may run follows from its cost (``costs_due``): looks
on every look; reads only after the first second of the wait (``FALLBACK_AFTER_S``); a
model (tier d, ``Healer.ground``) once per step, when the looks and reads found nothing
for the whole wait; asking the user last. When no tier
finds it, the step, its crop and the best candidate are kept, and the operator is
asked (tier e, ``ask_lost_target``): the tray shows the crop beside the screen and the
user accepts the candidate, points at the target, or stops; an operator that cannot
ask (the terminal) stops. Stopping ends the run as a failure, nothing clicked. A dry run
asks no one: it goes on to look at every step and ends as a failure naming the steps
whose target was not found. Progress lines say when each row and repeat starts. Keys,
typing and waits need no anchor. Every action, the user's pointed one too, goes through
``GuardedExecutor.execute``, so the policy, the confirmation, the stop token and the dry
run apply to macros as to the agent.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from agent.effects import CONFIRM_TIMEOUT_S, disabled, effect_words
from agent.errors import ConfigError
from agent.imaging import Box
from agent.macros.healing import Found, Healer, Miss, anchor_point_in, box_around, frame_point_to_screen
from agent.macros.schema import Macro, MacroStep, Monitor, decode_png, screen_action
from agent.macros.tiers import Cost, TierName
from agent.records.schema import StepRecord
from agent.run.capture import Capture
from agent.run.events import RunResult
from agent.run.executor import GuardedExecutor
from agent.run.harness import RunEnd, RunHarness
from agent.run.ports import LostTarget, ask_lost_target
from agent.scaling import screen_to_image
from agent.wording import describe_action, plural

if TYPE_CHECKING:
    from agent.computers.base import Frame
    from agent.geometry import Region
    from agent.macros.schema import Anchor
    from agent.ports import AccessibleTree, Effect, Element

# Tier (e), of cost ``Cost.ASK``: the user pointed at the target (or accepted the best
# candidate) when asked. The player asks, because only it holds the operator.
USER_TIER = TierName.E_USER

# "At least a few seconds" for an anchor to appear, however fast the recording was.
MIN_ANCHOR_TIMEOUT_S = 3.0
# The timeout is this many times the recorded pause before the step.
PACE_FACTOR = 3.0
# How often the screen is looked at again while waiting for an anchor.
_RETRY_S = 0.1
# Tiers that read (c) or ask a model (d) know a target by its text or description, more
# loosely than by its picture: the first second of a wait is left to the looks, so a
# target that is still appearing is found by its look, not by the same label elsewhere.
FALLBACK_AFTER_S = 1.0


def costs_due(elapsed_s: float, timeout_s: float) -> tuple[Cost, ...]:
    """The tier costs one look at ``elapsed_s`` into a ``timeout_s`` wait may use (pure).

    Looks on every retry; reads from the first second on (never later than the deadline,
    so the last look has them); models and asking are not part of the wait: the model
    runs once after it, asking the user last.
    """
    if elapsed_s >= min(FALLBACK_AFTER_S, timeout_s):
        return (Cost.LOOK, Cost.READ)
    return (Cost.LOOK,)


@dataclass(frozen=True)
class PlaySettings:
    speed: float | None = None  # recorded delays divided by this; None: no recorded delays ("max")
    wait: str = "screen"  # "screen": settle and wait for anchors; "recorded": recorded delays only
    repeat: int = 1
    dry_run: bool = False
    anchor_timeout_s: float | None = None  # None: from the recorded pace


@dataclass
class StepReport:
    """What the replay report shows for one step."""

    number: int
    words: str
    anchor_png: str = ""  # the recorded crop (base64 PNG)
    found: Found | None = None
    miss: Miss | None = None
    frame: Frame | None = None
    status: str = ""
    seconds: float = 0.0  # the whole step: for a miss, the wait for its anchor
    recorded: str = ""  # the step as recorded (``words`` is the action as played, once played)
    effect: str = ""  # an element-tier step's confirmation in words; "" where not watched


@dataclass
class PlayLog:
    steps: list[StepReport] = field(default_factory=list)
    healed: list[StepReport] = field(default_factory=list)


MissSaver = Callable[[int, MacroStep, Miss, "Frame"], None]


class MacroPlayer:
    def __init__(
        self,
        executor: GuardedExecutor,
        capture: Capture,
        harness: RunHarness,
        healer: Healer,
        settings: PlaySettings,
        *,
        on_miss: MissSaver | None = None,
        on_found: Callable[[int, MacroStep, Found, Frame], None] | None = None,
        say: Callable[[str], None] | None = None,
        tree: AccessibleTree | None = None,
    ) -> None:
        self.executor = executor
        self.tree = tree  # confirms the effect of a step the element tier found
        self.capture = capture
        self.harness = harness
        self.healer = healer
        self.settings = settings
        self.on_miss = on_miss
        self.on_found = on_found
        self.say = say or (lambda _line: None)
        self.log = PlayLog()
        # When the previous step's action began: recorded pauses are kept from there, so
        # the time an action itself takes does not add up over a macro.
        self._last_start: float | None = None

    @property
    def stop(self) -> threading.Event:
        return self.executor.stop

    def play(self, macro: Macro, rows: Sequence[dict[str, str]], task: str) -> RunResult:
        """Play ``macro`` once per row of variables, ``repeat`` times over; one recorded run."""
        if not rows:
            raise ConfigError("no rows to play: the data file has a header but no rows")
        return self.harness.run(task, lambda: self._all(macro, rows))

    def _all(self, macro: Macro, rows: Sequence[dict[str, str]]) -> RunEnd:
        region = self.capture.frame().region
        repeat = self.settings.repeat
        total = repeat * len(rows) * len(macro.steps)
        number = 0
        not_found: list[int] = []  # dry run: the steps whose target no tier found
        try:
            for turn in range(1, repeat + 1):
                if repeat > 1:
                    self.say(f"repeat {turn} of {repeat}")
                for index, row in enumerate(rows, start=1):
                    if len(rows) > 1:
                        self.say(f"row {index} of {len(rows)}")
                    for step in macro.steps:
                        number += 1
                        end = self._step(number, macro, step, row, region)
                        if end is not None:
                            return end
                        last = self.log.steps[-1]
                        if last.miss is not None and last.found is None:  # a dry run goes on past it
                            not_found.append(number)
        finally:
            # A failure or a stop: the steps after it are listed too, so the report shows them.
            for later in range(len(self.log.steps) + 1, total + 1):
                step = macro.steps[(later - 1) % len(macro.steps)]
                words = describe_action(step.action)
                self.log.steps.append(
                    StepReport(later, words, step.anchor.crop if step.anchor else "", recorded=words,
                               status="not reached")
                )
        if not_found:
            # A dry run exists to check the anchors: one missing is what it must report.
            which = ", ".join(str(n) for n in not_found)
            return RunEnd(
                "failure",
                f"dry run: {len(not_found)} of {plural(number, 'step', 'steps')}' targets not found "
                f"({'step' if len(not_found) == 1 else 'steps'} {which})",
            )
        performed = "checked" if self.settings.dry_run else "played"
        times = repeat * len(rows)
        done = plural(number, "step")
        if times > 1:
            done = f"{plural(len(macro.steps), 'step')} {times} times ({done})"
        return RunEnd("success", f"{performed} {done}" + (" (dry run)" if self.settings.dry_run else ""))

    def _step(
        self, number: int, macro: Macro, step: MacroStep, row: dict[str, str], region: Region
    ) -> RunEnd | None:
        self.executor.check_stop()
        self.executor.honour_pause()
        if self.settings.speed is not None and step.delay_s > 0 and self._last_start is not None:
            due = self._last_start + step.delay_s / self.settings.speed
            self.executor.wait(max(0.0, due - time.monotonic()))
        record = self.harness.begin_step(number)
        words = describe_action(step.action)
        report = StepReport(number, words, step.anchor.crop if step.anchor else "", recorded=words)
        self.log.steps.append(report)
        started = time.perf_counter()
        try:
            return self._play_step(number, macro, step, row, region, record, report, started)
        finally:
            # The whole step, a miss's wait for its anchor (and the user's answer) included.
            report.seconds = time.perf_counter() - started

    def _play_step(
        self,
        number: int,
        macro: Macro,
        step: MacroStep,
        row: dict[str, str],
        region: Region,
        record: StepRecord,
        report: StepReport,
        started: float,
    ) -> RunEnd | None:
        executor = self.executor
        frame: Frame | None = None
        point: tuple[int, int] | None = None
        if step.needs_anchor:
            if step.anchor is None:
                # Never click blind: without an anchor the recorded point may be anything now.
                return self._fail(
                    record, report, None, f"step {number} has no anchor; not acting at recorded coordinates"
                )
            if self.settings.wait == "screen":
                record.settled_by = self.capture.settle().source
            frame, result = self._find(step, macro.monitor)
            if isinstance(result, Miss) and self.healer.can_ground(step.anchor):
                # Only now, after the whole wait: a model call costs seconds, a look milliseconds.
                self.say(
                    f"step {number}: {report.words}: not found by tiers a-c; "
                    f"asking the model for {step.anchor.description.strip()!r}"
                )
                result = self.healer.ground(frame, step.anchor, result, macro.monitor)
                executor.check_stop()  # a stop while it generated: nothing after it
            elif isinstance(result, Miss) and step.anchor.description.strip():
                # Say why a described step was not grounded: the user may want the model on.
                result = replace(result, reason=f"{result.reason}; the model tier is off")
            self.harness.attach_frame(record, frame)
            report.frame = frame
            record.timings["find_s"] = time.perf_counter() - started
            if isinstance(result, Miss):
                report.miss = result
                if self.on_miss is not None:
                    self.on_miss(number, step, result, frame)
                if self.settings.dry_run:
                    report.status = "not found (dry run)"
                    record.error = f"anchor not found: {result.reason}"
                    self.say(f"step {number}: {report.words}: anchor not found ({result.reason})")
                    self.harness.finish_step(record, frame)
                    return None
                answer = self._ask_user(number, step.anchor, result, frame, report.words)
                if answer is None:
                    return self._fail(
                        record,
                        report,
                        frame,
                        f"step {number} ({report.words}): {result.reason}; stopped, nothing clicked",
                    )
                result = answer
            record.anchor_tier = result.tier
            report.found = result
            point = result.point
            if result.tier not in (TierName.A_NEAR, TierName.ELEMENT):
                self.log.healed.append(report)
                self.say(
                    f"step {number}: healed by tier {result.tier} "
                    f"(score {result.score:.2f}, {result.seconds * 1000:.0f} ms)"
                )
            if self.on_found is not None:
                self.on_found(number, step, result, frame)
        action = screen_action(step, point, row)
        # The action as played (at the point found, the text filled in), as the terminal shows it.
        report.words = describe_action(action.to_json_dict())
        self._last_start = time.monotonic()
        element = report.found.element if report.found is not None else None
        # Watched from just before the input, as click by name watches a tree-found click.
        watch = None
        if element is not None and self.tree is not None:
            watch = functools.partial(self.tree.watch, element)
        outcome = executor.execute(number, action, frame.region if frame is not None else region, watch=watch)
        record.actions.append(outcome.record)
        report.status = outcome.status
        if outcome.performed:
            record.timings["perform_s"] = outcome.perform_s
            if outcome.effect is not None and element is not None:
                executor.check_stop()  # a stop during the wait: nothing after it
                end = self._confirmed(number, outcome.effect, element, record, report)
                if end is not None:
                    record.timings["step_s"] = time.perf_counter() - started
                    self.harness.finish_step(record, frame)
                    return end
        record.timings["step_s"] = time.perf_counter() - started
        if not outcome.performed and outcome.status != "dry_run":
            why = f": {outcome.reason}" if outcome.reason else ""
            record.error = f"{outcome.status}{why}"
            self.harness.finish_step(record, frame)
            # Named as played: the line just before it (and any prompt) showed that action.
            return RunEnd("failure", f"step {number} ({report.words}) was {outcome.status}{why}")
        self.harness.finish_step(record, frame)
        return None

    def _confirmed(
        self,
        number: int,
        effect: Effect,
        element: Element,
        record: StepRecord,
        report: StepReport,
    ) -> RunEnd | None:
        """Record what confirmed an element-tier step, or that nothing did (click by name's rule).

        Seeing nothing is never retried (the input may have acted); it ends the replay only
        where the tree said the element was disabled: the macro's input landed on something
        that ignores it. Otherwise the next step's wait for its anchor is the check.
        """
        record.timings["effect_s"] = effect.after_s
        if effect.seen:
            report.effect = f"confirmed: {effect_words(effect)}"
            return None
        report.effect = f"no effect seen within {CONFIRM_TIMEOUT_S:g} s"
        self.say(f"step {number}: {report.words}: saw no effect within {CONFIRM_TIMEOUT_S:g} s (not retried)")
        if disabled(element.states):
            what = f"the {element.role} {element.name!r}"
            why = f"step {number} ({report.words}): {what} is disabled and showed no effect"
            record.error = why
            return RunEnd("failure", why)
        return None

    def _find(self, step: MacroStep, monitor: Monitor) -> tuple[Frame, Found | Miss]:
        """Look for the anchor until it appears or the timeout passes; a stop ends the wait."""
        if step.anchor is None:
            raise ConfigError("a step without an anchor cannot be looked for")
        timeout = self.settings.anchor_timeout_s
        if timeout is None:
            timeout = max(MIN_ANCHOR_TIMEOUT_S, PACE_FACTOR * step.delay_s)
        if self.settings.wait != "screen" or self.settings.dry_run:
            timeout = 0.0  # one look: nothing performed in a dry run will make it appear
        started = time.monotonic()
        while True:
            frame = self.capture.frame()
            costs = costs_due(time.monotonic() - started, timeout)
            result = self.healer.locate(frame, step.anchor, monitor, costs=costs)
            # The last look always has every tier of the wait: a Miss means none found it.
            if isinstance(result, Found) or (Cost.READ in costs and time.monotonic() - started >= timeout):
                return frame, result
            self.executor.check_stop()
            if self.stop.wait(_RETRY_S):
                self.executor.check_stop()

    def _ask_user(self, number: int, anchor: Anchor, miss: Miss, frame: Frame, words: str) -> Found | None:
        """Tier (e): ask the operator where the target is; None means stop (also on a timeout).

        The user's answer is input Deskpilot asked for, so the takeover guard ignores it;
        a point off the monitor the frame shows is refused (it could be anything).
        """
        best = miss.best
        best_point = _candidate_point(frame, anchor, best.box) if best is not None else None
        question = LostTarget(
            number=number,
            words=words,
            crop=decode_png(anchor.crop),
            frame=frame,
            reason=miss.reason,
            best_box=None if best is None else (best.box.left, best.box.top, best.box.width, best.box.height),
            best_point=best_point,
            best_score=best.score if best is not None else None,
        )
        started = time.perf_counter()
        executor = self.executor
        with executor.guard.agent_acting():
            point = ask_lost_target(executor.operator, question, self.stop, executor.confirm_timeout_s)
        executor.check_stop()  # the kill hotkey while asking stops the run, as everywhere
        if point is None:
            return None
        region = frame.region
        if not (region.left <= point[0] < region.right and region.top <= point[1] < region.bottom):
            self.say(f"step {number}: the point {point} is off the monitor; stopped")
            return None
        if best is not None and point == best_point:
            box, score = best.box, best.score  # the candidate, accepted as it was
        else:
            box, score = box_around(frame, anchor, screen_to_image(point, frame.geometry)), 0.0
        return Found(point, box, USER_TIER, score, time.perf_counter() - started)

    def _fail(self, record: StepRecord, report: StepReport, frame: Frame | None, detail: str) -> RunEnd:
        record.error = detail
        report.status = "failed"
        self.harness.finish_step(record, frame)
        return RunEnd("failure", detail)


def _candidate_point(frame: Frame, anchor: Anchor, box: Box) -> tuple[int, int]:
    """The screen point acting on candidate ``box`` would use: the anchor's point, stretched with it."""
    return frame_point_to_screen(frame, anchor_point_in(anchor, box))

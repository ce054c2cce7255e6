"""A task replayed from a run that succeeded: the run's steps through the macro player, the model after.

The run becomes a macro (``macros.from_run``: anchors cut from the run's own
screenshots), played on the same guarded run a model run gets: every step through the
executor, the policy and the confirmation, every target found again by the healing
tiers that compare looks (a and b; never the model tier, never clicked blind). The first step
whose target no tier finds on the screen within the wait is where the screen no longer
matches what the run saw: nothing is clicked, and from that step on the model is asked
(loaded only then), with the replayed steps in its history and a note saying why.
A step the policy refuses or the user rejects ends the run as it would a macro.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from agent.computer_use.prompts import StepNote
from agent.errors import DeskpilotError
from agent.macros.player import MacroPlayer, PlaySettings, StepReport
from agent.macros.schema import Macro, fill_variables, literal_text
from agent.replays.matching import Choice, NoReplay, choose
from agent.replays.store import Layout, ReplayEntry, add_entry, live_entries
from agent.run.harness import RunEnd
from agent.wording import plural

if TYPE_CHECKING:
    from agent.computer_use.loop import AgentLoop
    from agent.computers.base import Frame
    from agent.geometry import Region
    from agent.macros.schema import Anchor, MacroStep
    from agent.macros.tiers import Found, Miss
    from agent.records.schema import StepRecord
    from agent.run.capture import Capture
    from agent.run.events import RunResult
    from agent.run.executor import GuardedExecutor
    from agent.run.harness import RunHarness
    from agent.wiring import CheckedRun

log = logging.getLogger(__name__)

Say = Callable[[str], None]

# The run as a macro, cut once when the run is kept, in the run's own folder (0600): cutting
# a distinctive anchor searches the whole screenshot, seconds a replay need not spend.
MACRO_FILE = "replay-macro.json"

# How long a replayed step waits for its target before the model is asked: a replay
# exists to be fast, and the run it replays had a settled screen at every step.
ANCHOR_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class ReplayPlan:
    """What a task replays: the index entry, its run as a macro, the values to type."""

    entry: ReplayEntry
    macro: Macro
    values: dict[str, str]

    @property
    def when(self) -> str:
        """The run's start in the user's words: "2 Dec 14:05"."""
        return run_date(self.entry.started_at)


@dataclass(frozen=True)
class Handoff:
    """Where the replay stopped fitting: the step the model starts at, why, and what was done before."""

    number: int
    words: str
    reason: str
    done: tuple[StepNote, ...]


def run_date(iso: str) -> str:
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    local = moment.astimezone()
    return f"{local.day} {local:%b %H:%M}"


def current_layout(checked: CheckedRun) -> Layout:
    """This display's layout now, as a replay entry keeps it (one capture gives the scale)."""
    platform = checked.platform
    monitors = tuple((r.left, r.top, r.width, r.height) for r in platform.screen(1).monitors())
    frame = platform.screen(checked.settings.monitor).capture()
    return Layout(monitors=monitors, monitor=checked.settings.monitor, scale=round(frame.geometry.scale_x, 3))


def find_replay(
    checked: CheckedRun, task: str, values: Mapping[str, str], layout: Layout, say: Say
) -> ReplayPlan | None:
    """The replay ``task`` gets under the rule (``matching``), said in one line; None: ask the model."""
    choice = choose(live_entries(checked.history), task, values, layout)
    if isinstance(choice, NoReplay):
        if choice.reason:
            say(f"not replaying an earlier run: {choice.reason}")
        return None
    try:
        plan = prepare(checked, choice)
    except DeskpilotError as err:
        say(f"cannot replay run {choice.entry.run_id} ({err}); asking the model")
        return None
    say(f"replaying the run of {plan.when}, no model; --fresh to ask the model")
    return plan


def prepare(checked: CheckedRun, choice: Choice) -> ReplayPlan:
    """The chosen run as a macro whose typed values are variables again (``{name}``).

    The macro was made when the run was kept (``remember``); an entry without that file
    gets it made now, from the run's screenshots.
    """
    from agent.macros.from_run import macro_from_run
    from agent.macros.schema import load_macro

    kept = checked.history / choice.entry.run_id / MACRO_FILE
    macro = load_macro(kept) if kept.is_file() else macro_from_run(checked.history, choice.entry.run_id)
    # Longest first, so a value inside another value does not cut it in two.
    recorded = sorted(choice.entry.values.items(), key=lambda item: len(item[1]), reverse=True)
    for step in macro.steps:
        text = step.action.get("text")
        if step.name == "type" and isinstance(text, str):
            for name, value in recorded:
                if value:
                    text = text.replace(literal_text(value), "{" + name + "}")
            step.action = {**step.action, "text": text}
    return ReplayPlan(choice.entry, macro, choice.values)


class _Handoff(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ReplayPlayer(MacroPlayer):
    """The macro player with the model in place of asking the user: a target not found hands off."""

    def __init__(self, executor: GuardedExecutor, capture: Capture, harness: RunHarness, say: Say) -> None:
        from agent.macros.healing import Healer

        super().__init__(
            executor,
            capture,
            harness,
            # The looks (tiers a and b) only: a kept run's anchors are cut without OCR text
            # (reading them costs seconds of the run that keeps them), and no model tier:
            # where no look finds a target, the model takes the whole task over instead.
            Healer(),
            PlaySettings(speed=None, anchor_timeout_s=ANCHOR_TIMEOUT_S),
            say=say,
        )

    def replay(self, macro: Macro, values: dict[str, str]) -> RunEnd | Handoff:
        """Each step of ``macro`` in turn: a RunEnd when the run ends, a Handoff where the model goes on."""
        region = self.capture.frame().region
        done: list[StepNote] = []
        for number, step in enumerate(macro.steps, start=1):
            try:
                end = self._step(number, macro, step, values, region)
            except _Handoff as handoff:
                return Handoff(number, self.log.steps[-1].words, handoff.reason, tuple(done))
            if end is not None:
                return end
            done.append(StepNote(number, (_note(step, values),), "done (replayed)"))
        return RunEnd("success", f"replayed {plural(len(macro.steps), 'step')}, no model")

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
        record.source = "replay"
        return super()._play_step(number, macro, step, row, region, record, report, started)

    def _ask_user(self, number: int, anchor: Anchor, miss: Miss, frame: Frame, words: str) -> Found | None:
        # Not found: the screen is not the one the run saw. The model, not the user, goes on.
        raise _Handoff(miss.reason)


def _note(step: MacroStep, values: dict[str, str]) -> str:
    """A replayed step as the model's history shows it: its target, no screen point (not model space)."""
    name = str(step.action.get("action", "?"))
    if step.point is None:
        args = {k: v for k, v in step.action.items() if k not in ("action", "element_description")}
        if isinstance(args.get("text"), str):
            args["text"] = fill_variables(args["text"], values)
        return name + (" " + json.dumps(args, ensure_ascii=False) if args else "")
    target = str(step.action.get("element_description") or "")
    if not target and step.anchor is not None:
        target = step.anchor.description or step.anchor.text
    return f"{name} on {target!r}" if target else name


@dataclass
class ReplayRun:
    """One task's run: the replay, then the model from the first step that does not fit."""

    plan: ReplayPlan
    make_loop: Callable[[], AgentLoop]
    say: Say
    asked_model: bool = False

    def run(self, task: str, executor: GuardedExecutor, capture: Capture, harness: RunHarness) -> RunResult:
        player = ReplayPlayer(executor, capture, harness, self.say)

        def body() -> RunEnd:
            outcome = player.replay(self.plan.macro, self.plan.values)
            if isinstance(outcome, RunEnd):
                return outcome
            self.say(
                f"step {outcome.number}: {outcome.words}: not on the screen as the run saw it "
                f"({outcome.reason}); asking the model from step {outcome.number}"
            )
            self.asked_model = True
            loop = self.make_loop()
            capture.settle()  # the last replayed action's effect, before the model's first look
            return loop.steps(task, done=outcome.done, first=outcome.number, feedback=_handoff_note(outcome))

        return harness.run(task, body)


def _handoff_note(handoff: Handoff) -> str:
    if handoff.done:
        done = f"Steps 1 to {handoff.number - 1}" if handoff.number > 2 else "Step 1"
        head = f"{done} above were replayed from an earlier successful run of this task."
    else:
        head = "This task was to be replayed from an earlier successful run."
    return (
        f"{head} Step {handoff.number} ({handoff.words}) could not be replayed: its target is not on the "
        "screen as it was then. Look at the screen and carry on with the task from here."
    )


def remember(
    checked: CheckedRun,
    run_id: str,
    task: str,
    values: Mapping[str, str],
    layout: Layout,
    result: RunResult,
    started_at: str,
) -> None:
    """Keep a run the model helped finish with success as the replay of its task (not an answer).

    Its macro is cut now, while the user already waits on a model run; a run that
    performed nothing a macro can hold is not kept (one debug line says why).
    """
    from agent.macros.from_run import macro_from_run
    from agent.macros.schema import save_macro

    if result.outcome != "success" or result.answer is not None:
        return
    try:
        macro = macro_from_run(checked.history, run_id)
        save_macro(macro, checked.history / run_id / MACRO_FILE)
    except DeskpilotError as err:
        log.debug("run %s is not kept as a replay: %s", run_id, err)
        return
    entry = ReplayEntry(
        run_id=run_id,
        task=task,
        values=dict(values),
        layout=layout,
        started_at=started_at,
        steps=result.steps,
    )
    add_entry(checked.history, entry)

"""The agent loop: capture → plan → each action through the guarded executor → settle → record.

It ends on ``terminate`` (its status decides the outcome), on ``answer`` (success, the
answer is kept), at the step limit, after ``max_unusable`` unusable answers in a row
(each one fed back to the model first), or when the user stops it. Everything that
keeps the user safe (policy, confirmation, stop, pause, dry run, release, history)
lives in ``agent.run``; this module only talks to the model and words the outcomes
for it.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from agent.actions import Answer, Terminate
from agent.computer_use.events import ModelText, Planned
from agent.computer_use.marks import Marker, MarkRefused, MarkSet, resolve
from agent.computer_use.planner import Plan, Planner
from agent.computer_use.prompts import StepNote, action_text, not_done_feedback
from agent.computer_use.snapping import Snapper
from agent.computers.base import Computer, Frame
from agent.records.schema import Outcome, StepRecord
from agent.run.capture import Capture, SettleSettings
from agent.run.events import Captured, Observer, RunResult
from agent.run.executor import GuardedExecutor
from agent.run.harness import RunEnd, RunHarness
from agent.run.policy import Policy
from agent.run.ports import ActingGuard, Operator, PauseGate, Recorder
from agent.run.watchdog import Watchdog


@dataclass(frozen=True)
class LoopSettings:
    max_steps: int = 30
    max_unusable: int = 3
    dry_run: bool = False
    confirm_timeout_s: float = 60.0
    settle_quiet_s: float = 0.05
    settle_timeout_s: float = 3.0
    watchdog_repeats: int = 3
    keep_screenshots: bool = True


@dataclass
class AgentLoop:
    planner: Planner
    executor: GuardedExecutor
    capture: Capture
    harness: RunHarness
    settings: LoopSettings
    # Grounds each model click in the accessibility tree before the executor sees it,
    # so the policy and the confirmation judge the point that will really be clicked.
    snapper: Snapper | None = None
    # --marks: numbers the active window's elements for the model each step.
    marker: Marker | None = None

    @classmethod
    def on(
        cls,
        computer: Computer,
        planner: Planner,
        policy: Policy,
        operator: Operator,
        stop: threading.Event,
        *,
        settings: LoopSettings | None = None,
        recorder: Recorder | None = None,
        observers: Sequence[Observer] = (),
        guard: ActingGuard | None = None,
        pause: PauseGate | None = None,
        capture: Capture | None = None,
        snapper: Snapper | None = None,
        marker: Marker | None = None,
    ) -> AgentLoop:
        """The loop on ``computer`` with the standard run core around it."""
        settings = settings or LoopSettings()
        harness = RunHarness(
            computer, recorder=recorder, observers=observers, keep_screenshots=settings.keep_screenshots
        )
        executor = GuardedExecutor(
            computer,
            policy,
            operator,
            stop,
            harness.emit,
            pause=pause,
            guard=guard,
            dry_run=settings.dry_run,
            confirm_timeout_s=settings.confirm_timeout_s,
            before_perform=harness.flush,
        )
        capture = capture or Capture(
            computer, stop, SettleSettings(settings.settle_quiet_s, settings.settle_timeout_s)
        )
        return cls(planner, executor, capture, harness, settings, snapper, marker)

    def run(self, task: str) -> RunResult:
        return self.harness.run(task, functools.partial(self.steps, task))

    def steps(
        self, task: str, *, done: Sequence[StepNote] = (), first: int = 1, feedback: str | None = None
    ) -> RunEnd:
        """The model's steps of a run already started, numbered from ``first``.

        ``done``: steps carried out before the model was asked (a replay), in its history
        from the first prompt on; ``feedback``: what that prompt says about them.
        """
        executor, harness = self.executor, self.harness
        notes: list[StepNote] = list(done)
        frames: deque[Frame] = deque(maxlen=max(1, self.planner.settings.screenshots))
        unusable = 0
        watchdog = Watchdog(self.settings.watchdog_repeats)
        for number in range(first, first + self.settings.max_steps):
            executor.check_stop()
            executor.honour_pause()
            record = harness.begin_step(number)
            record.source = "model"
            started = time.perf_counter()
            frame = self.capture.frame()
            record.timings["capture_s"] = time.perf_counter() - started
            harness.attach_frame(record, frame)
            frames.append(frame)
            harness.emit(Captured(number, frame))
            marks = self.marker.marks(frame.geometry) if self.marker is not None else None
            if marks is not None:
                record.marks = marks.to_record()

            plan = self.planner.plan(
                task,
                notes,
                list(frames),
                executor.stop,
                feedback=feedback,
                on_text=functools.partial(_emit_text, harness, number),
                marks=marks,
            )
            record.timings.update(plan.timings)
            record.raw_text = plan.completion.text
            record.thought = plan.reply.thought if plan.reply else ""
            record.refinement = plan.refinement
            harness.emit(Planned(number, plan))
            executor.check_stop()

            if not plan.usable:
                unusable += 1
                record.error = plan.error or "unusable answer"
                feedback = f"Your last answer could not be used: {record.error}. Answer with a <tool_call>."
                notes.append(StepNote(number, (), f"unusable answer ({record.error})"))
                harness.finish_step(record, frame)
                if unusable >= self.settings.max_unusable:
                    return RunEnd("gave_up", f"the model gave {unusable} unusable answers in a row")
                continue
            unusable = 0
            feedback, outcome, end = self._act(number, plan, frame, record, marks)
            ignored = plan.reply.ignored_calls if plan.reply else 0
            if ignored and end is None:
                # One call per answer: say so, or the model expects the rest to have happened.
                extra = f"Only your first tool call was carried out; {ignored} more were ignored."
                feedback = f"{feedback} {extra}" if feedback else extra
            notes.append(StepNote(number, tuple(action_text(a.action) for a in plan.actions), outcome))
            if end is None and any(a.performed for a in record.actions):
                settled = time.perf_counter()
                record.settled_by = self.capture.settle().source
                record.timings["settle_s"] = time.perf_counter() - settled
            harness.finish_step(record, frame)
            if end is not None:
                return end
            signature = "|".join(str(a.to_json_dict()) for a in plan.actions)
            reason = watchdog.observe(signature, frame.image)
            if reason is not None:
                executor.pause.request(reason)
        return RunEnd("gave_up", f"reached the step limit ({self.settings.max_steps})")

    def _act(
        self, number: int, plan: Plan, frame: Frame, record: StepRecord, marks: MarkSet | None = None
    ) -> tuple[str | None, str, RunEnd | None]:
        """Carry out the plan's actions; returns (feedback, outcome in words, end of run or None)."""
        outcomes: list[str] = []
        for action in plan.actions:
            inner = action.action
            if isinstance(inner, Terminate | Answer):
                # Ending the task touches nothing: it is decided and recorded, never performed.
                verdict, item = self.executor.decide(number, action, frame.region)
                record.actions.append(item)
                if isinstance(inner, Terminate):
                    status: Outcome = "success" if inner.status == "success" else "failure"
                    return None, "finished", RunEnd(status, f"the model finished the task ({status})")
                return None, "answered", RunEnd("success", "the model answered", inner.text)
            snap = mark = None
            if getattr(inner, "element", None) is not None:
                # A marked element's number: aimed at its visible centre here, where clicks are
                # grounded, then judged by the policy and confirmed like any click.
                try:
                    action, mark = resolve(action, marks)
                    if self.marker is not None and self.marker.covered(mark):
                        raise MarkRefused(f"{action.element_words} is under another window")
                except MarkRefused as refused:
                    outcome = self.executor.refuse(number, action, str(refused))
                    record.actions.append(outcome.record)
                    feedback, words = not_done_feedback(outcome.record)
                    return feedback, "; ".join([*outcomes, words]), None
            elif self.snapper is not None:
                action, snap = self.snapper.snap(action, plan.reply.thought if plan.reply else "")
            outcome = self.executor.execute(number, action, frame.region)
            if snap is not None:
                outcome.record.snap = snap.to_record()
            if mark is not None:
                outcome.record.mark = mark.to_record()
            record.actions.append(outcome.record)
            if outcome.performed:
                record.timings["perform_s"] = record.timings.get("perform_s", 0.0) + outcome.perform_s
                outcomes.append("done")
            elif outcome.status == "dry_run":
                outcomes.append("not performed (dry run)")
            else:
                feedback, words = not_done_feedback(outcome.record)
                return feedback, "; ".join([*outcomes, words]), None
        return None, "; ".join(outcomes) or "done", None


def _emit_text(harness: RunHarness, number: int, text: str) -> None:
    harness.emit(ModelText(number, text))



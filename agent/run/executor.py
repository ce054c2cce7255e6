"""The one door every action goes through, whatever proposed it (the model, a macro, click-by-name).

policy → ``ActionDecided`` → confirmation (approve-for-session remembered) → stop and
pause checks → dry run → perform, or an interruptible wait → ``ActionDone``. The
outcome is a value with no model wording; each source words it for its own audience.
A stop raises ``StoppedError`` out of ``execute`` at any point, and nothing is
performed after it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from agent.actions import ScreenAction, Wait
from agent.computers.base import Computer
from agent.effects import CONFIRM_TIMEOUT_S
from agent.errors import DeskpilotError, StoppedError
from agent.geometry import Region
from agent.ports import Effect, EffectWatch
from agent.records.schema import ActionRecord
from agent.run.events import ActionDecided, ActionDone, Paused, Resumed, RunEvent
from agent.run.policy import ConfirmMode, Policy, Verdict
from agent.run.ports import ActingGuard, ConfirmQuestion, NoGuard, Operator, PauseGate

Status = Literal["performed", "dry_run", "refused", "rejected", "timed_out", "failed"]

# How often an action's wait looks at the stop token and the pause gate.
_WAIT_SLICE_S = 0.05


@dataclass(frozen=True)
class ActionOutcome:
    """What became of one action; ``reason`` is the policy's reason, the user's note or the error."""

    record: ActionRecord
    status: Status
    reason: str = ""
    perform_s: float = 0.0
    effect: Effect | None = None  # what confirmed a watched action (``execute``'s ``watch``)

    @property
    def performed(self) -> bool:
        return self.status == "performed"


class GuardedExecutor:
    """Runs single actions on ``computer`` under the policy, the user's confirmation and the stop token."""

    def __init__(
        self,
        computer: Computer,
        policy: Policy,
        operator: Operator,
        stop: threading.Event,
        emit: Callable[[RunEvent], None],
        *,
        pause: PauseGate | None = None,
        guard: ActingGuard | None = None,
        dry_run: bool = False,
        confirm_timeout_s: float = 60.0,
        before_perform: Callable[[], None] = lambda: None,
    ) -> None:
        self.computer = computer
        self.policy = policy
        self.operator = operator
        self.stop = stop
        self.pause = pause or PauseGate()
        self.guard = guard or NoGuard()
        self.dry_run = dry_run
        self.confirm_timeout_s = confirm_timeout_s
        self.before_perform = before_perform  # the history's barrier: earlier steps on disk first
        self._emit = emit

    # -- stop and pause --------------------------------------------------------------
    def check_stop(self) -> None:
        if self.stop.is_set():
            raise StoppedError("stopped by the user")

    def honour_pause(self) -> None:
        """If a pause was requested, ask the operator; a "no" stops the run."""
        reason = self.pause.take()
        if reason is None:
            return
        self._emit(Paused(reason))
        # The user answers with the keyboard or mouse: that input is no takeover.
        with self.guard.agent_acting():
            resume = self.operator.resume(reason, self.stop)
        if not resume:
            self.stop.set()
            raise StoppedError(f"stopped while paused ({reason})")
        self.guard.rearm()
        self._emit(Resumed())

    def wait(self, seconds: float) -> None:
        """A wait that a stop ends at once and a pause request interrupts to ask the user."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if self.stop.wait(min(_WAIT_SLICE_S, remaining)):
                raise StoppedError("stopped during a wait")
            if self.pause.pending:
                self.honour_pause()

    # -- actions ---------------------------------------------------------------------
    def decide(
        self, number: int, action: ScreenAction, region: Region, *, ask: str = ""
    ) -> tuple[Verdict, ActionRecord]:
        """The policy's verdict, announced, and the record the action will be kept as.

        ``ask`` makes an allowed action one to confirm, for that reason (a point a model
        guessed, say), unless the user chose never to be asked.
        """
        verdict = self.policy.decide(action, region)
        if ask and verdict.decision == "allow" and self.policy.config.confirm is not ConfirmMode.NEVER:
            verdict = Verdict("confirm", ask)
        self._emit(ActionDecided(number, action, verdict))
        record = ActionRecord(
            model=action.model_arguments(),
            screen=action.to_json_dict(),
            decision=verdict.decision,
            reason=verdict.reason,
            element_description=getattr(action.action, "element_description", None) or "",
        )
        return verdict, record

    def refuse(self, number: int, action: ScreenAction, reason: str) -> ActionOutcome:
        """Record ``action`` as refused for ``reason``, without the policy (a refusal is never less safe).

        For a target the run itself cannot find, such as a marked element's number that
        is not on the step's list: it is announced and recorded as any denied action.
        """
        verdict = Verdict("deny", reason)
        self._emit(ActionDecided(number, action, verdict))
        record = ActionRecord(
            model=action.model_arguments(),
            screen=action.to_json_dict(),
            decision="deny",
            reason=reason,
            element_description=getattr(action.action, "element_description", None) or "",
            error=f"refused: {reason}",
        )
        self._emit(ActionDone(number, action, False, record.error))
        return ActionOutcome(record, "refused", reason)

    def execute(
        self,
        number: int,
        action: ScreenAction,
        region: Region,
        *,
        ask: str = "",
        perform: Callable[[], None] | None = None,
        watch: Callable[[], EffectWatch] | None = None,
    ) -> ActionOutcome:
        """Decide, confirm, check, then perform ``action`` aimed inside ``region`` (the captured monitor).

        ``perform`` does the action another way than the computer's input (pressing an
        accessible element without the pointer): ``action`` is then what the policy, the
        confirmation and the record judge it as, and every check runs the same.

        ``watch`` starts watching the target element for the action's effect
        (``AccessibleTree.watch``); it is called just before the input, after the
        confirmation (an event while the user was asked is not the action's), and a
        performed action then waits for the effect (``outcome.effect``, also the record's
        ``effect``). A stop ends that wait at once; the caller records the outcome, then
        calls ``check_stop`` before anything else.
        """
        verdict, record = self.decide(number, action, region, ask=ask)
        if verdict.decision == "deny":
            record.error = f"refused: {verdict.reason}"
            self._emit(ActionDone(number, action, False, record.error))
            return ActionOutcome(record, "refused", verdict.reason)
        if verdict.decision == "confirm" and not self.dry_run:
            with self.guard.agent_acting():  # answering is input the user is asked for
                answer = self.operator.confirm(
                    ConfirmQuestion(action, verdict, region), self.stop, self.confirm_timeout_s
                )
            record.confirmation, record.note = answer.outcome, answer.note
            if answer.outcome == "approved_for_session":
                self.policy.approve_for_session(verdict)
            if answer.outcome in ("rejected", "timed_out"):
                self.check_stop()
                self._emit(ActionDone(number, action, False, answer.outcome))
                status: Status = "rejected" if answer.outcome == "rejected" else "timed_out"
                return ActionOutcome(record, status, answer.note)
        self.check_stop()
        self.honour_pause()
        if self.dry_run:
            record.confirmation = "dry_run"
            self._emit(ActionDone(number, action, False, "dry run"))
            return ActionOutcome(record, "dry_run")
        self.before_perform()
        started = time.perf_counter()
        watching: EffectWatch | None = None
        try:
            if perform is None and isinstance(action.action, Wait):
                self.wait(action.action.time)
            else:
                with self.guard.agent_acting():
                    if watch is not None:
                        watching = watch()  # raises DisplayError when the element is gone
                    if perform is not None:
                        perform()
                    else:
                        self.computer.perform(action)
        except StoppedError:
            raise
        except DeskpilotError as err:
            record.error = str(err)
            self._emit(ActionDone(number, action, False, record.error))
            return ActionOutcome(record, "failed", str(err))
        record.performed = True
        self._emit(ActionDone(number, action, True))
        perform_s = time.perf_counter() - started
        effect = watching.wait(CONFIRM_TIMEOUT_S, self.stop) if watching is not None else None
        if effect is not None:
            record.effect = effect.to_record()
        return ActionOutcome(record, "performed", perform_s=perform_s, effect=effect)

"""What a run tells its observers: one typed event per phase, the same for every action source.

Sources add their own events (``agent.computer_use.events``: the model's text, its
plan) as subclasses of ``RunEvent``, so an observer is one callable for all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.records.schema import Outcome, StepRecord

if TYPE_CHECKING:
    from agent.actions import ScreenAction
    from agent.computers.base import Frame
    from agent.errors import DeskpilotError
    from agent.run.policy import Verdict


@dataclass(frozen=True)
class RunEvent:
    """Base of every event a run emits."""


@dataclass(frozen=True)
class RunStarted(RunEvent):
    task: str


@dataclass(frozen=True)
class StepStarted(RunEvent):
    number: int


@dataclass(frozen=True)
class Captured(RunEvent):
    number: int
    frame: Frame


@dataclass(frozen=True)
class ActionDecided(RunEvent):
    number: int
    action: ScreenAction
    verdict: Verdict


@dataclass(frozen=True)
class ActionDone(RunEvent):
    number: int
    action: ScreenAction
    performed: bool
    error: str = ""


@dataclass(frozen=True)
class StepFinished(RunEvent):
    record: StepRecord


@dataclass(frozen=True)
class Paused(RunEvent):
    reason: str


@dataclass(frozen=True)
class Resumed(RunEvent):
    pass


@dataclass(frozen=True)
class RunResult:
    outcome: Outcome
    detail: str
    steps: int
    answer: str | None = None
    # The error that ended the run, if one did: the CLI's exit-code table maps its class, so a
    # condition met inside a run exits as it does when a command meets it before one.
    error: DeskpilotError | None = field(default=None, compare=False, repr=False)

    @property
    def exit_code(self) -> int:
        return {"success": 0, "stopped": 3}.get(self.outcome, 1)


@dataclass(frozen=True)
class RunFinished(RunEvent):
    result: RunResult


Observer = Callable[[RunEvent], None]

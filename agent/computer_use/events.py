"""The model-driven source's own events: the model's streamed text and its parsed plan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.run.events import RunEvent

if TYPE_CHECKING:
    from agent.computer_use.planner import Plan


@dataclass(frozen=True)
class ModelText(RunEvent):
    number: int
    text: str


@dataclass(frozen=True)
class Planned(RunEvent):
    number: int
    plan: Plan

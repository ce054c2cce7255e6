"""The operator tests and scripts use: answers handed to it in order, every question kept."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.run.ports import ConfirmQuestion, ConfirmResult, LostTarget


@dataclass
class FakeOperator:
    """An ``Operator`` that answers from its lists, in order, and keeps what it was asked.

    When a list runs out it gives ``default`` (confirmations) or ``resume_default``
    (pauses); with no default, running out is a test that asked more than it meant to,
    and fails with ``IndexError``. ``while_asked`` runs during each confirmation (a
    test's kill hotkey pressed while the user is being asked).
    """

    answers: list[ConfirmResult] = field(default_factory=list)
    resume_answers: list[bool] = field(default_factory=list)
    default: ConfirmResult | None = None
    resume_default: bool | None = None
    while_asked: Callable[[threading.Event], None] | None = None
    questions: list[ConfirmQuestion] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)  # the reasons each pause was given

    @property
    def asked(self) -> list[str]:
        """The policy's reason behind each confirmation asked for."""
        return [question.verdict.reason for question in self.questions]

    def confirm(self, question: ConfirmQuestion, stop: threading.Event, timeout_s: float) -> ConfirmResult:
        self.questions.append(question)
        if self.while_asked is not None:
            self.while_asked(stop)
        if not self.answers and self.default is not None:
            return self.default
        return self.answers.pop(0)

    def resume(self, reason: str, stop: threading.Event) -> bool:
        self.paused.append(reason)
        if not self.resume_answers and self.resume_default is not None:
            return self.resume_default
        return self.resume_answers.pop(0)


@dataclass
class FakeTargetFinder(FakeOperator):
    """A ``FakeOperator`` that can also be asked where a lost target is (healing tier e), like the tray.

    ``point`` answers each question: the screen point the user picks, or None to stop.
    """

    point: Callable[[LostTarget], tuple[int, int] | None] = field(default=lambda _question: None)
    lost: list[LostTarget] = field(default_factory=list)

    def find_lost(
        self, question: LostTarget, stop: threading.Event, timeout_s: float
    ) -> tuple[int, int] | None:
        self.lost.append(question)
        return self.point(question)

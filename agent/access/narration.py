"""Narration: an Observer that says, before each action, what is about to happen, then how it went.

With an accessibility tree it names the target by its accessible name and role
("Clicking the Save button"), looked up at the action's point just before it happens.

Attached by ``agent.api`` to a run when narration is on. The words spoken during a
step are kept in that step's history record (``StepRecord.spoken``): the narrator
wraps the run's recorder and fills the field just before the step is written.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from agent.access.roles import element_phrase
from agent.errors import DisplayError
from agent.run.events import ActionDecided, ActionDone, Captured, Paused, RunEvent, RunFinished, StepStarted
from agent.run.ports import QueuingRecorder
from agent.wording import clip, describe_action

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.geometry import Region
    from agent.ports import AccessibleTree, Speech
    from agent.records.schema import Outcome, StepRecord
    from agent.run.ports import Recorder

_DOING = {
    "left_click": "Clicking",
    "double_click": "Double-clicking",
    "triple_click": "Triple-clicking",
    "right_click": "Right-clicking",
    "middle_click": "Middle-clicking",
    "mouse_move": "Moving the pointer",
    "left_click_drag": "Dragging",
}
_OUTCOMES = {
    "success": "Task done.",
    "failure": "The task failed.",
    "gave_up": "Gave up.",
    "stopped": "Stopped.",
    "error": "Stopped by an error.",
}


def place(x: int, y: int, region: Region) -> str:
    """Where a point is on the captured monitor in words: "top left", "centre", "bottom right"."""
    fx, fy = (x - region.left) / max(1, region.width), (y - region.top) / max(1, region.height)
    row = "top" if fy < 1 / 3 else "bottom" if fy > 2 / 3 else "middle"
    col = "left" if fx < 1 / 3 else "right" if fx > 2 / 3 else "centre"
    return "centre" if (row, col) == ("middle", "centre") else f"{row} {col}"


def narrate_action(screen: dict[str, Any], region: Region | None, target: str | None = None) -> str:
    """What is about to happen, in plain words: "Clicking Save, bottom left", "Typing 'hello'"."""
    name = str(screen.get("action", ""))
    if name in _DOING:
        words = _DOING[name]
        x, y = screen.get("x"), screen.get("y")
        where = place(int(x), int(y), region) if isinstance(x, int) and isinstance(y, int) and region else ""
        if target:
            return f"{words} {clip(target, 40)}" + (f", {where}" if where else "")
        return (
            f"{words} at the {where}"
            if where and where != "centre"
            else f"{words} in the {where or 'screen'}"
        )
    match name:
        case "type":
            return f"Typing '{clip(str(screen.get('text', '')), 60)}'"
        case "key":
            keys = screen.get("keys", [])
            return "Pressing " + (
                "+".join(str(k) for k in keys) if isinstance(keys, list | tuple) else str(keys)
            )
        case "scroll" | "hscroll":
            return describe_action(screen).replace("Scroll", "Scrolling", 1)
        case "wait":
            return f"Waiting {screen.get('time', 0)} seconds"
        case "terminate":
            return "Finishing"
        case "answer":
            return "Answering: " + clip(str(screen.get("text", "")), 60)
    return describe_action(screen)


class Narrator:
    """Speaks a run as it happens and keeps each step's words for its record."""

    def __init__(self, speech: Speech, tree: AccessibleTree | None = None) -> None:
        self.speech = speech
        self.tree = tree
        self._lock = threading.Lock()
        self._region: Region | None = None
        self._spoken: dict[int, list[str]] = {}

    def __call__(self, event: RunEvent) -> None:
        match event:
            case StepStarted(number=number):
                with self._lock:
                    self._spoken[number] = []
            case Captured(frame=frame):
                self._region = frame.region
            case ActionDecided(number=number, action=action, verdict=verdict):
                words = narrate_action(action.to_json_dict(), self._region, self._target(action.screen_xy))
                if verdict.decision == "deny":
                    words += " is not allowed"
                elif verdict.decision == "confirm":
                    words += ", asking you first"
                self._say(number, words)
            case ActionDone(number=number, action=action, performed=performed, error=error):
                if action.name in ("terminate", "answer"):
                    return
                self._say(number, "Done" if performed else f"Not done: {error or 'not performed'}")
            case Paused(reason=reason):
                self.speech.say(f"Paused: {reason}")
            case RunFinished(result=result):
                self.speech.say(_OUTCOMES.get(result.outcome, result.outcome))
            case _:
                pass

    def _target(self, point: tuple[int, int] | None) -> str | None:
        """The accessible element at ``point`` in words ("the Save button"); None where none is known."""
        if self.tree is None or point is None:
            return None
        try:
            element = self.tree.element_at(*point)
        except DisplayError:
            return None
        return (element_phrase(element.role, element.name) or None) if element is not None else None

    def _say(self, number: int, words: str) -> None:
        with self._lock:
            self._spoken.setdefault(number, []).append(words)
        self.speech.say(words)

    def take(self, number: int) -> list[str]:
        with self._lock:
            return self._spoken.pop(number, [])

    def recording(self, recorder: Recorder) -> Recorder:
        """``recorder`` with each step's spoken words put into its record before it is written."""
        return _SpokenRecorder(recorder, self)


class _SpokenRecorder:
    def __init__(self, inner: Recorder, narrator: Narrator) -> None:
        self._inner = inner
        self._narrator = narrator

    def record_step(self, step: StepRecord, screenshot: Image | None) -> StepRecord:
        step.spoken = self._narrator.take(step.number)
        return self._inner.record_step(step, screenshot)

    def queue_step(self, step: StepRecord, screenshot: Image | None) -> StepRecord:
        step.spoken = self._narrator.take(step.number)
        if isinstance(self._inner, QueuingRecorder):
            return self._inner.queue_step(step, screenshot)
        return self._inner.record_step(step, screenshot)

    def flush(self) -> None:
        if isinstance(self._inner, QueuingRecorder):
            self._inner.flush()

    def prepare_screenshot(self, number: int, screenshot: Image) -> None:
        if isinstance(self._inner, QueuingRecorder):
            self._inner.prepare_screenshot(number, screenshot)

    def finish(self, outcome: Outcome, detail: str) -> None:
        self._inner.finish(outcome, detail)

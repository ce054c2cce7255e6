"""The terminal as the operator of ``deskpilot run``: y/n confirmations, resume-or-stop prompts,
and a live one-line-per-event report. Prompts go to stderr; stdout carries only the answer.
"""

from __future__ import annotations

import queue
import sys
import threading
from typing import TextIO

from agent.computer_use.events import Planned
from agent.run.events import ActionDecided, ActionDone, Paused, Resumed, RunEvent, RunFinished, StepStarted
from agent.run.ports import ConfirmQuestion, ConfirmResult, LostTarget
from agent.wording import describe_action, plural

_EOF = object()


class TerminalOperator:
    """Reads answers from a text stream on a background thread so waits stay interruptible."""

    def __init__(self, stream: TextIO | None = None, out: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdin
        self._out = out if out is not None else sys.stderr
        self._lines: queue.Queue[object] = queue.Queue()
        self._reader: threading.Thread | None = None
        self.at_end = False  # the input ended: no answer will ever come

    def _ensure_reader(self) -> None:
        if self._reader is None:
            # A daemon: a blocked readline must never keep the process alive at exit.
            self._reader = threading.Thread(target=self._pump, name="terminal-input", daemon=True)
            self._reader.start()

    def _pump(self) -> None:
        try:
            for line in self._stream:
                self._lines.put(line.strip())
        except (OSError, ValueError):
            pass
        self._lines.put(_EOF)

    def _ask(self, prompt: str, stop: threading.Event, timeout_s: float | None) -> str | None:
        """The next answer line, or None on timeout, stop or end of input."""
        self._ensure_reader()
        self._out.write(prompt)
        self._out.flush()
        waited = 0.0
        while timeout_s is None or waited < timeout_s:
            if stop.is_set():
                return None
            try:
                item = self._lines.get(timeout=0.05)
            except queue.Empty:
                waited += 0.05
                continue
            if item is _EOF:
                self._lines.put(_EOF)  # stays at end of input for every later question
                self.at_end = True
                return None
            return str(item)
        return None

    def confirm(self, question: ConfirmQuestion, stop: threading.Event, timeout_s: float) -> ConfirmResult:
        words = describe_action(question.action.to_json_dict())
        prompt = (
            f"\nDeskpilot wants to: {words}\n  why it asks: {question.verdict.reason}\n"
            f"  [y] approve  [s] approve for this session  [n] reject  [n: note] reject with a note "
            f"(rejects in {timeout_s:g} s) > "
        )
        answer = self._ask(prompt, stop, timeout_s)
        if answer is None:
            if stop.is_set():
                return ConfirmResult("rejected", "stopped")
            if self.at_end:
                # Input from a pipe or /dev/null ended: waiting out the timeout would change nothing.
                why = "no input to answer from (--confirm never acts without asking)"
                self._out.write(f"\n(rejected: {why})\n")
                return ConfirmResult("rejected", why)
            self._out.write("\n(no answer: rejected)\n")
            return ConfirmResult("timed_out")
        lowered = answer.lower()
        if lowered in ("y", "yes"):
            return ConfirmResult("approved")
        if lowered in ("s", "session"):
            return ConfirmResult("approved_for_session")
        note = answer.split(":", 1)[1].strip() if ":" in answer else ""
        return ConfirmResult("rejected", note)

    def resume(self, reason: str, stop: threading.Event) -> bool:
        answer = self._ask(f"\nPaused: {reason}\n  [r] resume  [q] stop > ", stop, None)
        return answer is not None and answer.lower() in ("r", "resume", "y", "yes")

    def find_lost(
        self, question: LostTarget, stop: threading.Event, timeout_s: float
    ) -> tuple[int, int] | None:
        """Healing tier (e) has no picture to point at in a terminal: the replay stops (the
        evidence is kept in the run's folder)."""
        return None


class TerminalReporter:
    """Prints what the agent does, one line per action, to stderr."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out if out is not None else sys.stderr

    def __call__(self, event: RunEvent) -> None:
        match event:
            case StepStarted(number=number):
                self._write(f"step {number}: looking at the screen")
            case ActionDecided(number=number, action=action, verdict=verdict):
                words = describe_action(action.to_json_dict())
                self._write(f"step {number}: {words} ({verdict.decision})")
            case Planned(number=number, plan=plan) if not plan.usable:
                self._write(f"step {number}: unusable answer: {plan.error}")
            case ActionDone(number=number, action=action, performed=performed, error=error):
                words = describe_action(action.to_json_dict())
                status = "done" if performed else (error or "not performed")
                self._write(f"step {number}: {words}: {status}")
            case Paused(reason=reason):
                self._write(f"paused: {reason}")
            case Resumed():
                self._write("resumed")
            case RunFinished(result=result):
                self._write(f"run {result.outcome}: {result.detail} ({plural(result.steps, 'step')})")
            case _:
                pass

    def _write(self, line: str) -> None:
        self._out.write(line + "\n")
        self._out.flush()


def silence_closed_stdout() -> None:
    """After a reader closed our stdout (``deskpilot history | head -1``), point it at /dev/null.

    Python flushes stdout once more at exit; into the closed pipe that would print a
    second BrokenPipeError, so the rest of the output goes nowhere instead.
    """
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # no real file descriptor (a test's captured stdout): nothing will flush into a pipe

"""Replays recorded model replies from a JSON Lines file, one ``{"reply": ...}`` per step.

It goes through the same prompt and parser as a live model, so a recorded run can be
reproduced and tests drive the whole loop deterministically. The requests it was
given are kept in ``requests`` for inspection.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from agent.backends.base import ChatRequest, Completion, TextSink
from agent.errors import BackendError, ConfigError, StoppedError


def load_script(path: Path) -> list[str]:
    """The replies in ``path``; a missing or malformed file is a ``ConfigError``."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"script file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read script file {path}: {err}") from None
    replies: list[str] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{path} line {number}: not valid JSON ({err.msg})") from None
        if not isinstance(item, dict) or not isinstance(item.get("reply"), str):
            raise ConfigError(f'{path} line {number}: expected {{"reply": "<model text>"}}')
        replies.append(item["reply"])
    if not replies:
        raise ConfigError(f"script file {path} has no replies")
    return replies


class ScriptedBackend:
    """A backend whose n-th call returns the n-th scripted reply."""

    name = "script"

    def __init__(self, replies: list[str]) -> None:
        self._replies = list(replies)
        self.requests: list[ChatRequest] = []

    @classmethod
    def from_file(cls, path: Path) -> ScriptedBackend:
        return cls(load_script(path))

    def complete(
        self, request: ChatRequest, cancel: threading.Event, on_text: TextSink | None = None
    ) -> Completion:
        if cancel.is_set():
            raise StoppedError("stopped before the model was asked")
        self.requests.append(request)
        step = len(self.requests)
        if step > len(self._replies):
            raise BackendError(f"the script has no reply for step {step} (it holds {len(self._replies)})")
        text = self._replies[step - 1]
        if on_text is not None:
            on_text(text)
        return Completion(text=text)

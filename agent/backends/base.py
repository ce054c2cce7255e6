"""The backend protocol and the request/response values that cross it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from PIL.Image import Image

# Streamed text fragments go to this callback while the model generates.
TextSink = Callable[[str], None]


@dataclass(frozen=True)
class ChatRequest:
    """One model call: chat messages, the tool schema, and decoding limits.

    ``messages`` use the Hugging Face chat-template shape: each message is
    ``{"role": ..., "content": [parts]}`` where a part is ``{"type": "text", "text": ...}``
    or ``{"type": "image", "image": <PIL image>}``. ``tools`` are OpenAI-style function
    schemas, rendered by the model's own chat template (or sent to the server).
    """

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    max_new_tokens: int = 256
    # Pixel budget for each image (a pixel count, not an edge length); the default is
    # agent.computer_use.prompts.DEFAULT_MAX_PIXELS, native resolution (that module imports this one).
    max_pixels: int = 12845056
    min_pixels: int = 64 * 32 * 32
    stop: tuple[str, ...] = ("</tool_call>",)

    @property
    def images(self) -> list[Image]:
        return [
            part["image"]
            for message in self.messages
            for part in message["content"]
            if isinstance(part, dict) and part.get("type") == "image"
        ]


@dataclass(frozen=True)
class Completion:
    """Raw model text (tool calls in ``<tool_call>`` form) and what it cost."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    timings: dict[str, float] = field(default_factory=dict)


class Backend(Protocol):
    """Text and images in, raw text out. Cancelling raises ``StoppedError``."""

    name: str

    def complete(
        self,
        request: ChatRequest,
        cancel: threading.Event,
        on_text: TextSink | None = None,
    ) -> Completion: ...

"""The backend protocol and the request/response values that cross it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from PIL.Image import Image

# Native resolution: the computer-use cookbook runs Qwen3-VL with max_pixels=12845056
# (Qwen's OSWorld agent with 13.1 MP, the checkpoint's processor allows 16.7 MP), and the
# model was evaluated on full-resolution screenshots. Every common screen up to
# 4096x2160 keeps its pixels (a 1920x1080 screen becomes 1920x1088, 2040 image tokens);
# a 5K screen is shrunk to fit. One image token per 32x32 pixels. Written once, here:
# the prompt, the settings file and the CLI's help take it from this module.
NATIVE_MAX_PIXELS = 12845056
MIN_PIXELS = 64 * 32 * 32

# The model a run uses when the settings name none; the local backend's default too.
DEFAULT_MODEL = "Qwen/Qwen3-VL-8B-Instruct"

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
    # Pixel budget for each image (a pixel count, not an edge length).
    max_pixels: int = NATIVE_MAX_PIXELS
    min_pixels: int = MIN_PIXELS
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
    # Prompt tokens whose keys and values came from a cache kept from an earlier call
    # (the local backend's PrefixCache, a server's prefix cache); None: not reported.
    cached_tokens: int | None = None
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

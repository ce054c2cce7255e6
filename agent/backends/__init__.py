"""Model transports: text and images in, raw model text out.

Every backend receives the same ``ChatRequest`` built by ``agent.computer_use.prompts`` and
returns raw text that ``agent.computer_use.parsing`` turns into actions, so the prompt and the
parser exist once: ``local`` (transformers, in-process, quantized), ``openai``
(an OpenAI-compatible server such as vLLM) and ``scripted`` (recorded replies).
"""

from __future__ import annotations

from agent.backends.base import Backend, ChatRequest, Completion

__all__ = ["Backend", "ChatRequest", "Completion"]

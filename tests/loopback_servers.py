"""OpenAI-compatible stand-ins on 127.0.0.1 for the doctor, discovery, access and grounding tests.

``StubServer`` is the shipped ``CannedChatServer`` (agent/testing/chat_server.py) set up
the way these tests want it: fixed replies, and optionally a server that refuses tools.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from agent.testing.chat_server import CannedChatServer, serving

__all__ = ["VLLM_NO_TOOLS", "StubServer", "dead_port", "serving", "silent_port"]

# What `vllm serve` without tool flags answers to a request that carries tools.
VLLM_NO_TOOLS = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'


def StubServer(  # noqa: N802 (used as a class, like the dataclass it builds)
    *,
    models: Sequence[str] = ("qwen3-vl:8b",),
    refuse_tools: bool = False,
    not_openai: bool = False,
    reply: str = "OK",
    replies: Sequence[str] = (),
) -> CannedChatServer:
    """A model server listing ``models``: ``replies`` first, one per chat request, then ``reply``."""
    queue = list(replies)

    def answer(body: dict[str, Any]) -> str | tuple[int, str]:
        if refuse_tools and body.get("tools"):
            return (400, VLLM_NO_TOOLS)
        return queue.pop(0) if queue else reply

    return CannedChatServer(answer, models=list(models), not_openai=not_openai)


@contextmanager
def dead_port() -> Iterator[int]:
    """A port that is bound but not listening: connecting is refused, without races."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()

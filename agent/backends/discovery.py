"""Finds OpenAI-compatible model servers already running on this machine, on loopback only.

A machine without a GPU is better served by a model server the user already runs
(Ollama, llama.cpp, vLLM, LM Studio) than by the in-process model on the CPU. Only
127.0.0.1 is asked, each port once with a short timeout, all ports at the same time:
a port with nothing behind it is refused at once, so a scan costs milliseconds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from agent.errors import BackendError

logger = logging.getLogger(__name__)

# The port each server listens on unless told otherwise.
KNOWN_PORTS: dict[int, str] = {11434: "Ollama", 8080: "llama.cpp", 8000: "vLLM", 1234: "LM Studio"}
DEFAULT_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class FoundServer:
    """A loopback port that answers ``GET /v1/models`` with a model list."""

    port: int
    models: tuple[str, ...]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def program(self) -> str | None:
        """What usually listens on this port (a guess from the port alone)."""
        return KNOWN_PORTS.get(self.port)

    @property
    def suggested_model(self) -> str | None:
        """A vision-language model if the server lists one (the agent needs images), else the first."""
        for model in self.models:
            if "vl" in model.lower():
                return model
        return self.models[0] if self.models else None

    def run_options(self) -> list[str]:
        """The ``deskpilot run`` options that use this server."""
        return ["--backend", "openai", "--base-url", self.base_url, "--model", self.suggested_model or "NAME"]

    def describe(self) -> str:
        """One line: where it is, what it serves, and how to use it."""
        who = f"{self.program} " if self.program else ""
        served = ", ".join(self.models) if self.models else "no models yet"
        return f"{who}at {self.base_url} serves {served}; use it with {' '.join(self.run_options())}"


def discover(ports: Sequence[int] | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> list[FoundServer]:
    """The model servers answering on 127.0.0.1 at ``ports`` (default: the usual ones), in port order."""
    chosen = list(dict.fromkeys(KNOWN_PORTS if ports is None else ports))
    if not chosen:
        return []
    with ThreadPoolExecutor(max_workers=len(chosen), thread_name_prefix="deskpilot-discovery") as pool:
        answers = list(pool.map(lambda port: _probe(port, timeout_s), chosen))
    return [found for found in answers if found is not None]


def _probe(port: int, timeout_s: float) -> FoundServer | None:
    from agent.backends.openai import list_models

    try:
        models = list_models(f"http://127.0.0.1:{port}/v1", timeout_s=timeout_s)
    except BackendError as err:
        # Nothing there, or something that is not a model server: neither is news.
        logger.debug("no model server on port %d: %s", port, err)
        return None
    return FoundServer(port, tuple(models))

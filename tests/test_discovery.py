"""Finding model servers on loopback: real servers on free ports, a dead port, a silent one."""

from __future__ import annotations

import time

from agent.backends.discovery import KNOWN_PORTS, FoundServer, discover
from tests.loopback_servers import StubServer, dead_port, serving, silent_port


def test_finds_only_the_ports_that_serve_a_model_list() -> None:
    with (
        serving(StubServer(models=["llama3:8b", "qwen3-vl:8b"])) as ollama,
        serving(StubServer(not_openai=True)) as router,
        dead_port() as dead,
    ):
        found = discover([dead, router.port, ollama.port], timeout_s=2.0)
    assert found == [FoundServer(ollama.port, ("llama3:8b", "qwen3-vl:8b"))]
    assert [(method, path) for method, path, _, _ in ollama.calls] == [("GET", "/v1/models")]


def test_the_usage_line_names_the_vision_model_and_the_run_options() -> None:
    server = FoundServer(11434, ("llama3:8b", "qwen3-vl:8b"))
    assert server.suggested_model == "qwen3-vl:8b"
    assert server.run_options() == [
        "--backend",
        "openai",
        "--base-url",
        "http://127.0.0.1:11434/v1",
        "--model",
        "qwen3-vl:8b",
    ]
    assert server.describe() == (
        "Ollama at http://127.0.0.1:11434/v1 serves llama3:8b, qwen3-vl:8b; use it with "
        "--backend openai --base-url http://127.0.0.1:11434/v1 --model qwen3-vl:8b"
    )


def test_a_server_without_models_still_says_how_to_use_it() -> None:
    with serving(StubServer(models=[])) as empty:
        [found] = discover([empty.port], timeout_s=2.0)
    assert found.suggested_model is None
    assert found.describe().endswith(
        f"serves no models yet; use it with --backend openai --base-url {empty.url} --model NAME"
    )


def test_a_port_that_never_answers_costs_only_the_short_timeout() -> None:
    with silent_port() as silent, serving(StubServer()) as healthy:
        started = time.monotonic()
        found = discover([silent, healthy.port], timeout_s=0.3)
        elapsed = time.monotonic() - started
    assert [f.port for f in found] == [healthy.port]
    # The ports are asked together: the silent one does not delay the answer by more than its timeout.
    assert elapsed < 2


def test_the_default_ports_are_the_usual_servers() -> None:
    assert KNOWN_PORTS == {11434: "Ollama", 8080: "llama.cpp", 8000: "vLLM", 1234: "LM Studio"}
    assert discover([]) == []

"""Finding model servers on loopback: real servers on free ports, a dead port, a silent one."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agent.backends.discovery import KNOWN_PORTS, FoundServer, discover
from agent.config import Settings
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


# -- the tray's words for a model that is not here (agent/backends/advice.py, Session.explain_for_settings) --

GIB = 2**30
NOT_HERE = "Qwen/Qwen3-VL-8B-Instruct is not on this machine and downloads are off (HF_HUB_OFFLINE=1)"


@pytest.mark.parametrize(
    ("free", "cuda", "offered", "not_offered"),
    [
        (12 * GIB, True, ["Qwen/Qwen3-VL-4B-Instruct (8.9 GB)", "Qwen/Qwen3-VL-2B-Instruct (4.3 GB)"], ["8B-"]),
        # with 1.5 GiB of headroom: 4B and 2B only at nf4
        (5 * GIB, True, ["Qwen/Qwen3-VL-4B-Instruct (3.5 GB)", "Qwen/Qwen3-VL-2B-Instruct (2.2 GB)"], ["8B-"]),
        (4 * GIB, False, ["Qwen/Qwen3-VL-2B-Instruct (2.2 GB)", "no NVIDIA GPU"], ["4B", "8B-"]),
        (1 * GIB, True, ["no Qwen3-VL size fits"], ["4B", "2B"]),
    ],
)
def test_a_missing_model_is_told_as_settings_to_change_with_the_sizes_that_fit(
    free: int, cuda: bool, offered: list[str], not_offered: list[str]
) -> None:
    from agent.backends.advice import missing_model_for_settings

    text = missing_model_for_settings("Qwen/Qwen3-VL-8B-Instruct", NOT_HERE, free, cuda, [])
    assert text.startswith(NOT_HERE[0].upper() + NOT_HERE[1:])
    assert "In Settings, set Model" in text and "set Backend to OpenAI-compatible server" in text
    for words in offered:
        assert words in text
    for words in not_offered:
        assert words not in text.split("\n", 1)[1]
    assert "--" not in text  # the tray has no command-line flags


def test_the_tray_is_told_of_the_model_servers_on_this_machine() -> None:
    from agent.api import ConfigError, Session
    from agent.errors import ModelMissingError

    with serving(StubServer(models=("llava:7b", "qwen3-vl:8b"))) as stub:
        port = int(stub.url.rsplit(":", 1)[1].split("/")[0])
        session = Session(server_ports=[port])
        text = session.explain_for_settings(
            ModelMissingError("… or pass a local folder with --model", "Qwen/Qwen3-VL-8B-Instruct", NOT_HERE),
            Settings(),
        )
        assert session.explain_for_settings(ConfigError("the task is empty"), Settings()) == "the task is empty"
    assert f"Server URL to http://127.0.0.1:{port}/v1 and Model to qwen3-vl:8b" in text
    assert "--" not in text


def test_a_missing_model_folder_is_a_model_missing_error(tmp_path: Path) -> None:
    from agent.backends.hub import find_local
    from agent.errors import ModelMissingError

    with pytest.raises(ModelMissingError) as raised:
        find_local(str(tmp_path / "no-such-model"))
    assert raised.value.model == str(tmp_path / "no-such-model")
    with pytest.raises(ModelMissingError, match="get it with") as offline:
        find_local("Qwen/Qwen3-VL-8B-Instruct", offline=True, cache_dir=str(tmp_path))
    assert "--model" not in offline.value.problem


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (
            "no NVIDIA GPU: 8B in process takes about 9 min per step here; prefer a model server "
            "(--backend openai --base-url URL); else use Qwen/Qwen3-VL-2B-Instruct",
            "prefer a model server (Backend OpenAI-compatible server and a Server URL in Settings)",
        ),
        (
            "Ollama at http://127.0.0.1:11434/v1 serves qwen3-vl:8b; use it with "
            "--backend openai --base-url http://127.0.0.1:11434/v1 --model qwen3-vl:8b",
            "use it with Backend OpenAI-compatible server, Server URL http://127.0.0.1:11434/v1 and Model "
            "qwen3-vl:8b in Settings",
        ),
        ("fp16 needs a GPU; on this CPU use --precision bf16 or fp32", "use Precision bf16 in Settings or fp32"),
    ],
)
def test_the_tray_sees_settings_fields_where_the_cli_sees_flags(line: str, words: str) -> None:
    from agent.backends.advice import in_settings_terms

    said = in_settings_terms(line)
    assert words in said and "--" not in said


def test_a_tray_session_says_other_errors_in_settings_terms_too() -> None:
    from agent.api import Session
    from agent.errors import BackendError

    said = Session().explain_for_settings(BackendError("fp16 needs a GPU; on this CPU use --precision bf16"), Settings())
    assert said == "fp16 needs a GPU; on this CPU use Precision bf16 in Settings"

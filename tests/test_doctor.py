"""``deskpilot doctor`` run as a user would: real checks, real cache folder, real sockets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


def doctor(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", "doctor", *args], capture_output=True, text=True, timeout=120, env=env
    )


@pytest.fixture
def hf_cache(tmp_path: Path) -> Path:
    """A Hugging Face cache laid out as the hub client leaves it, holding one Qwen3-VL snapshot."""
    repo = tmp_path / "hub" / "models--Qwen--Qwen3-VL-2B-Instruct"
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}", encoding="utf-8")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd", encoding="utf-8")
    return tmp_path / "hub"


@pytest.fixture
def models_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            body = json.dumps({"object": "list", "data": [{"id": "qwen3-vl:8b"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_doctor_reports_versions_monitors_cache_and_server(x_display: str, hf_cache: Path, models_server: str) -> None:
    env = dict(os.environ, HF_HUB_CACHE=str(hf_cache))
    result = doctor(
        "--model", "Qwen/Qwen3-VL-8B-Instruct", "--base-url", models_server, "--server-model", "qwen3-vl:8b", env=env
    )
    out = result.stdout
    assert "OK    python: 3." in out
    assert "OK    torch: " in out and "OK    transformers: 5." in out and "OK    bitsandbytes: " in out
    assert "OK    monitor 1: 1920x1080+0+0 (scale 1)" in out
    assert "cached models: Qwen/Qwen3-VL-2B-Instruct" in out
    assert "WARN  default model: Qwen/Qwen3-VL-8B-Instruct is not cached" in out
    assert f"OK    model server: {models_server}: reachable, serves: qwen3-vl:8b" in out
    assert result.returncode == 0, result.stderr


def test_doctor_names_each_problem_and_exits_non_zero(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env["HF_HUB_CACHE"] = str(tmp_path / "empty")
    result = doctor("--base-url", "http://127.0.0.1:9/v1", env=env)
    assert result.returncode == 1
    assert "FAIL  display: no display" in result.stdout
    assert "FAIL  model server: cannot reach the model server" in result.stdout
    assert "2 problem(s): display; model server" in result.stderr
    assert "Traceback" not in result.stderr

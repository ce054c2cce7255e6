"""scripts/canned_server.py: a script of replies served as an OpenAI-compatible server, as the README shows."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from agent.backends.openai import list_models

ROOT = Path(__file__).resolve().parent.parent


def _chat(url: str) -> str:
    body = json.dumps({"model": "canned", "messages": [{"role": "user", "content": "hi"}]}).encode()
    request = urllib.request.Request(f"{url}/chat/completions", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return str(json.load(answer)["choices"][0]["message"]["content"])


@pytest.mark.process
def test_the_replies_are_served_in_order_then_the_last_again_until_stopped(tmp_path: Path) -> None:
    replies = tmp_path / "replies.jsonl"
    replies.write_text('{"reply": "first"}\n{"reply": "second"}\n')
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "canned_server.py"), str(replies), "--port", "0", "--model", "qwen3-vl"],
        stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line.startswith("serving 2 replies as model 'qwen3-vl' at http://127.0.0.1:"), line
        url = line.split(" at ", 1)[1].split(" ", 1)[0]
        assert list_models(url) == ["qwen3-vl"]
        assert [_chat(url) for _ in range(3)] == ["first", "second", "second"]
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


@pytest.mark.process
def test_a_bad_script_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "canned_server.py"), str(bad)],
        capture_output=True, text=True, cwd=ROOT, timeout=30,
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "line 1: not valid JSON" in result.stderr

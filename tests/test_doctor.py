"""``deskpilot doctor`` as a user runs it (real settings files, cache folders and loopback servers),
and its server and model checks called directly where a whole run would only repeat the imports."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.doctor import (
    DoctorOptions,
    Finding,
    check_local_model,
    check_platform,
    check_script,
    check_server,
    resolve_target,
)
from tests.loopback_servers import VLLM_NO_TOOLS, StubServer, dead_port, serving
from tests.support import display_size

HF = Path(sys.executable).parent / "hf"


def doctor(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", "doctor", *args], capture_output=True, text=True, timeout=120, env=env
    )


def lines(findings: list[Finding]) -> list[str]:
    return [f.line() for f in findings]


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
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The settings file the doctor reads (through $DESKPILOT_CONFIG), not yet written."""
    path = tmp_path / "config" / "config.toml"
    path.parent.mkdir()
    monkeypatch.setenv("DESKPILOT_CONFIG", str(path))
    return path


@pytest.fixture
def healthy() -> Iterator[StubServer]:
    with serving(StubServer(models=["qwen3-vl:8b"])) as stub:
        yield stub


# The whole command --------------------------------------------------------------------------


def test_doctor_reports_versions_monitors_cache_server_and_found_servers(
    x_display: str, hf_cache: Path, config: Path, healthy: StubServer
) -> None:
    env = dict(os.environ, HF_HUB_CACHE=str(hf_cache))
    result = doctor(
        "--backend",
        "openai",
        "--base-url",
        healthy.url,
        "--model",
        "qwen3-vl:8b",
        "--scan-ports",
        str(healthy.port),
        env=env,
    )
    out = result.stdout
    assert f"OK    settings: defaults (no file at {config}): backend local" in out
    assert "OK    python: 3." in out
    assert f"OK    platform: x11 (DISPLAY={x_display}; can capture, act, read the pointer" in out
    assert "OK    torch: " in out and "OK    transformers: 5." in out and "OK    bitsandbytes: " in out
    width, height = display_size()
    assert f"OK    monitor 1: {width}x{height}+0+0 (scale 1)" in out
    assert "INFO  cached models: Qwen/Qwen3-VL-2B-Instruct" in out
    assert f"OK    model server: {healthy.url}: reachable, serves: qwen3-vl:8b\n" in out
    assert "OK    tool calls: the server accepts the computer_use tool" in out
    assert (
        f"OK    model server found: at {healthy.url} serves qwen3-vl:8b; use it with "
        f"--backend openai --base-url {healthy.url} --model qwen3-vl:8b" in out
    )
    # The server backend needs no local model: none is looked for.
    assert "model: " not in out.replace("cached models: ", "")
    assert result.returncode == 0, result.stderr


@pytest.mark.process
def test_doctor_names_each_problem_and_the_requested_model_without_a_cache_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "HF_HUB_CACHE")}
    # HF_HOME names a folder that does not exist: there is no cache folder at all.
    env["HF_HOME"] = str(tmp_path / "no-hf-home")
    env["DESKPILOT_CONFIG"] = str(tmp_path / "config.toml")
    with dead_port() as port:
        url = f"http://127.0.0.1:{port}/v1"
        result = doctor(
            "--model", "Qwen/Qwen3-VL-4B-Instruct", "--base-url", url, "--scan-ports", "", env=env
        )
    out = result.stdout
    assert result.returncode == 1
    assert "FAIL  display: no display" in out
    assert (
        "FAIL  model: Qwen/Qwen3-VL-4B-Instruct is not downloaded (not in the Hugging Face cache at "
        f"{tmp_path / 'no-hf-home' / 'hub'}); get it with `{HF} download Qwen/Qwen3-VL-4B-Instruct`" in out
    )
    assert f"FAIL  model server: cannot reach the model server at {url}: connection refused" in out
    assert "3 problem(s): display; model; model server" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.process
def test_a_corrupt_settings_file_is_a_fail_with_its_reason(tmp_path: Path, hf_cache: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('model = "Qwen/Qwen3-VL-2B-Instruct"\nbackend = local\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.update(DESKPILOT_CONFIG=str(config), HF_HUB_CACHE=str(hf_cache))
    result = doctor("--model", "Qwen/Qwen3-VL-2B-Instruct", "--scan-ports", "", env=env)
    assert result.returncode == 1
    [settings_line] = [line for line in result.stdout.splitlines() if "settings:" in line]
    assert settings_line.startswith(f"FAIL  settings: config file {config} is not valid TOML: ")
    assert "line 2" in settings_line
    # The rest is still checked, with the options over the built-in defaults.
    assert "OK    model: Qwen/Qwen3-VL-2B-Instruct (in the Hugging Face cache" in result.stdout
    assert "problem(s): settings; display" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.process
def test_bad_scan_ports_are_bad_input(tmp_path: Path) -> None:
    env = dict(os.environ, DESKPILOT_CONFIG=str(tmp_path / "config.toml"))
    result = doctor("--scan-ports", "11434,ollama", env=env)
    assert result.returncode == 2
    assert (
        result.stderr
        == "deskpilot: error: --scan-ports: '11434,ollama' is not a comma-separated list of ports\n"
    )


# The settings file decides what is checked -----------------------------------------------------


def test_the_model_named_in_the_settings_file_is_looked_for(config: Path, hf_cache: Path) -> None:
    config.write_text('model = "Qwen/Qwen3-VL-4B-Instruct"\n', encoding="utf-8")
    target, findings = resolve_target(DoctorOptions())
    assert lines(findings) == [f"OK    settings: {config}: backend local, model Qwen/Qwen3-VL-4B-Instruct"]
    assert (target.backend, target.model, target.check_server) == (
        "local",
        "Qwen/Qwen3-VL-4B-Instruct",
        False,
    )
    [finding] = check_local_model(target.model, cache_dir=hf_cache)
    assert finding.level == "fail"
    assert finding.detail.startswith("Qwen/Qwen3-VL-4B-Instruct is not downloaded")
    assert f"`{HF} download Qwen/Qwen3-VL-4B-Instruct`" in finding.detail


def test_options_override_the_settings_file(config: Path) -> None:
    config.write_text(
        'backend = "openai"\nmodel = "from-file"\nbase_url = "http://127.0.0.1:1/v1"\n', encoding="utf-8"
    )
    target, _ = resolve_target(DoctorOptions(backend="local", model="Qwen/Qwen3-VL-2B-Instruct"))
    assert (target.backend, target.model, target.check_server) == (
        "local",
        "Qwen/Qwen3-VL-2B-Instruct",
        False,
    )


def test_a_cached_model_and_a_local_folder_are_found(tmp_path: Path, hf_cache: Path) -> None:
    assert lines(check_local_model("Qwen/Qwen3-VL-2B-Instruct", cache_dir=hf_cache)) == [
        f"OK    model: Qwen/Qwen3-VL-2B-Instruct (in the Hugging Face cache at {hf_cache})"
    ]
    folder = tmp_path / "my-model"
    folder.mkdir()
    assert (
        check_local_model(str(folder))[0].line()
        == f"FAIL  model: the model folder {folder} has no config.json"
    )
    (folder / "config.json").write_text("{}", encoding="utf-8")
    assert check_local_model(str(folder))[0].line() == f"OK    model: {folder} (local folder)"


def test_settings_with_the_openai_backend_check_that_server_with_its_key(config: Path) -> None:
    with serving(StubServer(models=["qwen3-vl:8b"])) as stub:
        config.write_text(
            f'backend = "openai"\nbase_url = "{stub.url}"\nmodel = "qwen3-vl:8b"\napi_key = "sk-secret"\n',
            encoding="utf-8",
        )
        target, _ = resolve_target(DoctorOptions())
        assert target.check_server
        findings = check_server(target)
    assert lines(findings) == [
        f"OK    model server: {stub.url}: reachable, serves: qwen3-vl:8b",
        "OK    tool calls: the server accepts the computer_use tool",
    ]
    assert all(headers.get("authorization") == "Bearer sk-secret" for _, _, _, headers in stub.calls)
    assert not any("sk-secret" in line for line in lines(findings))


def test_the_script_backend_needs_its_script_file(tmp_path: Path) -> None:
    replies = tmp_path / "replies.jsonl"
    assert (
        check_script("")[0].line()
        == "FAIL  script: --backend script needs a script file (the 'script' setting)"
    )
    assert check_script(str(replies))[0].line() == f"FAIL  script: {replies} does not exist"
    replies.write_text('{"reply": "x"}\n', encoding="utf-8")
    assert check_script(str(replies))[0].line() == f"OK    script: {replies}"


# The server check ------------------------------------------------------------------------------


def test_a_server_that_refuses_tools_fails_and_names_the_flags(config: Path) -> None:
    with serving(StubServer(models=["Qwen/Qwen3-VL-8B-Instruct"], refuse_tools=True)) as vllm:
        target, _ = resolve_target(DoctorOptions(backend="openai", base_url=vllm.url))
        findings = check_server(target)
    assert lines(findings) == [
        f"OK    model server: {vllm.url}: reachable, serves: Qwen/Qwen3-VL-8B-Instruct",
        f"FAIL  tool calls: the server refuses requests with tools (HTTP 400: {VLLM_NO_TOOLS}); start vLLM "
        "with --enable-auto-tool-choice --tool-call-parser hermes (llama.cpp: llama-server --jinja)",
    ]
    # The probe is the smallest request that carries the real tool.
    [(method, path, body, _)] = [r for r in vllm.calls if r[0] == "POST"]
    assert (method, path) == ("POST", "/v1/chat/completions")
    assert body is not None
    assert body["max_tokens"] == 1
    assert [t["function"]["name"] for t in body["tools"]] == ["computer_use"]


def test_something_that_is_not_a_model_server_fails_before_the_tool_probe(config: Path) -> None:
    with serving(StubServer(not_openai=True)) as router:
        target, _ = resolve_target(DoctorOptions(base_url=router.url))
        findings = check_server(target)
    [finding] = findings
    assert finding.line().startswith("FAIL  model server: ")
    assert "did not answer /models with a model list: <html>router login</html>" in finding.detail
    assert [r[0] for r in router.calls] == ["GET"]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"DISPLAY": ":5"}, ["OK    platform: x11 (DISPLAY=:5; can capture, act, read the pointer, see global keys, "
                             "record input, paste text, read window titles, mark its own input)"]),
        ({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"},
         ["FAIL  platform: this is a Wayland session whose compositor Deskpilot cannot drive yet"]),
        # A wlroots compositor: the platform, then what Wayland keeps from it, in plain words.
        ({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "sway"},
         ["OK    platform: wlroots (WAYLAND_DISPLAY=wayland-0, no sway IPC; can capture, act, paste text; cannot",
          "WARN  platform: cannot read where the pointer is", "WARN  platform: cannot see keys pressed",
          "WARN  platform: cannot see your mouse and keyboard", "WARN  platform: cannot read window titles",
          "WARN  platform: cannot mark its own input"]),
        # The display check fails for this; the platform line only says why there is none.
        ({}, ["INFO  platform: none (neither DISPLAY nor WAYLAND_DISPLAY is set)"]),
        ({"DISPLAY": ":5", "DESKPILOT_PLATFORM": "beos"},
         ["FAIL  platform: DESKPILOT_PLATFORM: unknown platform 'beos' (known: x11, wlroots, gnome, kde, wayland)"]),
    ],
)
def test_doctor_names_the_platform_and_what_it_can_do(environ: dict[str, str], expected: list[str]) -> None:
    found = lines(check_platform(environ))
    assert len(found) == len(expected)
    for line, start in zip(found, expected, strict=True):
        assert line.startswith(start), line

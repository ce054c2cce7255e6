"""``deskpilot doctor``: what this machine has for running the agent, and what is missing.

Each check returns a ``Finding``; "fail" findings are problems that stop a run,
"warn" ones make it slow or limited. The command exits non-zero when any check fails.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from agent.errors import DeskpilotError

Level = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Finding:
    level: Level
    topic: str
    detail: str

    def line(self) -> str:
        return f"{self.level.upper():<5} {self.topic}: {self.detail}"


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_python() -> list[Finding]:
    # pip refuses to install on Python < 3.11, so only the version is worth reporting.
    return [Finding("ok", "python", ".".join(str(v) for v in sys.version_info[:3]))]


def check_torch() -> list[Finding]:
    findings: list[Finding] = []
    try:
        import torch
    except Exception as err:
        return [Finding("fail", "torch", f"cannot import torch: {err}")]
    findings.append(Finding("ok", "torch", str(torch.__version__)))
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(index)
            name = torch.cuda.get_device_name(index)
            findings.append(
                Finding("ok", f"gpu {index}", f"{name}, {free / 1e9:.1f} of {total / 1e9:.1f} GB free")
            )
    else:
        findings.append(
            Finding(
                "warn",
                "gpu",
                "no CUDA GPU: the local model runs on the CPU and takes minutes per step; use "
                "Qwen/Qwen3-VL-2B-Instruct with a small pixel budget, or a model server",
            )
        )
    if importlib.util.find_spec("torchvision") is not None:
        try:
            importlib.import_module("torchvision")
        except Exception as err:
            findings.append(
                Finding("fail", "torchvision", f"installed but broken ({err}); uninstall it or match torch")
            )
    return findings


def check_libraries() -> list[Finding]:
    findings: list[Finding] = []
    for dist, why in (("transformers", "the local model"), ("bitsandbytes", "nf4 and int8")):
        version = _version(dist)
        if version is None:
            findings.append(Finding("fail", dist, f"not installed; needed for {why}"))
            continue
        try:
            importlib.import_module(dist)
        except Exception as err:
            findings.append(Finding("fail", dist, f"{version} installed but does not import: {err}"))
            continue
        findings.append(Finding("ok", dist, version))
    return findings


def check_display() -> list[Finding]:
    from agent.computers.screen import MssScreen

    try:
        screen = MssScreen(1)
        monitors = screen.monitors()
    except DeskpilotError as err:
        return [Finding("fail", "display", str(err))]
    findings = []
    for number, region in enumerate(monitors, start=1):
        frame = MssScreen(number).capture()
        scale = frame.geometry.scale_x
        findings.append(Finding("ok", f"monitor {number}", f"{region} (scale {scale:g})"))
    for program, why in (("xclip", "typing non-ASCII text"),):
        if sys.platform.startswith("linux") and shutil.which(program) is None:
            findings.append(Finding("fail", program, f"not installed; needed for {why}"))
    return findings


def check_models(default_model: str) -> list[Finding]:
    try:
        from huggingface_hub import scan_cache_dir
        from huggingface_hub.errors import CacheNotFound

        cache = scan_cache_dir()
    except CacheNotFound:
        return [Finding("warn", "cached models", "none (the Hugging Face cache is empty)")]
    except Exception as err:
        return [Finding("warn", "model cache", f"cannot read the Hugging Face cache: {err}")]
    cached = sorted(repo.repo_id for repo in cache.repos if "vl" in repo.repo_id.lower())
    findings = [Finding("ok" if cached else "warn", "cached models", ", ".join(cached) or "none")]
    if default_model not in cached and "/" in default_model and not default_model.startswith((".", "/")):
        findings.append(
            Finding(
                "warn",
                "default model",
                f"{default_model} is not cached; it downloads on first use (or run `hf download "
                f"{default_model}` now)",
            )
        )
    return findings


def check_server(base_url: str, model: str | None, api_key: str | None) -> list[Finding]:
    from agent.backends.local import DEFAULT_MODEL
    from agent.backends.openai import OpenAIBackend

    try:
        detail = OpenAIBackend(base_url, model or DEFAULT_MODEL, api_key=api_key).check()
    except DeskpilotError as err:
        return [Finding("fail", "model server", str(err))]
    return [Finding("ok", "model server", f"{base_url}: {detail}")]


def run_checks(
    default_model: str,
    base_url: str | None = None,
    server_model: str | None = None,
    api_key: str | None = None,
) -> list[Finding]:
    checks: list[Callable[[], list[Finding]]] = [
        check_python,
        check_torch,
        check_libraries,
        check_display,
        lambda: check_models(default_model),
    ]
    if base_url:
        checks.append(lambda: check_server(base_url, server_model, api_key))
    findings: list[Finding] = []
    for check in checks:
        findings.extend(check())
    return findings

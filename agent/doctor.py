"""``deskpilot doctor``: whether the next run has what it needs on this machine, and what is missing.

It checks what the next ``deskpilot run`` would use: the settings file (the same one
the run and the tray app read), overridden by the doctor's options. Each check
returns ``Finding``s; "fail" findings are problems that stop a run, "warn" ones make
it slow or limited, "info" ones are news. The command exits non-zero on any "fail".
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from agent.backends.presence import check_local_model as backend_model_checks
from agent.backends.presence import has_cuda
from agent.config import Settings, check_settings, default_config_path, load_settings
from agent.errors import ConfigError, DeskpilotError, UnsupportedDesktopError
from agent.system_packages import (
    SearchPaths,
    apt_command,
    load_table,
    missing,
    needed,
    package_names,
    platforms_for,
)

if TYPE_CHECKING:
    from agent.computers.platform import Platform

Level = Literal["ok", "info", "warn", "fail"]

# The table's platforms (agent/system_packages.txt) as the doctor names them.
PLATFORM_WORDS = {"x11": "X11", "wlroots": "wlroots", "gnome": "GNOME", "kde": "KDE Plasma",
                  "atspi": "the accessibility tree"}

# What a plain `vllm serve` lacks for tool calls; its 400 answer names them too.
VLLM_TOOL_FLAGS = "--enable-auto-tool-choice --tool-call-parser hermes"


@dataclass(frozen=True)
class Finding:
    level: Level
    topic: str
    detail: str

    def line(self) -> str:
        return f"{self.level.upper():<5} {self.topic}: {self.detail}"


@dataclass(frozen=True)
class DoctorOptions:
    """The doctor's command-line options; None means "as the settings file says"."""

    backend: str | None = None
    model: str | None = None
    base_url: str | None = None
    server_model: str | None = None
    api_key: str | None = None
    # Loopback ports to look for model servers on. None: the usual ports, and only on
    # a machine without a CUDA GPU (where a server is the better way to run).
    scan_ports: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Target:
    """What the next run would use, after the settings file and the options."""

    backend: str
    model: str  # the local model (hub id or folder)
    base_url: str
    server_model: str  # the model name on the server
    api_key: str | None
    script: str
    check_server: bool


def resolve_target(options: DoctorOptions) -> tuple[Target, list[Finding]]:
    """Read the settings file as ``deskpilot run`` does and apply the options over it."""
    path = default_config_path()
    try:
        settings = load_settings(path)
    except ConfigError as err:
        # The run would stop on this too; check the rest as if the file were absent.
        findings = [Finding("fail", "settings", str(err))]
        settings = Settings()
    else:
        where = str(path) if path.exists() else f"defaults (no file at {path})"
        findings = [Finding("ok", "settings", f"{where}: backend {settings.backend}, model {settings.model}")]
        # The same validator the run and the settings dialog use.
        findings += [Finding("fail", "settings", f"{p.field}: {p.message}") for p in check_settings(settings)]
    backend = options.backend or settings.backend
    target = Target(
        backend=backend,
        model=options.model or settings.model,
        base_url=options.base_url or settings.base_url,
        server_model=options.server_model or options.model or settings.model,
        api_key=options.api_key or settings.api_key or None,
        script=settings.script,
        check_server=backend == "openai" or options.base_url is not None,
    )
    return target, findings


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


def check_platform(environ: Mapping[str, str] | None = None) -> list[Finding]:
    """Which desktop backend drives this session, and what it cannot do; a Wayland session fails."""
    from agent.computers.selection import Verdict, choose_platform, select_platform

    env = os.environ if environ is None else environ
    try:
        choice = choose_platform(env)
        if choice.verdict is Verdict.NO_DISPLAY:
            # The display check names this problem; here it is news, not a second failure.
            return [Finding("info", "platform", f"none ({choice.reason})")]
        platform = select_platform(env)
    except DeskpilotError as err:
        return [Finding("fail", "platform", str(err))]
    findings = [Finding("ok", "platform", platform.describe())]
    findings += [Finding("warn", "platform", words) for words in platform.capabilities.cannot()]
    if platform.name == "kde":
        from agent.computers.kde.entry import setup_problems

        findings += [Finding("fail", "kde", problem) for problem in setup_problems(dict(env))]
    return findings


def check_packages(
    environ: Mapping[str, str] | None = None, where: SearchPaths | None = None
) -> list[Finding]:
    """The apt packages this session's desktop backend (and the accessibility tree) needs and lacks.

    Only a report ("warn"): each missing package with what it is for, then the one apt
    command that installs them all. File lookups only (agent/system_packages.txt says where).
    """
    env = os.environ if environ is None else environ
    platforms = platforms_for(env)
    if not platforms:
        return []
    found = where or SearchPaths.from_environment(env)
    lacking = missing(needed(platforms, load_table()), found)
    names = " and ".join(PLATFORM_WORDS.get(p, p) for p in platforms)
    if not lacking:
        return [Finding("ok", "packages", f"all that {names} need from apt is installed")]
    findings = []
    for package in package_names(lacking):
        rows = [r for r in lacking if r.package == package]
        why = "; ".join(dict.fromkeys(f"{PLATFORM_WORDS.get(r.platform, r.platform)}: {r.why}" for r in rows))
        findings.append(Finding("warn", "package", f"{package} is missing ({why})"))
    command = apt_command(package_names(lacking))
    findings.append(Finding("warn", "packages", f"{names} need these; install them with: {command}"))
    return findings


def _asks_consent(platform: Platform) -> bool:
    """Whether capturing here would put up a consent dialog (GNOME through the desktop portal)."""
    from agent.computers.gnome.platform import GnomePlatform

    return isinstance(platform, GnomePlatform) and platform.backend().kind == "portal"


def check_display() -> list[Finding]:
    from agent.computers.selection import select_platform

    try:
        platform = select_platform()
        if _asks_consent(platform):
            return [Finding("info", "display", "not captured: GNOME's desktop portal would show its consent "
                                               "dialog for that (a run shows it, and says so first)")]
        monitors = platform.screen(1).monitors()
    except UnsupportedDesktopError:
        return []  # the platform check has said why, in the same words
    except DeskpilotError as err:
        return [Finding("fail", "display", str(err))]
    findings = []
    for number, region in enumerate(monitors, start=1):
        frame = platform.screen(number).capture()
        scale = frame.geometry.scale_x
        findings.append(Finding("ok", f"monitor {number}", f"{region} (scale {scale:g})"))
    clipboard_tool = "wl-copy" if platform.name == "kde" else "xclip"
    for program, why in ((clipboard_tool, "typing non-ASCII text"),):
        if sys.platform.startswith("linux") and shutil.which(program) is None:
            findings.append(Finding("fail", program, f"not installed; needed for {why}"))
    return findings


def check_cached_models(cache_dir: Path | None = None) -> list[Finding]:
    """The Qwen-VL-like models in the Hugging Face cache, as news."""
    from huggingface_hub import constants, scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    where = cache_dir or Path(constants.HF_HUB_CACHE)
    try:
        cache = scan_cache_dir(where)
    except CacheNotFound:
        return [Finding("info", "cached models", f"none (no Hugging Face cache at {where})")]
    except Exception as err:
        return [Finding("warn", "cached models", f"cannot read the Hugging Face cache at {where}: {err}")]
    cached = sorted(repo.repo_id for repo in cache.repos if "vl" in repo.repo_id.lower())
    return [Finding("info", "cached models", ", ".join(cached) or f"none in {where}")]


def check_local_model(model: str, cache_dir: Path | None = None) -> list[Finding]:
    """Whether the model a local run would load is on this machine: a folder, or in the cache."""
    return [Finding(c.level, "model", c.detail) for c in backend_model_checks(model, cache_dir)]


def check_script(script: str) -> list[Finding]:
    if not script:
        return [Finding("fail", "script", "--backend script needs a script file (the 'script' setting)")]
    if not Path(script).expanduser().is_file():
        return [Finding("fail", "script", f"{script} does not exist")]
    return [Finding("ok", "script", script)]


def check_server(target: Target, timeout_s: float = 10.0) -> list[Finding]:
    """Whether the server answers, lists the model, and accepts the ``computer_use`` tool."""
    from agent.backends.openai import OpenAIBackend
    from agent.computer_use.prompts import computer_use_tool
    from agent.scaling import FrameKind, ModelFrame

    try:
        backend = OpenAIBackend(
            target.base_url, target.server_model, api_key=target.api_key, timeout_s=timeout_s, retries=0
        )
    except DeskpilotError as err:
        return [Finding("fail", "model server", str(err))]
    try:
        try:
            detail = backend.check(timeout_s)
        except DeskpilotError as err:
            return [Finding("fail", "model server", str(err))]
        findings = [Finding("ok", "model server", f"{target.base_url}: {detail}")]
        tool = computer_use_tool(ModelFrame.for_image(FrameKind.REL1000, 1920, 1080))
        try:
            refusal = backend.tools_refusal(tool, timeout_s=max(timeout_s, 30.0))
        except DeskpilotError as err:
            detail = f"a request with the computer_use tool failed: {err}"
            findings.append(Finding("fail", "tool calls", detail))
            return findings
        if refusal is None:
            findings.append(Finding("ok", "tool calls", "the server accepts the computer_use tool"))
        else:
            findings.append(
                Finding(
                    "fail",
                    "tool calls",
                    f"the server refuses requests with tools ({refusal}); start vLLM with "
                    f"{VLLM_TOOL_FLAGS} (llama.cpp: llama-server --jinja)",
                )
            )
        return findings
    finally:
        backend.close()


def check_discovery(ports: Sequence[int] | None = None) -> list[Finding]:
    """Model servers already running on loopback, each with the options that use it."""
    from agent.backends.discovery import KNOWN_PORTS, discover

    found = discover(ports)
    if not found:
        asked = ", ".join(str(p) for p in (KNOWN_PORTS if ports is None else ports))
        return [Finding("info", "model servers", f"none answering on 127.0.0.1 ports {asked}")]
    return [Finding("ok", "model server found", server.describe()) for server in found]


def run_checks(options: DoctorOptions) -> list[Finding]:
    target, findings = resolve_target(options)
    checks: list[Callable[[], list[Finding]]] = [
        check_python,
        check_torch,
        check_libraries,
        check_platform,
        check_packages,
        check_display,
        check_cached_models,
    ]
    if target.backend == "local":
        checks.append(lambda: check_local_model(target.model))
    elif target.backend == "script":
        checks.append(lambda: check_script(target.script))
    if target.check_server:
        checks.append(lambda: check_server(target))
    if options.scan_ports is not None:
        if options.scan_ports:  # an empty list asks for no scan
            checks.append(lambda: check_discovery(options.scan_ports))
    elif not has_cuda():
        checks.append(check_discovery)
    for check in checks:
        findings.extend(check())
    return findings

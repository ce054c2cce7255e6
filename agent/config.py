"""User settings: a TOML file in the user config directory, shared by the CLI and the tray app.

Command-line options override the file; the file overrides built-in defaults. A file
that cannot be parsed is reported with its line and never rewritten behind the
user's back. Writing goes through a temporary file and an atomic rename (0600: the
file may hold an API key).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.backends.base import DEFAULT_MODEL as DEFAULT_MODEL  # re-exported: the settings default
from agent.computer_use.prompts import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS
from agent.errors import ConfigError
from agent.geometry import parse_region
from agent.records.files import write_private_atomic
from agent.run.hotkey import DEFAULT_KILL_HOTKEY, parse_hotkey
from agent.run.policy import DEFAULT_DENIED_CHORDS, parse_chords

CONFIG_ENV = "DESKPILOT_CONFIG"

# Every closed choice, once: the value and how a person reads it. The CLI's ``choices``,
# the settings dialog's lists and the validators below all come from these.
BACKENDS: dict[str, str] = {
    "local": "Local model on this computer",
    "openai": "OpenAI-compatible server",
    "script": "Scripted replies (for testing)",
}
PRECISIONS: dict[str, str] = {
    "auto": "auto (best that fits this computer)",
    "nf4": "nf4 (4-bit, least memory)",
    "int8": "int8 (8-bit)",
    "bf16": "bf16 (16-bit)",
    "fp16": "fp16 (16-bit)",
    "fp32": "fp32 (full precision, most memory)",
}
CONFIRM_MODES: dict[str, str] = {
    "always": "Always: ask before every action",
    "risky": "Risky actions: ask before shortcuts, Enter, drags and protected places",
    "never": "Never: run every allowed action without asking",
}
REFINE_MODES: dict[str, str] = {
    "off": "off: one pass, the model's point as it is",
    "auto": "auto: zoom in when the point is near small structure",
    "always": "always: zoom in for every click",
}
FRAMES: dict[str, str] = {
    "rel1000": "rel1000: 0–1000 relative (Qwen3-VL)",
    "rel999": "rel999: 0–999 relative",
    "qwen25": "qwen25: absolute pixels of the resized image (Qwen2.5-VL)",
}


def _one_of(choices: dict[str, str], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")
        return value

    return check


def default_config_path() -> Path:
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override)
    import platformdirs

    return platformdirs.user_config_path("deskpilot") / "config.toml"


class Settings(BaseModel):
    """Every setting with its default; the TOML file holds any subset of these keys."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    backend: str = "local"
    model: str = DEFAULT_MODEL
    precision: str = "auto"
    base_url: str = "http://127.0.0.1:8000/v1"
    api_key: str = ""
    script: str = ""
    frame: str = "rel1000"
    max_steps: int = Field(default=30, ge=1, le=1000)
    confirm: str = "risky"
    confirm_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    monitor: int = Field(default=1, ge=0)
    # Native resolution by default (the cookbook's budget); 1048576 (1080p at 1008 image
    # tokens instead of 2040) is the cheap option. The upper bound is the checkpoint
    # processor's own maximum.
    max_pixels: int = Field(default=DEFAULT_MAX_PIXELS, ge=DEFAULT_MIN_PIXELS, le=16384 * 32 * 32)
    screenshots_in_prompt: int = Field(default=1, ge=1, le=8)
    refine: str = "auto"  # zoom-then-ground for clicks: off, auto, always
    # Number the active window's clickable elements on the screenshot and list them, so the
    # model may answer "click element 7" (needs the accessibility tree; agent.computer_use.marks)
    marks: bool = False
    history_dir: str = ""
    history_keep_runs: int = Field(default=200, ge=0)
    kill_hotkey: str = DEFAULT_KILL_HOTKEY
    denied_chords: list[str] = Field(default_factory=lambda: list(DEFAULT_DENIED_CHORDS))
    risky_regions: list[str] = Field(default_factory=list)  # "WIDTHxHEIGHT+X+Y"
    risky_windows: list[str] = Field(default_factory=list)  # regular expressions on window titles
    speech_rate: int = Field(default=175, ge=80, le=450)  # words a minute (espeak-ng)
    speech_voice: str = ""  # an espeak-ng voice ("en-us", "de"); "" is English; Chinese lines get Mandarin
    quiet_hotkey: str = "ctrl+alt+q"  # silences speech at once (the kill hotkey stops everything)
    # The tray's global hotkeys, so it can be used without finding its icon (a screen
    # reader cannot see tray icons): open the command window, describe, read aloud.
    hotkey_command: str = "ctrl+alt+n"
    hotkey_describe: str = "ctrl+alt+e"
    hotkey_read: str = "ctrl+alt+r"
    narrate: bool = False  # the tray and `deskpilot run` say what they are about to do (and state changes)

    _backend_known = field_validator("backend")(_one_of(BACKENDS, "backend"))
    _precision_known = field_validator("precision")(_one_of(PRECISIONS, "precision"))
    _frame_known = field_validator("frame")(_one_of(FRAMES, "frame"))
    _confirm_known = field_validator("confirm")(_one_of(CONFIRM_MODES, "confirm mode"))
    _refine_known = field_validator("refine")(_one_of(REFINE_MODES, "refine mode"))

    @field_validator("risky_regions")
    @classmethod
    def _regions_parse(cls, value: list[str]) -> list[str]:
        # Also in check_settings (with line numbers); here so a file with a region that
        # cannot mean anything is refused when it is read, as it always was.
        for spec in value:
            parse_region(spec)
        return value


@dataclass(frozen=True)
class FieldProblem:
    """One setting that cannot work as given: the Settings key and what is wrong, in words."""

    field: str
    message: str


def check_settings(settings: Settings) -> list[FieldProblem]:
    """What the field types alone do not check, in the words a run would fail with later.

    The one settings validator: the settings dialog, ``deskpilot run``, the tray and
    ``deskpilot doctor`` all ask it, so a setting is accepted or refused the same way.
    """
    problems: list[FieldProblem] = []
    if settings.backend != "script" and not settings.model.strip():
        problems.append(FieldProblem("model", "give a model id or a model folder"))
    if settings.backend == "openai" and not settings.base_url.startswith(("http://", "https://")):
        problems.append(FieldProblem("base_url", "it must start with http:// or https://"))
    if settings.backend == "script" and not settings.script:
        problems.append(FieldProblem("script", "the script backend needs a file of replies (--script FILE)"))
    try:
        parse_hotkey(settings.kill_hotkey)
    except ConfigError as err:
        problems.append(FieldProblem("kill_hotkey", str(err)))
    chords: dict[tuple[str, ...], str] = {}
    for field in ("kill_hotkey", "quiet_hotkey", "hotkey_command", "hotkey_describe", "hotkey_read"):
        try:
            keys = parse_hotkey(getattr(settings, field))
        except ConfigError as err:
            if field != "kill_hotkey":  # the kill hotkey's problem is reported above
                problems.append(FieldProblem(field, str(err)))
            continue
        if keys in chords:
            problems.append(FieldProblem(field, f"{'+'.join(keys)} is already the {chords[keys]}"))
        chords.setdefault(keys, field.replace("_", " "))
    for number, chord in enumerate(settings.denied_chords, start=1):
        try:
            parse_chords([chord])
        except ConfigError as err:
            problems.append(FieldProblem("denied_chords", f"line {number}: {err}"))
    for number, spec in enumerate(settings.risky_regions, start=1):
        try:
            parse_region(spec)
        except ConfigError as err:
            problems.append(FieldProblem("risky_regions", f"line {number}: {err}"))
    for number, pattern in enumerate(settings.risky_windows, start=1):
        try:
            re.compile(pattern)
        except re.error as err:
            problems.append(FieldProblem("risky_windows", f"line {number}: not a valid pattern ({err})"))
    return problems


def require_valid(settings: Settings) -> Settings:
    """``settings`` when ``check_settings`` finds nothing; else ConfigError naming the first problem."""
    problems = check_settings(settings)
    if problems:
        first = problems[0]
        raise ConfigError(f"setting {first.field}: {first.message}")
    return settings


def load_settings(path: Path | None = None) -> Settings:
    """Settings from ``path`` (default: the user config file); a missing file gives defaults."""
    path = path or default_config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Settings()
    except OSError as err:
        raise ConfigError(f"cannot read the config file {path}: {err.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as err:
        # tomllib's message carries "(at line N, column M)".
        raise ConfigError(f"config file {path} is not valid TOML: {err}") from None
    try:
        return Settings.model_validate(data)
    except (ValidationError, ConfigError) as err:
        raise ConfigError(f"config file {path}: {_first_problem(err)}") from None


def _first_problem(err: ValidationError | ConfigError) -> str:
    if isinstance(err, ConfigError):
        return str(err)
    item = err.errors()[0]
    where = ".".join(str(p) for p in item["loc"]) or "file"
    if item["type"] == "extra_forbidden":
        return f"unknown setting {where!r}"
    return f"setting {where!r}: {str(item['msg']).removeprefix('Value error, ')}"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write every setting to ``path`` atomically with mode 0600."""
    path = path or default_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Deskpilot settings (written by Deskpilot; edits are kept)"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in settings.model_dump().items()]
    write_private_atomic(path, ("\n".join(lines) + "\n").encode("utf-8"))
    return path

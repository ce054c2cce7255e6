"""User settings: a TOML file in the user config directory, shared by the CLI and the tray app.

Command-line options override the file; the file overrides built-in defaults. A file
that cannot be parsed is reported with its line and never rewritten behind the
user's back. Writing goes through a temporary file and an atomic rename (0600: the
file may hold an API key).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.errors import ConfigError
from agent.geometry import parse_region
from agent.records.files import open_private
from agent.run.policy import DEFAULT_DENIED_CHORDS

CONFIG_ENV = "DESKPILOT_CONFIG"


def default_config_path() -> Path:
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override)
    import platformdirs

    return platformdirs.user_config_path("deskpilot") / "config.toml"


class Settings(BaseModel):
    """Every setting with its default; the TOML file holds any subset of these keys."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    backend: str = Field(default="local", pattern="^(local|openai|script)$")
    model: str = "Qwen/Qwen3-VL-8B-Instruct"
    precision: str = Field(default="auto", pattern="^(auto|nf4|int8|bf16|fp16|fp32)$")
    base_url: str = "http://127.0.0.1:8000/v1"
    api_key: str = ""
    script: str = ""
    frame: str = Field(default="rel1000", pattern="^(rel1000|rel999|qwen25)$")
    max_steps: int = Field(default=30, ge=1, le=1000)
    confirm: str = Field(default="risky", pattern="^(always|risky|never)$")
    confirm_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    monitor: int = Field(default=1, ge=0)
    # Native resolution by default (agent.computer_use.prompts.DEFAULT_MAX_PIXELS, the
    # cookbook's budget); 1048576 (1080p at 1008 image tokens instead of 2040) is the cheap option.
    # The upper bound is the checkpoint processor's own maximum.
    max_pixels: int = Field(default=12845056, ge=64 * 32 * 32, le=16384 * 32 * 32)
    screenshots_in_prompt: int = Field(default=1, ge=1, le=8)
    history_dir: str = ""
    history_keep_runs: int = Field(default=200, ge=0)
    kill_hotkey: str = "ctrl+alt+k"
    denied_chords: list[str] = Field(default_factory=lambda: list(DEFAULT_DENIED_CHORDS))
    risky_regions: list[str] = Field(default_factory=list)  # "WIDTHxHEIGHT+X+Y"
    risky_windows: list[str] = Field(default_factory=list)  # regular expressions on window titles

    @field_validator("risky_regions")
    @classmethod
    def _regions_parse(cls, value: list[str]) -> list[str]:
        for spec in value:
            parse_region(spec)
        return value


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
    return f"setting {where!r}: {item['msg']}"


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
    tmp = path.with_name(path.name + ".tmp")
    fd = open_private(tmp)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return path

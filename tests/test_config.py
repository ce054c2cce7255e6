"""The settings file: defaults, overrides, line-numbered errors, atomic private writes."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from agent.config import Settings, load_settings, save_settings
from agent.errors import ConfigError


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "absent.toml")
    assert settings == Settings()
    assert settings.kill_hotkey == "ctrl+alt+k" and settings.confirm == "risky" and settings.max_steps == 30


def test_round_trip_is_private_and_atomic(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    settings = Settings(model="Qwen/Qwen3-VL-2B-Instruct", api_key='se"cret', risky_regions=["100x50+1800+0"],
                        risky_windows=["bank"], max_steps=12)
    save_settings(settings, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_settings(path) == settings
    assert not list(path.parent.glob("*.tmp"))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('model = "x"\nmax_steps = = 3\n', "line 2"),
        ("max_steps = 0\n", "max_steps"),
        ('confirm = "sometimes"\n', "confirm"),
        ('colour = "blue"\n', "unknown setting 'colour'"),
        ('risky_regions = ["big"]\n', "bad screen"),
        ('precision = "int3"\n', "precision"),
    ],
)
def test_bad_files_are_reported_and_left_alone(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert fragment in str(info.value) and str(path) in str(info.value)
    assert path.read_text(encoding="utf-8") == content


def test_non_utf8_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"model = \"\xff\"\n")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_settings(path)

"""The one atomic private writer: every saved index, macro, setting and history file goes through it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agent.records import files
from agent.records.files import write_private_atomic


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_replaces_an_open_file_with_a_private_one(tmp_path: Path) -> None:
    path = tmp_path / "index.json"
    path.write_text("old")
    path.chmod(0o644)
    write_private_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert _mode(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.json"]


def test_a_failed_rename_keeps_the_old_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "macro.json"
    path.write_text("old")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space"):
        write_private_atomic(path, b"new")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["macro.json"]


def test_a_missing_folder_is_an_os_error_for_the_caller_to_word(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        write_private_atomic(tmp_path / "gone" / "x.json", b"x")
    assert os.listdir(tmp_path) == []

"""Where a skill's result goes: private files (0600), the raw answer beside a rejected one."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from agent.errors import ConfigError
from agent.records.files import open_private
from agent.skills.runner import SkillResult
from agent.skills.unit import Skill


def check_out_path(path: Path) -> None:
    """Fail before any model is loaded when the result could not be written there."""
    if path.is_dir():
        raise ConfigError(f"--out {path} is a folder; give a file name")
    if not path.parent.is_dir():
        raise ConfigError(f"--out {path}: the folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK):
        raise ConfigError(f"--out {path}: the folder {path.parent} is not writable")


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600 from the first byte (it describes the user's screen)."""
    fd = open_private(path, "wb")
    with os.fdopen(fd, "wb") as handle:
        handle.write(text.encode("utf-8"))


def raw_path(out: Path | None, skill: Skill) -> Path:
    """Beside the intended file (``page.html.raw.txt``), or in the current folder without --out."""
    if out is not None:
        return out.with_name(out.name + ".raw.txt")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path.cwd() / f"{skill.name}-{stamp}.raw.txt"


def markdown_path(out: Path) -> Path:
    """The Markdown twin of a JSON result (the quiz): ``quiz.json`` → ``quiz.md``."""
    return out.with_suffix(".md") if out.suffix.lower() != ".md" else out.with_name(out.name + ".md")


def save_result(result: SkillResult, out: Path) -> list[Path]:
    """Write the validated text to ``out`` (and the Markdown twin when there is one); the paths written."""
    write_private(out, result.validated.text)
    written = [out]
    if result.validated.markdown is not None:
        twin = markdown_path(out)
        write_private(twin, result.validated.markdown)
        written.append(twin)
    return written

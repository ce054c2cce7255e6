"""The desktop entry that makes KWin grant Deskpilot fake-input and ScreenShot2, and where it is installed."""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

TEMPLATE = "deskpilot.desktop.in"
NAME = "deskpilot.desktop"


def desktop_entry(python: str | None = None) -> str:
    """The entry for the interpreter ``python`` (this one by default), by its real path.

    KWin matches the first word of Exec, resolved, against the client's executable:
    for Deskpilot that is the Python interpreter, never the ``deskpilot`` script.
    """
    real = os.path.realpath(python or sys.executable)
    template = (resources.files("agent.computers.kde") / TEMPLATE).read_text(encoding="utf-8")
    return template.replace("@PYTHON@", real)


def entry_path(environ: dict[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/applications/deskpilot.desktop`` (``~/.local/share`` by default), where KWin looks."""
    env = os.environ if environ is None else environ
    data_home = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME", str(Path.home()))) / ".local" / "share")
    return Path(data_home) / "applications" / NAME


def install_desktop_entry(python: str | None = None, environ: dict[str, str] | None = None) -> Path:
    """Write the entry where KWin finds it; it takes effect for programs started afterwards."""
    path = entry_path(environ)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(desktop_entry(python), encoding="utf-8")
    return path


def setup_problems(environ: dict[str, str] | None = None, python: str | None = None) -> list[str]:
    """What this machine still lacks for the KDE backend, one line each (for ``doctor``)."""
    import importlib.util
    import shutil

    problems = [
        f"the Python package {module} is missing (pip install {module})"
        for module in ("pywayland", "jeepney")
        if importlib.util.find_spec(module) is None
    ]
    if shutil.which("wl-copy") is None or shutil.which("wl-paste") is None:
        problems.append("wl-clipboard is missing, so text outside the keymap cannot be typed "
                        "(apt-get install wl-clipboard)")
    path = entry_path(environ)
    if not path.exists() or path.read_text(encoding="utf-8") != desktop_entry(python):
        problems.append(f"{path} is missing or names another Python, so KWin will refuse input and "
                        "capture (run scripts/install.sh)")
    return problems

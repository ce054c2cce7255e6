"""The command window as a screen reader sees it: its AT-SPI tree, read the way Orca reads it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import APPS, require_program

# Roles a user operates or reads; each must carry a name (a label, if not its own text).
NAMED_ROLES = {"push button", "check box", "combo box", "list", "progress bar", "text"}


@pytest.fixture(scope="module")
def tree(x_display: str) -> list[dict[str, object]]:
    require_program("dbus-run-session")
    require_program("dbus-send")
    if not Path("/usr/libexec/at-spi-bus-launcher").exists() or not Path("/usr/bin/python3").exists():
        pytest.fail("at-spi2-core is not installed; scripts/install.sh installs it")
    result = subprocess.run(
        ["dbus-run-session", "--", sys.executable, str(APPS / "atspi_session.py")],
        capture_output=True, text=True, timeout=90,
    )
    assert result.returncode == 0, result.stderr[-2000:] + result.stdout[-2000:]
    # The AT-SPI registry daemon, started by D-Bus activation, prints a line of its own.
    nodes = json.loads([line for line in result.stdout.splitlines() if line.startswith("[")][-1])
    assert isinstance(nodes, list)
    return nodes


def test_every_control_has_a_role_and_a_name(tree: list[dict[str, object]]) -> None:
    controls = [(n["role"], n["name"]) for n in tree]
    expected = {
        ("combo box", "Task"),
        ("push button", "Run"),
        ("push button", "Stop"),
        ("push button", "Pause"),
        ("check box", "Dry run"),
        ("progress bar", "Working"),
        ("list", "Steps"),
        ("text", "Model output"),
    }
    assert expected <= set(controls), controls
    # Every top-level control of the window (depth 2) with an operable role is named;
    # the combo box's inner list and line edit are named through the combo box itself.
    unnamed = [n for n in tree if n["depth"] == 2 and n["role"] in NAMED_ROLES and not n["name"]]
    assert unnamed == [], unnamed
    assert tree[0]["role"] == "application" and tree[1]["role"] in ("filler", "frame")

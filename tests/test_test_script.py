"""scripts/test.sh and the session check: the suite never drives a display it was not given.

scripts/test.sh --run starts the X servers exactly as for the suite and runs one command
there instead, so these tests see its display selection without recursing into the suite.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, display_problem
from tests.test_desktop import wait_until

pytestmark = pytest.mark.e2e  # drives a whole Deskpilot program from outside

# What the display looks like from inside test.sh: the variables it exports and the
# size of the X screen DISPLAY names, read from the server itself.
REPORT = """
import json, os
import Xlib.display
screen = Xlib.display.Display().screen()
print(json.dumps({k: os.environ.get(k) for k in
    ("DISPLAY", "DESKPILOT_TEST_DISPLAY", "DESKPILOT_DUAL_DISPLAY", "DESKPILOT_DUAL_UNAVAILABLE")}
    | {"size": [screen.width_in_pixels, screen.height_in_pixels]}))
"""


def free_display() -> str:
    """A display number no X server has: its socket and lock file are both absent."""
    n = 90
    while Path(f"/tmp/.X11-unix/X{n}").exists() or Path(f"/tmp/.X{n}-lock").exists():
        n += 1
    return f":{n}"


def run_test_sh(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "test.sh"), *args],
        capture_output=True, text=True, timeout=60, env=env, cwd=ROOT, stdin=subprocess.DEVNULL,
    )


def answers(display: str) -> bool:
    result = subprocess.run(["xdpyinfo"], env=dict(os.environ, DISPLAY=display), capture_output=True, timeout=10)
    return result.returncode == 0


def base_env(**overrides: str) -> dict[str, str]:
    # The suite's own DESKPILOT_TEST_DISPLAY would be "told otherwise": leave it out
    # unless a test names one. The dual display is inherited, so no second Xorg starts.
    env = {k: v for k, v in os.environ.items() if k != "DESKPILOT_TEST_DISPLAY"}
    env.update(overrides)
    return env


def test_test_sh_ignores_a_preset_display_and_starts_its_own_xvfb() -> None:
    bogus = free_display()
    result = run_test_sh("--run", sys.executable, "-c", REPORT, env=base_env(DISPLAY=bogus))
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["DISPLAY"] != bogus
    assert seen["DISPLAY"] != os.environ.get("DISPLAY")  # not the suite's either: a fresh one
    assert seen["DESKPILOT_TEST_DISPLAY"] == seen["DISPLAY"]
    assert seen["size"] == [1920, 1080]
    # And it stopped that Xvfb when the command ended.
    assert wait_until(lambda: not answers(seen["DISPLAY"]))


def test_test_sh_uses_the_display_it_is_told_to(x_display: str) -> None:
    result = run_test_sh("--run", sys.executable, "-c", REPORT, env=base_env(DISPLAY=free_display(), DESKPILOT_TEST_DISPLAY=x_display))
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["DISPLAY"] == seen["DESKPILOT_TEST_DISPLAY"] == x_display
    assert answers(x_display), "test.sh stopped a display it did not start"


@pytest.mark.parametrize("variable", ["DESKPILOT_TEST_DISPLAY", "DESKPILOT_DUAL_DISPLAY"])
def test_test_sh_refuses_a_named_display_where_no_server_answers(variable: str) -> None:
    bogus = free_display()
    result = run_test_sh("--run", "true", env=base_env(**{variable: bogus}))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {variable}={bogus}: no X server answers there"


def test_test_sh_run_needs_a_command() -> None:
    result = run_test_sh("--run", env=base_env(DESKPILOT_DUAL_DISPLAY=""))
    assert result.returncode == 2 and "--run needs a command" in result.stderr


def test_without_root_the_dual_display_is_missing_with_the_reason() -> None:
    """Xorg needs root: test.sh then runs on, and the multi-monitor tests learn why they skip."""
    uid, user = os.getuid(), []
    if uid == 0:  # CI runs as root: be nobody for this one
        uid, user = 65534, ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    # Copies of the scripts where nobody can read them (a checkout under /root is not).
    copy = Path(tempfile.mkdtemp(prefix="deskpilot-scripts-"))
    try:
        (copy / "scripts").mkdir()
        for name in ("test.sh", "xvfb.sh", "xorg_dummy.sh"):
            shutil.copy(ROOT / "scripts" / name, copy / "scripts" / name)
        for path in (copy, copy / "scripts"):
            path.chmod(0o755)
        env = base_env(DESKPILOT_DUAL_DISPLAY="")
        env.pop("TMPDIR", None)  # nobody's temp files (the Xvfb fifo) go to /tmp
        # sh, not the venv's python: that may live where nobody cannot read (root's pyenv).
        report = 'echo "[$DESKPILOT_DUAL_DISPLAY] $DESKPILOT_DUAL_UNAVAILABLE"'
        result = subprocess.run(
            [*user, "bash", str(copy / "scripts" / "test.sh"), "--run", "sh", "-c", report],
            capture_output=True, text=True, timeout=60, env=env, cwd="/", stdin=subprocess.DEVNULL,
        )
    finally:
        shutil.rmtree(copy)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"[] Xorg with the dummy driver needs root (this is uid {uid})\n"
    assert "the multi-monitor tests will not run" in result.stderr


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({}, None),
        ({"DISPLAY": ":3", "DESKPILOT_TEST_DISPLAY": ":3"}, None),
        ({"DISPLAY": ":0"}, "DISPLAY=:0 may be your desktop"),
        ({"DISPLAY": ":0", "DESKPILOT_TEST_DISPLAY": ":3"}, "DISPLAY=:0 may be your desktop"),
        ({"DISPLAY": ":0", "DESKPILOT_TEST_DISPLAY": ""}, "set DESKPILOT_TEST_DISPLAY=:0 to use that display on purpose"),
    ],
)
def test_display_problem(env: dict[str, str], problem: str | None) -> None:
    found = display_problem(env)
    assert found is None if problem is None else (found is not None and problem in found)


def pytest_on(display: str, *tests: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xvfb", "-p", "no:cacheprovider", "-q", *tests],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=base_env(DISPLAY=display),
    )


def test_pytest_refuses_display_tests_on_a_display_it_was_not_given_in_one_line() -> None:
    bogus = free_display()
    result = pytest_on(bogus, "tests/test_desktop.py")
    assert result.returncode == 4  # pytest's usage error: nothing ran
    assert result.stderr.strip().splitlines() == [f"ERROR: {display_problem({'DISPLAY': bogus})}"]
    assert "no tests ran" in result.stdout


def test_tests_without_a_display_still_run_with_a_foreign_display_hidden() -> None:
    """The fast loop (-m "not x11") from a desktop terminal: DISPLAY is hidden, not used."""
    result = pytest_on(free_display(), "tests/test_parsing.py", "tests/test_overlay.py::test_countdown_text_rounds_up")
    assert result.returncode == 0, result.stdout + result.stderr

"""scripts/install.sh's helpers: apt waits for its lock, saying so; pip's output keeps only what matters."""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PIP_LOG = """\
  WARNING: Location '/opt/wheels' is ignored: it is neither a path nor a URL.
/tmp/pip-build-env-x/overlay/setuptools/dist.py:759: SetuptoolsDeprecationWarning: License classifiers are deprecated.
!!

        ********************************************************************************
        Please consider removing the following classifiers in favor of a SPDX license expression:

        License :: OSI Approved :: MIT License

        See https://packaging.python.org/en/latest/guides/writing-pyproject-toml/#license for details.
        ********************************************************************************

!!
  self._finalize_license_expression()

WARNING: the package index answered slowly
"""


@pytest.mark.process
def test_pip_output_keeps_what_matters_and_drops_setuptools_banners(tmp_path: Path) -> None:
    log = tmp_path / "pip.log"
    log.write_text(PIP_LOG)
    result = subprocess.run(
        ["awk", "-f", str(ROOT / "scripts" / "pip_quiet.awk"), str(log)], capture_output=True, text=True, timeout=10
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "WARNING: the package index answered slowly\n"


def _fakes(tmp_path: Path, apt_status: int) -> dict[str, str]:
    """apt-get that logs its arguments (and fails with ``apt_status``), and a sudo that just runs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "apt.log"}\nexit {apt_status}\n')
    (bin_dir / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    for tool in ("apt-get", "sudo"):
        (bin_dir / tool).chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "APT_LOCK_WAIT_S": "7"}


@pytest.mark.process
def test_apt_waits_for_a_held_lock_and_says_so(tmp_path: Path) -> None:
    lock = tmp_path / "lock-frontend"
    env = {**_fakes(tmp_path, 0), "APT_LOCK_FILES": str(lock)}
    with lock.open("a") as held:
        fcntl.lockf(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running apt holds it
        result = subprocess.run(
            ["bash", str(ROOT / "scripts" / "apt_packages.sh"), "xdotool", "xclip"],
            capture_output=True, text=True, env=env, timeout=30,
        )
    assert result.returncode == 0, result.stderr
    assert f"another package manager holds {lock}" in result.stderr and "waiting up to 7s" in result.stderr
    calls = (tmp_path / "apt.log").read_text().splitlines()
    assert calls == [
        "-o DPkg::Lock::Timeout=7 update -qq",
        "-o DPkg::Lock::Timeout=7 install -y -qq --no-install-recommends xdotool xclip",
    ]


@pytest.mark.process
def test_apt_that_still_fails_ends_the_install_with_one_line(tmp_path: Path) -> None:
    env = {**_fakes(tmp_path, 100), "APT_LOCK_FILES": str(tmp_path / "free-lock")}
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "apt_packages.sh"), "xdotool"], capture_output=True, text=True, env=env, timeout=30
    )
    assert result.returncode == 1
    assert "waiting" not in result.stderr  # nothing held the lock
    assert result.stderr.strip().splitlines()[-1].startswith("error: apt-get update failed (see above)")

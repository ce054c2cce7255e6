"""What each desktop needs from apt: one table (agent/system_packages.txt) that the doctor checks
and scripts/install.sh installs from, looked up in real and made-up file trees."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from agent import doctor
from agent.cli.main import main
from agent.doctor import check_packages
from agent.system_packages import (
    SearchPaths,
    load_table,
    needed,
    package_names,
    parse_table,
    platforms_for,
)

ROOT = Path(__file__).resolve().parent.parent

# A session of each platform, as the environment says it (no compositor or bus is asked).
SESSIONS = {
    "x11": {"XDG_SESSION_TYPE": "x11", "DISPLAY": ":7"},
    "wlroots": {"XDG_SESSION_TYPE": "wayland", "XDG_CURRENT_DESKTOP": "sway", "WAYLAND_DISPLAY": "wayland-1"},
    "gnome": {"XDG_SESSION_TYPE": "wayland", "XDG_CURRENT_DESKTOP": "ubuntu:GNOME", "WAYLAND_DISPLAY": "wayland-0"},
    "kde": {"XDG_SESSION_TYPE": "wayland", "XDG_CURRENT_DESKTOP": "KDE", "WAYLAND_DISPLAY": "wayland-0"},
}
NOWHERE = SearchPaths(path="", lib_dirs=(), gst_dirs=(), typelib_dirs=(), root=Path("/nonexistent"))


def test_the_shipped_table_covers_every_backend_that_needs_apt() -> None:
    table = load_table()
    assert {r.platform for r in table} == {"x11", "gnome", "kde", "atspi"}  # wlroots needs nothing
    assert "xclip" in package_names(needed(["x11"], table))
    assert "gstreamer1.0-pipewire" in package_names(needed(["gnome"], table))
    assert "wl-clipboard" in package_names(needed(["kde"], table))
    assert "gir1.2-atspi-2.0" in package_names(needed(["atspi"], table))


def test_a_malformed_row_names_its_line() -> None:
    with pytest.raises(ValueError, match="line 2: .*not 'platform package check target why'"):
        parse_table("# comment\nx11 xclip program xclip the paste\n")


@pytest.mark.parametrize("platform", sorted(SESSIONS))
def test_each_session_needs_its_backend_and_the_tree(platform: str) -> None:
    assert platforms_for(SESSIONS[platform], system="linux") == (platform, "atspi")


def test_no_backend_means_no_packages_to_name() -> None:
    assert platforms_for({}, system="linux") == ()
    assert platforms_for({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "w"}, system="linux") == ()
    assert check_packages({}, NOWHERE) == []


@pytest.mark.parametrize("platform", ["x11", "gnome", "kde"])
def test_missing_everything_names_each_package_and_the_one_apt_line(platform: str) -> None:
    findings = check_packages(SESSIONS[platform], NOWHERE)
    wanted = package_names(needed([platform, "atspi"], load_table()))
    assert {f.level for f in findings} == {"warn"}  # a report: the doctor still exits 0
    named = [f.detail.split()[0] for f in findings if f.topic == "package"]
    assert named == wanted
    apt = [f.detail for f in findings if f.topic == "packages"]
    assert len(apt) == 1
    assert apt[0].endswith("sudo apt-get install -y " + " ".join(wanted))


@pytest.mark.parametrize("platform", sorted(SESSIONS))
def test_on_this_machine_nothing_is_missing(platform: str) -> None:
    # scripts/install.sh --test installs every desktop's packages here (and in CI).
    env = {**SESSIONS[platform], "PATH": os.environ.get("PATH", os.defpath)}
    findings = check_packages(env)
    assert [f.level for f in findings] == ["ok"], [f.line() for f in findings]


def test_each_check_looks_where_that_kind_of_file_lives(tmp_path: Path) -> None:
    """A made-up root with every GNOME and tree requirement but one: only that one is missing."""
    multiarch = tmp_path / "usr/lib/x86_64-linux-gnu"
    for relative in ("gstreamer-1.0/libgstpipewire.so", "gstreamer-1.0/libgstvideoconvert.so",
                     "gstreamer-1.0/libgstapp.so", "girepository-1.0/GLib-2.0.typelib",
                     "girepository-1.0/Atspi-2.0.typelib"):
        (multiarch / relative).parent.mkdir(parents=True, exist_ok=True)
        (multiarch / relative).write_bytes(b"")
    extra = tmp_path / "typelibs"  # GI_TYPELIB_PATH is searched too
    extra.mkdir()
    (extra / "Gst-1.0.typelib").write_bytes(b"")
    launcher = tmp_path / "usr/lib/at-spi2-core/at-spi-bus-launcher"  # the older of its two places
    launcher.parent.mkdir(parents=True)
    launcher.write_bytes(b"")
    for portal in ("xdg-desktop-portal", "xdg-desktop-portal-gnome"):
        (tmp_path / "usr/libexec").mkdir(parents=True, exist_ok=True)
        (tmp_path / "usr/libexec" / portal).write_bytes(b"")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()  # no gsettings in it
    env = {**SESSIONS["gnome"], "PATH": str(bin_dir), "GI_TYPELIB_PATH": str(extra)}
    where = SearchPaths.from_environment(env, root=tmp_path)
    findings = check_packages(env, where)
    assert [f.detail.split()[0] for f in findings if f.topic == "package"] == ["libglib2.0-bin"]
    gsettings = bin_dir / "gsettings"
    gsettings.write_text("#!/bin/sh\n")
    gsettings.chmod(0o755)
    assert [f.level for f in check_packages(env, where)] == ["ok"]


def test_the_doctor_exits_0_when_packages_are_only_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(doctor, "run_checks", lambda options: check_packages(SESSIONS["kde"], NOWHERE))
    assert main(["doctor", "--scan-ports", ""]) == 0
    out = capsys.readouterr().out
    assert "WARN  package: wl-clipboard is missing" in out
    assert "sudo apt-get install -y wl-clipboard" in out


@pytest.mark.process
@pytest.mark.parametrize("platform", sorted(SESSIONS))
def test_install_sh_installs_what_the_table_says_the_desktop_needs(platform: str) -> None:
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": os.environ.get("HOME", "/root"), **SESSIONS[platform]}
    done = subprocess.run(["bash", "scripts/install.sh", "--packages"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    installs = set(done.stdout.split())
    wanted = package_names(needed(["x11", "atspi", platform], load_table()))  # X11's always: Xvfb
    assert [p for p in wanted if p not in installs] == []
    others = {r.package for r in load_table()} - set(wanted)
    assert installs & others == set()  # another desktop's packages stay out


@pytest.mark.process
@pytest.mark.parametrize("args", [("--packages",), ("--test", "--packages"), ("--packages", "--test"), ("--bogus",)])
def test_install_sh_reads_its_options_in_any_order(args: tuple[str, ...], tmp_path: Path) -> None:
    # A copy of the script beside the real agent/ and a venv whose python always fails: an
    # install.sh that misread its options and went on to install would stop there, not
    # reinstall the project into the real .venv.
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "install.sh", tmp_path / "scripts" / "install.sh")
    (tmp_path / "agent").symlink_to(ROOT / "agent")
    venv_python = tmp_path / ".venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.write_text("#!/bin/sh\necho 'install.sh went on to install' >&2\nexit 97\n")
    venv_python.chmod(0o755)
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": os.environ.get("HOME", "/root"), **SESSIONS["x11"]}
    done = subprocess.run(["bash", "scripts/install.sh", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    if args == ("--bogus",):  # refused before anything is installed
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr.strip().splitlines() == [
            "error: unknown option --bogus (scripts/install.sh takes --test and --packages)"
        ]
        return
    assert done.returncode == 0, done.stderr
    installs = done.stdout.split()
    assert "xvfb" in installs  # the runtime's, printed and stopped (nothing installed)
    assert ("xserver-xorg-video-dummy" in installs) == ("--test" in args)  # the test tools' with --test

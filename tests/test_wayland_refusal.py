"""In a real Wayland session every command that captures or acts refuses in one line, before any model loads.

The session is a headless sway with a real Xwayland (tests/wayland.py), so DISPLAY
answers: the refusal must come from the session, not from a missing X server.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import DONE
from tests.wayland import WaylandSession, WaylandUnavailable, headless_sway

log = logging.getLogger(__name__)

# Every test here runs deskpilot in a compositor's namespace: a process each.
pytestmark = pytest.mark.process

REFUSAL = "deskpilot: error: this is a Wayland session whose compositor Deskpilot cannot drive yet"
# sway is a wlroots compositor Deskpilot drives (tests/test_wlroots.py); here the refusal
# a compositor with no backend gets is forced, as a session that hides what it is would.
NO_BACKEND = {"DESKPILOT_PLATFORM": "wayland"}


@pytest.fixture(scope="module")
def wayland() -> Iterator[WaylandSession]:
    try:
        with headless_sway() as session:
            yield session
    except WaylandUnavailable as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no headless Wayland session: {err}")
        pytest.skip(f"no headless Wayland session: {err}")


@pytest.fixture(scope="module")
def files() -> Iterator[Path]:
    # Under /var/tmp, not /tmp: the session's namespace has a /tmp of its own.
    folder = Path(tempfile.mkdtemp(prefix="deskpilot-wayland-", dir="/var/tmp"))
    (folder / "script.jsonl").write_text(
        json.dumps({"reply": '<tool_call>{"name": "computer_use", "arguments": '
                             '{"action": "left_click", "coordinate": [500, 500]}}</tool_call>'}) + "\n"
        + json.dumps({"reply": DONE}) + "\n"
    )
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


NO_MODEL = "/nonexistent/model"  # a model that cannot load: trying would say so on stderr

COMMANDS = {
    "run scripted": ["run", "click the middle", "--script", "{f}/script.jsonl", "--confirm", "never",
                     "--history-dir", "{f}/history"],
    "run model": ["run", "open the editor", "--model", NO_MODEL, "--history-dir", "{f}/history"],
    "screenshot": ["screenshot", "{f}/shot.png"],
    "click": ["click", "OK", "--confirm", "never", "--history-dir", "{f}/history"],
    "read": ["read"],
    "describe": ["describe", "--model", NO_MODEL],
    "locate": ["locate", "the OK button", "--model", NO_MODEL],
    "macro play": ["macro", "play", "{f}/macro.json", "--history-dir", "{f}/history"],
    "macro record": ["macro", "record", "{f}/recorded.json"],
    "skill on a capture": ["skill", "alt-text", "--monitor", "1", "--model", NO_MODEL],
}


def test_the_session_is_real_wayland_with_a_real_xwayland(wayland: WaylandSession) -> None:
    """The premise: DISPLAY answers (it is Xwayland) and its screen captures black."""
    probe = (
        "import mss; s = mss.MSS() if hasattr(mss, 'MSS') else mss.mss(); m = s.monitors[1]; "
        "print(m.get('output', ''), m['width'], m['height'], max(s.grab(m).raw))"
    )
    result = wayland.run([sys.executable, "-c", probe], wayland.environ())
    assert result.returncode == 0, result.stderr
    # Xwayland names its RandR output XWAYLAND<n>; every byte of the grab is 0.
    assert result.stdout.split() == ["XWAYLAND0", "1920", "1080", "0"]
    assert (wayland.runtime_dir / wayland.wayland_display).is_socket()
    log.info("headless sway + Xwayland up in %.2f s", wayland.started_in_s)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_command_that_captures_or_acts_refuses_in_one_line(
    wayland: WaylandSession, files: Path, name: str
) -> None:
    args = [a.replace("{f}", str(files)) for a in COMMANDS[name]]
    result = wayland.deskpilot(*args, extra=NO_BACKEND)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith(REFUSAL), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    # Nothing was captured, recorded or loaded: no history, no files, no word of a model.
    assert sorted(p.name for p in files.iterdir()) == ["script.jsonl"]
    assert "model" not in lines[0]


def test_the_override_drives_xwayland_and_sees_black(wayland: WaylandSession, files: Path) -> None:
    """DESKPILOT_PLATFORM=x11 is the way out the message names; here it shows why it is not the default."""
    shot = files / "override.png"
    result = wayland.deskpilot("screenshot", str(shot), extra={"DESKPILOT_PLATFORM": "x11"})
    try:
        assert result.returncode == 0, result.stderr
        from PIL import Image

        with Image.open(shot) as image:
            assert image.getextrema() == ((0, 0), (0, 0), (0, 0))  # rootless Xwayland: all black
    finally:
        shot.unlink(missing_ok=True)


def test_commands_on_image_files_still_work_in_a_wayland_session(wayland: WaylandSession) -> None:
    result = wayland.deskpilot("skill", "--list")
    assert result.returncode == 0 and "alt-text" in result.stdout, result.stderr

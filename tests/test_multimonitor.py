"""Two real monitors: capture, clicks, the monitor under the pointer, a run and the overlay.

They run on the two-monitor Xorg dummy server scripts/test.sh starts (scripts/xorg_dummy.sh):
one 3200x1080 X screen split into RandR monitors LEFT and RIGHT. Programs under test run
as subprocesses with DISPLAY set to it: pyautogui and Qt open one display per process
for good, and the suite's own is the single-monitor Xvfb. Negative origins and
per-monitor scales cannot exist on one X screen (root coordinates start at 0, one screen
has one DPI): those stay the geometry tests in test_scaling.py, test_overlay.py
(test_logical_geometry), test_planner.py and test_computers.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from agent.computers.x11.screen import MssScreen
from agent.geometry import Region
from agent.records.history import load_run
from tests.conftest import ROOT, ProbeApp
from tests.test_desktop import wait_until

# The layout scripts/xorg_dummy.sh sets up; mss numbers monitors from 1 in this order.
LEFT = Region(0, 0, 1280, 1024)
RIGHT = Region(1280, 0, 1920, 1080)
DESKTOP = Region(0, 0, 3200, 1080)


@dataclass(frozen=True)
class DualDisplay:
    """The two-monitor display: its name and the environment that puts a process on it."""

    name: str

    @property
    def env(self) -> dict[str, str]:
        return dict(os.environ, DISPLAY=self.name, DESKPILOT_TEST_DISPLAY=self.name)

    def xdotool(self, *args: str) -> str:
        result = subprocess.run(["xdotool", *args], capture_output=True, text=True, timeout=10, env=self.env)
        if result.returncode != 0:
            raise RuntimeError(f"xdotool {' '.join(args)} on {self.name} failed: {result.stderr.strip()}")
        return result.stdout


def dual_display(env: Mapping[str, str]) -> DualDisplay:
    """The display scripts/test.sh passed in DESKPILOT_DUAL_DISPLAY; skips (fails under CI) without one."""
    name = env.get("DESKPILOT_DUAL_DISPLAY", "")
    if name:
        return DualDisplay(name)
    reason = env.get("DESKPILOT_DUAL_UNAVAILABLE") or (
        "DESKPILOT_DUAL_DISPLAY is not set: run the suite through scripts/test.sh, which starts one"
    )
    if env.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"no two-monitor display under CI: {reason}")
    pytest.skip(f"no two-monitor display: {reason}")


@pytest.fixture(scope="module")
def dual() -> DualDisplay:
    return dual_display(os.environ)


@pytest.fixture
def on_dual(dual: DualDisplay, monkeypatch: pytest.MonkeyPatch) -> Iterator[DualDisplay]:
    """In-process mss on the dual display too (mss connects to $DISPLAY per instance)."""
    monkeypatch.setenv("DISPLAY", dual.name)
    yield dual
    dual.xdotool("mousemove", "640", "512")  # off the corners, away from the windows used here


@pytest.fixture
def dual_probe(on_dual: DualDisplay) -> Iterator[Callable[..., ProbeApp]]:
    started: list[ProbeApp] = []

    def start(*args: str, app: str = "probe_window.py") -> ProbeApp:
        started.append(ProbeApp(*args, env=on_dual.env, app=app))
        return started[-1]

    yield start
    for probe in started:
        probe.close()


def colour_box(image: Image.Image, rgb: tuple[int, int, int]) -> tuple[int, int, int, int] | None:
    """The bounding box of the pixels that are exactly ``rgb``, or None."""
    channels = [Image.eval(image.getchannel(i), lambda v, want=want: 255 if v == want else 0) for i, want in enumerate(rgb)]
    return ImageChops.multiply(ImageChops.multiply(channels[0], channels[1]), channels[2]).getbbox()


def pointer_of(display: str) -> Callable[[], tuple[int, int]]:
    import Xlib.display

    conn = Xlib.display.Display(display)

    def pointer() -> tuple[int, int]:
        reply = conn.screen().root.query_pointer()
        return (reply.root_x, reply.root_y)

    return pointer


def model_point(x: int, y: int, monitor: Region) -> str:
    """A desktop pixel as a rel1000 coordinate on ``monitor``'s capture."""
    return f"[{(x - monitor.left + 0.5) * 1000 / monitor.width:.2f}, {(y - monitor.top + 0.5) * 1000 / monitor.height:.2f}]"


def call(args: str) -> str:
    return f'<tool_call>\n{{"name": "computer_use", "arguments": {args}}}\n</tool_call>'


# -- where the display comes from ----------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "outcome", "fragment"),
    [
        ({"DESKPILOT_DUAL_DISPLAY": ":7"}, "ok", ":7"),
        ({"DESKPILOT_DUAL_DISPLAY": "", "DESKPILOT_DUAL_UNAVAILABLE": "needs root (uid 1000)"}, "skip", "needs root (uid 1000)"),
        ({"DESKPILOT_DUAL_DISPLAY": "", "DESKPILOT_DUAL_UNAVAILABLE": "needs root", "CI": "true"}, "fail", "under CI: needs root"),
        ({}, "skip", "run the suite through scripts/test.sh"),
        ({"CI": "true"}, "fail", "run the suite through scripts/test.sh"),
    ],
)
def test_no_dual_display_skips_with_the_reason_but_fails_under_ci(env: dict[str, str], outcome: str, fragment: str) -> None:
    if outcome == "ok":
        assert dual_display(env).name == fragment
        return
    expected = pytest.skip.Exception if outcome == "skip" else pytest.fail.Exception
    with pytest.raises(expected, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        dual_display(env)


# -- on the two-monitor display ------------------------------------------------------------


def test_mss_lists_both_monitors_with_their_geometry(on_dual: DualDisplay) -> None:
    screen = MssScreen(1)
    assert screen.monitors() == [LEFT, RIGHT]
    assert [MssScreen(n).capture_region() for n in (0, 1, 2)] == [DESKTOP, LEFT, RIGHT]


def test_each_monitor_captures_its_own_pixels(dual_probe: Callable[..., ProbeApp]) -> None:
    green, blue = (0x12, 0xC0, 0x34), (0x30, 0x50, 0xF0)
    dual_probe("--geometry", "300x200+1500+100", "--colour", "#12c034")  # 220 px into monitor 2
    dual_probe("--geometry", "200x100+1180+900", "--colour", "#3050f0")  # across the boundary
    left, right = MssScreen(1), MssScreen(2)
    assert wait_until(lambda: right.capture().image.getpixel((370, 200)) == green)
    assert wait_until(lambda: left.capture().image.getpixel((1200, 950)) == blue)

    frame = right.capture()
    assert frame.region == RIGHT and frame.image.size == (1920, 1080)
    assert colour_box(frame.image, green) == (220, 100, 520, 300)
    assert colour_box(frame.image, blue) == (0, 900, 100, 1000)  # its right 100 px, at the left edge
    frame = left.capture()
    assert frame.region == LEFT and frame.image.size == (1280, 1024)
    assert colour_box(frame.image, green) is None
    assert colour_box(frame.image, blue) == (1180, 900, 1280, 1000)


CLICK_THROUGH_DESKTOP_COMPUTER = """
import json, sys
from agent.actions import LeftClick, ScreenAction
from agent.computers.x11.desktop import DesktopComputer
computer = DesktopComputer(int(sys.argv[1]))
frame = computer.capture()
x, y = int(sys.argv[2]), int(sys.argv[3])
computer.perform(ScreenAction(action=LeftClick(coordinate=(0, 0)), x=x, y=y))
r = frame.region
print(json.dumps({"region": [r.left, r.top, r.width, r.height], "pointer": list(computer.cursor_position())}))
"""


def test_a_click_through_desktop_computer_2_lands_on_monitor_2(
    on_dual: DualDisplay, dual_probe: Callable[..., ProbeApp]
) -> None:
    app = dual_probe("--geometry", "400x300+1700+300", "--colour", "#3050f0")
    result = subprocess.run(
        [sys.executable, "-c", CLICK_THROUGH_DESKTOP_COMPUTER, "2", "1900", "450"],
        capture_output=True, text=True, timeout=60, env=on_dual.env, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["region"] == [1280, 0, 1920, 1080] and out["pointer"] == [1900, 450]
    press = app.wait_for("press")
    assert (press["button"], press["x"], press["y"]) == ("LeftButton", 1900, 450)


def test_the_monitor_under_the_pointer_follows_it_across_monitors(on_dual: DualDisplay) -> None:
    pointer = pointer_of(on_dual.name)
    screen = MssScreen("cursor", pointer=pointer)
    for x, y, monitor in [(2240, 540, RIGHT), (640, 512, LEFT), (1280, 0, RIGHT), (1279, 0, LEFT), (3199, 1079, RIGHT)]:
        # Not --sync: xdotool then waits for a motion that never comes when the pointer is there already.
        on_dual.xdotool("mousemove", str(x), str(y))
        assert wait_until(lambda x=x, y=y: pointer() == (x, y))
        assert screen.capture_region() == monitor, (x, y)
        assert screen.capture().image.size == (monitor.width, monitor.height)


def test_deskpilot_run_on_monitor_2_clicks_a_window_there(
    on_dual: DualDisplay, dual_probe: Callable[..., ProbeApp], tmp_path: Path
) -> None:
    app = dual_probe("--geometry", "400x300+1700+300", "--colour", "#3050f0")
    script = tmp_path / "script.jsonl"
    replies = [
        call('{"action": "left_click", "coordinate": ' + model_point(1900, 450, RIGHT) + "}"),
        call('{"action": "terminate", "status": "success"}'),
    ]
    script.write_text("".join(json.dumps({"reply": r}) + "\n" for r in replies), encoding="utf-8")
    env = dict(on_dual.env, DESKPILOT_CONFIG=str(tmp_path / "no-config.toml"))
    result = subprocess.run(
        [sys.executable, "-m", "agent", "run", "click the window on the right", "--monitor", "2",
         "--backend", "script", "--script", str(script), "--confirm", "never", "--history-dir", str(tmp_path / "h")],
        capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    press = app.wait_for("press")
    assert (press["x"], press["y"]) == (1900, 450)
    _, steps = load_run(tmp_path / "h", "latest")
    assert steps[0].actions[0].screen == {"action": "left_click", "x": 1900, "y": 450}


@pytest.mark.parametrize("monitor", [RIGHT, LEFT], ids=["monitor-2", "monitor-1"])
def test_the_overlay_covers_the_monitor_being_acted_on(
    on_dual: DualDisplay, dual_probe: Callable[..., ProbeApp], monitor: Region
) -> None:
    from ui.overlay import MARKER_RGB

    # A red window on that monitor, and a target high up: the panel goes to the bottom, clear of it.
    dual_probe("--geometry", f"200x150+{monitor.left + 400}+350", "--colour", "#ff0000")
    point = (monitor.left + 1100, 150)
    overlay = dual_probe("--monitor", str(monitor), "--point", f"{point[0]},{point[1]}", app="confirm_overlay.py")
    ready = overlay.ready
    assert (ready["x"], ready["y"], ready["width"], ready["height"]) == (monitor.left, monitor.top, monitor.width, monitor.height)
    # What X itself says about the window, not only Qt's idea of it.
    geometry = on_dual.xdotool("getwindowgeometry", str(ready["window"]))
    assert f"Position: {monitor.left},{monitor.top}" in geometry, geometry
    assert f"Geometry: {monitor.width}x{monitor.height}" in geometry, geometry

    other = RIGHT if monitor == LEFT else LEFT
    number = 1 if monitor == LEFT else 2
    image = MssScreen(number).capture().image
    assert colour_box(MssScreen(3 - number).capture().image, MARKER_RGB) is None, f"the overlay reached {other}"
    # The ring around the target, in this monitor's own coordinates.
    box = colour_box(image, MARKER_RGB)
    assert box is not None and box[0] < 1100 < box[2] and box[1] < 150 < box[3], box
    # Its backdrop is this monitor's screen, dimmed and lined up: dimmed red where the red window is.
    dimmed_red = image.getpixel((500, 425))
    assert 60 < dimmed_red[0] < 160 and dimmed_red[1:] == (0, 0), dimmed_red
    assert colour_box(image, dimmed_red) == (400, 350, 600, 500)


def test_a_run_on_monitor_2_becomes_a_macro_cut_there_that_replays_there(
    on_dual: DualDisplay, dual_probe: Callable[..., ProbeApp], tmp_path: Path
) -> None:
    from agent.macros.schema import load_macro

    window = dual_probe("--at", "1700,300", app="macro_button_window.py")
    bx, by, bw, bh = window.ready["button"]
    target = (bx + bw // 2, by + bh // 2)
    assert RIGHT.contains(*target)
    script = tmp_path / "script.jsonl"
    replies = [
        call('{"action": "left_click", "coordinate": ' + model_point(*target, RIGHT) + "}"),
        call('{"action": "terminate", "status": "success"}'),
    ]
    script.write_text("".join(json.dumps({"reply": r}) + "\n" for r in replies), encoding="utf-8")
    env = dict(on_dual.env, DESKPILOT_CONFIG=str(tmp_path / "no-config.toml"))
    history = tmp_path / "h"

    def deskpilot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True, timeout=60,
                              env=env, stdin=subprocess.DEVNULL, cwd=ROOT)

    run = deskpilot("run", "press save", "--monitor", "2", "--script", str(script), "--confirm", "never",
                    "--history-dir", str(history))
    assert run.returncode == 0, run.stderr
    assert window.wait_for("click")["button"] == "save"
    _, steps = load_run(history, "latest")
    capture = steps[0].capture
    assert capture is not None and (capture.left, capture.top, capture.width, capture.height) == (1280, 0, 1920, 1080)

    macro_path = tmp_path / "from-run.json"
    made = deskpilot("macro", "from-run", "latest", str(macro_path), "--history-dir", str(history))
    assert made.returncode == 0, made.stderr
    macro = load_macro(macro_path)
    assert (macro.monitor.left, macro.monitor.width) == (1280, 1920)
    anchor = macro.steps[0].anchor
    assert anchor is not None
    # The crop was cut around the button's pixel on monitor 2's screenshot, not 1280 px right of it.
    assert (anchor.box[0] + anchor.offset[0], anchor.box[1] + anchor.offset[1]) == (target[0] - RIGHT.left, target[1])

    # The window moved on monitor 2: the replay finds the button there and clicks it.
    window.close()
    moved = dual_probe("--at", "2300,600", app="macro_button_window.py")
    replay = deskpilot("macro", "play", str(macro_path), "--monitor", "2", "--confirm", "never", "--no-model",
                       "--history-dir", str(tmp_path / "replays"))
    assert replay.returncode == 0, replay.stderr
    assert moved.wait_for("click")["button"] == "save"

    # Without --monitor it plays where it was recorded, and says so.
    auto = deskpilot("macro", "play", str(macro_path), "--confirm", "never", "--no-model",
                     "--history-dir", str(tmp_path / "replays"))
    assert auto.returncode == 0, auto.stderr
    lines = auto.stderr.splitlines()
    assert lines[0].startswith("Playing from-run.json: 1 step recorded on monitor 2 (1920x1080)"), lines
    assert lines[1] == "playing on monitor 2, where it was recorded"
    assert moved.wait_for("click")["button"] == "save"
    # --monitor 1 is obeyed, with one line up front saying it is not where the macro was recorded.
    elsewhere = deskpilot("macro", "play", str(macro_path), "--monitor", "1", "--confirm", "never", "--no-model",
                          "--history-dir", str(tmp_path / "replays"))
    assert elsewhere.returncode == 1, elsewhere.stderr
    lines = elsewhere.stderr.splitlines()
    assert lines[1] == "recorded on a 1920x1080 monitor at (1280, 0); playing on monitor 1, 1280x1024 at (0, 0)"
    assert "not on the screen" in elsewhere.stderr

"""Runs inside a headless Wayland session (tests/wayland.py): the tray's confirmation overlay, answered by keys.

A probe window has the keyboard; the tray app (tests/apps/wayland_tray.py, its small
window, no tray host) runs a scripted task that clicks the probe's button with
``confirm = "always"``. Through the session's own platform (wlroots screencopy and
virtual keyboard, Mutter's ScreenCast and RemoteDesktop, or KWin's ScreenShot2 and
fake-input) this captures a frame
while the overlay asks, counts the overlay's marker pixels around the click point,
presses the key and prints one JSON object per scenario: what the tray app said, the
marker count, and the presses the probe saw. "stop" presses the command window's Stop
in code; "stop-click" (sway) clicks it through the platform's pointer where sway put
the window. A separate process because the platform
and the apps must run in the session's namespaces and on its D-Bus.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from agent.actions import Key, LeftClick, ScreenAction
from agent.computers.selection import select_platform
from tests.support import DONE, call, model_point, write_script
from ui.overlay import MARKER_RGB

APPS = Path(__file__).resolve().parent / "apps"
W, H = 1920, 1080
STEP_S = 90.0  # the first capture of a run on the loaded 2-core VM takes seconds
FRAME_SETTLE_S = 0.5  # the overlay's first frame reaches the compositor after "ready"
TRAY_TITLES = "^Deskpilot( — new command)?$"  # the tray's own windows on sway, the overlay not among them


def read_event(stream: IO[str], deadline: float) -> dict[str, Any] | None:
    """The next JSON line of ``stream`` before ``deadline`` (None when the process ended or time ran out)."""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return None
        line = stream.readline()
        if not line:
            return None
        if line.startswith("{"):
            event: dict[str, Any] = json.loads(line)
            return event
    return None


def marker_pixels(image: Any, point: tuple[int, int], radius: int = 70) -> int:
    """Pixels of the overlay's marker colour around ``point`` (every second pixel)."""
    rgb = image.convert("RGB")
    found = 0
    for x in range(point[0] - radius, point[0] + radius, 2):
        for y in range(point[1] - radius, point[1] + radius, 2):
            pixel = rgb.getpixel((x, y))
            found += all(abs(c - m) < 40 for c, m in zip(pixel, MARKER_RGB, strict=True))
    return found


def wait_for_log(log: Path, word: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        if word in text:
            return text
        time.sleep(0.05)  # polling the probe's log file: nothing to block on
    raise SystemExit(f"the probe never said {word}: {log.read_text() if log.exists() else ''}")


def start_probe(kind: str, log: Path) -> tuple[subprocess.Popen[bytes], tuple[int, int]]:
    """The probe window, focused, and the centre of its button in screen pixels."""
    env = dict(os.environ, GDK_BACKEND="wayland")
    if kind == "wlroots":
        probe = subprocess.Popen(["/usr/bin/python3", str(APPS / "wayland_probe.py"), str(log)], env=env)
        wait_for_log(log, '"ready"')
        return probe, (920, 440)  # tiled over the whole output: window coordinates are screen ones
    if kind == "kde":
        # Fullscreen: an entry across the top, the red button below it. The point is far
        # from the middle, where KWin puts the tray's own small windows.
        with log.open("w") as out:
            probe = subprocess.Popen(["/usr/bin/python3", str(APPS / "wayland_fullscreen_probe.py")],
                                     env=dict(env, NO_AT_BRIDGE="1", PYTHONPATH=""), stdout=out)
        wait_for_log(log, '"ready"')
        return probe, (300, 900)
    with log.open("w") as out:
        probe = subprocess.Popen(["/usr/bin/python3", str(APPS / "gnome_probe.py")], env=env, stdout=out)
    ready = json.loads(next(line for line in wait_for_log(log, '"ready"').splitlines() if '"ready"' in line))
    x, y, w, h = ready["button"]
    return probe, (x + w // 2, y + h // 2)


def presses(log: Path) -> list[dict[str, Any]]:
    events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [e for e in events if e["event"] in ("press", "clicked")]


def clear_the_probe(kind: str) -> None:
    """On sway, move the tray's own floating windows (not the overlay) off the probe's button."""
    if kind != "wlroots":
        return  # Mutter and KWin place windows themselves; nothing in this session covers the button
    from agent.computers.wlroots.sway import SwayIpc, socket_path

    path = socket_path()
    assert path is not None  # noqa: S101 - the session is sway
    SwayIpc(path).command(f'[title="{TRAY_TITLES}"] move position 1300 650')


def command_window_origin() -> tuple[int, int]:
    """Where sway put the command window's surface (its top left, in screen pixels)."""
    from agent.computers.wlroots.sway import SwayIpc, socket_path

    path = socket_path()
    assert path is not None  # noqa: S101 - the session is sway
    nodes = [SwayIpc(path).tree()]
    while nodes:
        node = nodes.pop()
        if node.get("name") == "Deskpilot — new command":
            rect, inner = node["rect"], node["window_rect"]
            return rect["x"] + inner["x"], rect["y"] + inner["y"]
        nodes += node.get("nodes", []) + node.get("floating_nodes", [])
    raise SystemExit("sway shows no command window")


def click_stop(kind: str, event: dict[str, Any], computer: Any) -> list[int]:
    """Click the command window's Stop through the platform's pointer, as a user would."""
    if kind != "wlroots":
        raise SystemExit("stop-click needs sway: only its IPC says where a window is")
    left, top = command_window_origin()
    point = [left + event["stop"][0], top + event["stop"][1]]
    computer.perform(ScreenAction(action=LeftClick(coordinate=(0, 0)), x=point[0], y=point[1]))
    return point


def scenario(kind: str, answer: str, computer: Any, work: Path) -> dict[str, Any]:
    """One tray run; ``answer`` is the key pressed at the overlay, "stop" (the window's Stop
    button pressed in code) or "stop-click" (clicked through the desktop's pointer)."""
    log = work / f"probe-{answer}.log"
    probe, button = start_probe(kind, log)
    replies = [call('{"action": "left_click", "coordinate": ' + model_point(*button, W, H) + "}"), DONE]
    stopping = answer.startswith("stop")
    if stopping:
        replies.insert(0, call('{"action": "wait", "time": 30}'))
    script = write_script(work / f"script-{answer}.jsonl", replies)
    config = work / f"config-{answer}.toml"
    # A history of its own: with a shared one, the first scenario's success becomes the
    # task's replay (agent/replays) and the later ones replay it instead of asking the
    # script: Esc then rejects a replayed step, which ends the run "failure", and the
    # Stop scenario's click comes (with its overlay) before the scripted wait.
    config.write_text(f'backend = "script"\nscript = "{script}"\nhistory_dir = "{work / f"history-{answer}"}"\n'
                      'confirm = "always"\n', encoding="utf-8")
    app = subprocess.Popen(
        [sys.executable, str(APPS / "wayland_tray.py"), "click the button",
         *({"stop": ["--stop"], "stop-click": ["--stop-by-pointer"]}.get(answer, []))],
        env=dict(os.environ, DESKPILOT_CONFIG=str(config), QT_QPA_PLATFORM="wayland"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert app.stdout is not None  # noqa: S101 - a pipe was asked for
    out: dict[str, Any] = {"button": button}
    try:
        out["window"] = read_event(app.stdout, time.monotonic() + STEP_S)
        event = read_event(app.stdout, time.monotonic() + STEP_S)
        if event is not None and event["event"] == "waiting" and answer == "stop-click":
            out["waiting"] = event
            out["clicked"] = click_stop(kind, event, computer)
            event = read_event(app.stdout, time.monotonic() + STEP_S)
        if event is not None and event["event"] == "overlay" and not stopping:
            out["overlay"] = event
            clear_the_probe(kind)
            time.sleep(FRAME_SETTLE_S)
            out["marker"] = marker_pixels(computer.capture().image, button)
            out["presses_before"] = presses(log)
            computer.perform(ScreenAction(action=Key(keys=[answer])))
            event = read_event(app.stdout, time.monotonic() + STEP_S)
        out["finished"] = event
        out["presses"] = presses(log)
    finally:
        app.kill()
        probe.kill()
        _, err = app.communicate(timeout=10)
        out["stderr"] = err[-2000:]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--probe", choices=["wlroots", "gnome", "kde"], required=True)
    parser.add_argument("answers", nargs="+", help="enter, escape, stop or stop-click")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="overlay-", dir=os.environ["HOME"]))
    if args.probe == "wlroots":
        from agent.computers.wlroots.sway import SwayIpc, socket_path

        # Tiled, the tray's windows would take half the output from the probe (and its
        # button's place); floating in a corner, they leave it where the script clicks.
        # Not the overlay ("Deskpilot: confirm action"): floated by this rule, a plain
        # overlay would be put on top at its full-screen size, and the marker check could
        # not tell it from the fullscreen one the product asks for.
        path = socket_path()
        assert path is not None  # noqa: S101 - the session is sway
        SwayIpc(path).command(f'for_window [title="{TRAY_TITLES}"] floating enable')
    platform = select_platform()
    computer = platform.computer()
    results = {answer: scenario(args.probe, answer, computer, work) for answer in args.answers}
    sys.stdout.write(json.dumps({"platform": platform.name, "results": results}) + "\n")


if __name__ == "__main__":
    main()

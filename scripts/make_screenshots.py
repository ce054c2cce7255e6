"""Regenerate docs/overlay.png and docs/command_window.png from a real run on a private X server.

    .venv/bin/python scripts/make_screenshots.py

The pictures in the README must show what a user sees, so nothing in them is staged
by hand: the script starts its own Xvfb (never your display), a loopback
OpenAI-compatible model server that plays a short Qwen3-VL run (canned replies in
the model's own ``<tool_call>`` form, coordinates on its 0..1000 grid, computed from
where the Notes window really is), a small "Notes" window, and the tray app's
command window. The task is typed and Run clicked with xdotool; the run goes through
the real policy, which asks about the typed line break through the real overlay;
the overlay is photographed, approved with a real Return key press, and once the
model terminates the command window is photographed too.

Exit codes: 0 both pictures written, 1 the run did not go as planned (nothing is
written then), 2 bad input or a missing program (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a file: agent/ and ui/ are importable from the checkout

if TYPE_CHECKING:
    from PIL.Image import Image

SCREEN = (1920, 1080)
MODEL_ID = "Qwen/Qwen3-VL-8B-Instruct"
TASK = "Write today's meeting notes in the Notes window"
# What the Notes window holds before the run, and the line the model types: it ends in a
# newline, which confirm=risky asks about ("types a line break (Enter)").
NOTES_BEFORE = "Weekly team meeting\nAttendees: Ana, Ben, Chloé\n\n"
TYPED_LINE = "Tray app ships Friday; Ana writes the release notes.\n"
# Where the windows go: the command window on the left, Notes beside it, and the small
# Deskpilot window (a bare X server has no system tray) at the right, clear of the
# overlay's panel. The command window is tall enough to show all three steps and, in
# its quarter of the height, the whole of the model's text.
COMMAND_GEOMETRY = (40, 60, 780, 960)
NOTES_GEOMETRY = (880, 60, 680, 600)
FALLBACK_POS = (1600, 60)
DESKTOP_RGB = (0x2B, 0x3A, 0x4A)  # a plain desktop background, instead of Xvfb's black


class ShotError(Exception):
    """The scene did not come about as planned: a window, the overlay or the run misbehaved."""


def progress(message: str) -> None:
    sys.stderr.write(f"make_screenshots: {message}\n")
    sys.stderr.flush()


# -- the private X server ----------------------------------------------------------------


@contextmanager
def private_xvfb() -> Iterator[str]:
    """A fresh Xvfb 1920x1080x24 on a display number it picks itself; yields ":N"."""
    read_fd, write_fd = os.pipe()
    # -displayfd: Xvfb writes its display number to the fd once it accepts clients, so
    # there is no guessing a free number and no waiting for a socket to appear.
    # -noreset: a server that resets when its last client leaves drops new connections.
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
         "-nolisten", "tcp", "-noreset"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd, "rb") as pipe:
            number = pipe.readline().strip().decode()
        if not number.isdigit():
            raise ShotError("Xvfb did not start (it reported no display number)")
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def paint_desktop(rgb: tuple[int, int, int]) -> None:
    """Give the root window a solid colour (what a desktop without wallpaper shows)."""
    import Xlib.display

    display = Xlib.display.Display()
    try:
        root = display.screen().root
        root.change_attributes(background_pixel=(rgb[0] << 16) | (rgb[1] << 8) | rgb[2])
        root.clear_area(0, 0, 0, 0)
        display.sync()
    finally:
        display.close()


def xdotool(*args: str) -> str:
    result = subprocess.run(["xdotool", *args], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise ShotError(f"xdotool {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


# -- the model server ---------------------------------------------------------------------


def tool_call(arguments: dict[str, Any]) -> str:
    """A reply as Qwen3-VL writes it when the server does not parse tool calls itself."""
    body = json.dumps({"name": "computer_use", "arguments": arguments}, ensure_ascii=False)
    return f"<tool_call>\n{body}\n</tool_call>"


@dataclass
class PlayedModel:
    """Answers each step of the run with the reply a model would give at that point."""

    replies: list[str]
    model: str = MODEL_ID
    answered: list[int] = field(default_factory=list)  # the step number of each answer
    problems: list[str] = field(default_factory=list)

    def reply_for(self, body: dict[str, Any]) -> tuple[int, str]:
        """The reply for the step this request is for, read from the prompt's progress lines.

        Reading the step from the prompt (not counting requests) keeps a retried request
        on the same step, as a real model would be.
        """
        user = next((m for m in body.get("messages", []) if m.get("role") == "user"), None)
        if user is None or not isinstance(user.get("content"), list):
            raise ValueError("no user message with a screenshot")
        parts = user["content"]
        if not any(p.get("type") == "image_url" for p in parts):
            raise ValueError("the request carries no screenshot")
        if not any(t.get("function", {}).get("name") == "computer_use" for t in body.get("tools", [])):
            raise ValueError("the request offers no computer_use tool")
        text = "".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")
        if TASK not in text:
            raise ValueError("the prompt does not carry the task")
        done = len(re.findall(r"^Step \d+:", text, flags=re.MULTILINE))
        if done >= len(self.replies):
            raise ValueError(f"no reply planned for step {done + 1}")
        return done + 1, self.replies[done]


def _handler(played: PlayedModel) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # the progress lines say what matters

        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            if self.path.rstrip("/") == "/v1/models":
                self._json(200, {"object": "list", "data": [{"id": played.model, "object": "model"}]})
            else:
                self._json(404, {"error": {"message": f"no such endpoint {self.path}"}})

        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._json(404, {"error": {"message": f"no such endpoint {self.path}"}})
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                step, reply = played.reply_for(body)
            except (ValueError, AttributeError) as err:
                played.problems.append(str(err))
                self._json(400, {"error": {"message": str(err)}})
                return
            played.answered.append(step)
            if body.get("stream"):
                self._stream(reply)
            else:
                message = {"role": "assistant", "content": reply}
                self._json(200, {"object": "chat.completion", "model": played.model,
                                 "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})

        def _stream(self, reply: str) -> None:
            """Server-sent events as vLLM sends them: content deltas, a finish, usage, [DONE]."""
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            pieces = [reply[i : i + 12] for i in range(0, len(reply), 12)]
            chunks: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
            chunks += [{"content": piece} for piece in pieces]
            for index, delta in enumerate(chunks):
                finish = "stop" if index == len(chunks) - 1 else None
                self._event({"object": "chat.completion.chunk", "model": played.model,
                             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
            self._event({"object": "chat.completion.chunk", "model": played.model, "choices": [],
                         "usage": {"prompt_tokens": 1400, "completion_tokens": len(pieces) * 3}})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

        def _event(self, data: dict[str, Any]) -> None:
            self.wfile.write(b"data: " + json.dumps(data, ensure_ascii=False).encode() + b"\n\n")
            self.wfile.flush()

        def _json(self, status: int, data: object) -> None:
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@contextmanager
def serving(played: PlayedModel, port: int) -> Iterator[str]:
    """The played model on 127.0.0.1:``port`` (0: a free one); yields its base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(played))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


# -- the scene ----------------------------------------------------------------------------


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Run the Qt event loop until ``predicate`` holds; ``ShotError`` naming ``what`` if it never does."""
    from PySide6.QtCore import QEventLoop, QTimer

    deadline = time.monotonic() + timeout_s
    loop = QEventLoop()
    while not predicate():
        if time.monotonic() > deadline:
            raise ShotError(f"gave up after {timeout_s:g} s waiting for {what}")
        QTimer.singleShot(20, loop.quit)
        loop.exec()


def grab(left: int, top: int, width: int, height: int) -> Image:
    """The X server's pixels in a region, straight from mss: no capture guard, so the overlay is in it."""
    from agent.computers.x11.screen import MssScreen
    from agent.geometry import Region

    return MssScreen(Region(left, top, width, height)).capture().image


def settled_grab(region: tuple[int, int, int, int], timeout_s: float = 10.0) -> Image:
    """A grab of ``region`` once two grabs 100 ms apart agree, so nothing in it is half drawn."""
    from PIL import ImageChops

    deadline = time.monotonic() + timeout_s
    previous = grab(*region)
    while True:
        pause(0.1)
        current = grab(*region)
        if ImageChops.difference(current.convert("RGB"), previous.convert("RGB")).getbbox() is None:
            return current
        if time.monotonic() > deadline:
            raise ShotError(f"the screen in {region} kept changing for {timeout_s:g} s")
        previous = current


def pause(seconds: float) -> None:
    """Let the Qt event loop run for ``seconds`` (windows keep painting meanwhile)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def notes_window() -> tuple[Any, Any]:
    """A small notes editor a user would recognise, and its text area."""
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

    from ui.style import apply_style

    window = QWidget()
    window.setWindowTitle("Notes — meeting.txt")
    layout = QVBoxLayout(window)
    title = QLabel("Notes — meeting.txt", window)
    font = title.font()
    font.setBold(True)
    font.setPointSize(font.pointSize() + 2)
    title.setFont(font)
    edit = QPlainTextEdit(window)
    edit.setPlainText(NOTES_BEFORE)
    edit.setFont(QFont("DejaVu Sans", 13))
    layout.addWidget(title)
    layout.addWidget(edit, 1)
    apply_style(window)
    return window, edit


def centre(widget: Any) -> tuple[int, int]:
    point = widget.mapToGlobal(widget.rect().center())
    return point.x(), point.y()


@dataclass(frozen=True)
class Pictures:
    overlay: Image
    command_window: Image


def play_scene(config_path: Path, played: PlayedModel, timeout_s: float) -> Pictures:
    """Build the desktop, run the task, photograph the overlay and then the command window."""
    from PySide6.QtWidgets import QApplication

    from agent.geometry import CaptureGeometry, Region
    from agent.scaling import FrameKind, ModelFrame, screen_to_model
    from ui.app import DeskpilotApp

    os.environ["DESKPILOT_CONFIG"] = str(config_path)
    app = QApplication.instance() or QApplication(["deskpilot"])
    app.setApplicationName("Deskpilot")
    paint_desktop(DESKTOP_RGB)

    notes, edit = notes_window()
    notes.setGeometry(*NOTES_GEOMETRY)
    notes.show()
    desk = DeskpilotApp(app, force_window=True)
    try:
        if desk.window is not None:  # force_window: the small window stands in for the tray
            desk.window.move(*FALLBACK_POS)
        desk.command.setGeometry(*COMMAND_GEOMETRY)
        desk.open_command()
        wait_until(lambda: desk.command.isVisible() and notes.isVisible(), 10, "the windows to appear")
        settled_grab((0, 0, *SCREEN))  # mapped and painted, before the user's hands touch them

        # The model's two actions, aimed where the Notes text area really is: below the
        # text already there, so the caret lands at its end.
        target = edit.mapToGlobal(edit.rect().center())
        frame = ModelFrame.for_image(FrameKind.REL1000, *SCREEN)
        geometry = CaptureGeometry.unscaled(Region(0, 0, *SCREEN))
        model_x, model_y = screen_to_model((target.x(), target.y()), frame, geometry)
        played.replies[:] = [
            tool_call({"action": "left_click", "coordinate": [round(model_x), round(model_y)]}),
            tool_call({"action": "type", "text": TYPED_LINE}),
            tool_call({"action": "terminate", "status": "success"}),
        ]

        # The user's hands: type the task into the command window and click Run.
        progress(f"typing the task and clicking Run: {TASK!r}")
        task_field = desk.command.task.lineEdit()
        xdotool("mousemove", *map(str, centre(task_field)))
        xdotool("click", "1")
        xdotool("type", "--delay", "5", TASK)
        wait_until(lambda: desk.command.task.currentText() == TASK, 10, "the task to reach its field")
        ready: list[bool] = []
        desk.overlay.ready.connect(lambda: ready.append(True))
        xdotool("mousemove", *map(str, centre(desk.command.run_button)))
        xdotool("click", "1")
        wait_until(lambda: desk.controller.running or desk.controller.last_result is not None, 10,
                   "the run to start")

        wait_until(lambda: bool(ready) or desk.controller.last_result is not None, timeout_s,
                   "the confirmation overlay")
        if not ready:
            raise ShotError(f"the run ended before it asked anything: {desk.command.status.text()}")
        headline, reason = desk.overlay.headline.text(), desk.overlay.reason_label.text()
        progress(f"the overlay asks: {headline} ({reason})")
        if reason != "types a line break (Enter)" or TYPED_LINE.strip() not in headline:
            raise ShotError(f"the overlay asks about something else: {headline!r}, {reason!r}")
        overlay_image = settled_grab((0, 0, *SCREEN))

        # The overlay holds the keyboard wherever the pointer is: Return approves.
        progress("approving with a real Return key press")
        xdotool("key", "Return")
        wait_until(lambda: not desk.controller.running and desk.controller.last_result is not None,
                   timeout_s, "the run to finish")
        result = desk.controller.last_result
        progress(f"the run finished: {result.outcome} ({result.detail}); "
                 f"the model answered steps {played.answered}")
        if result.outcome != "success":
            raise ShotError(f"the run did not succeed: {result.outcome}: {result.detail}")
        written = edit.toPlainText()
        if written != NOTES_BEFORE + TYPED_LINE:
            raise ShotError(f"the Notes window holds {written!r}, not the typed line")
        if desk.command.steps.count() != 3:
            raise ShotError(f"the command window lists {desk.command.steps.count()} steps, not 3")

        xdotool("mousemove", str(SCREEN[0] - 40), str(SCREEN[1] - 40))  # away from any hover effect
        geo = desk.command.frameGeometry().intersected(desk.command.screen().geometry())
        command_image = settled_grab((geo.x(), geo.y(), geo.width(), geo.height()))
        return Pictures(overlay_image, command_image)
    finally:
        desk.close()
        notes.close()


def write_config(directory: Path, base_url: str) -> Path:
    """The settings a user with a local vLLM would have, plus a throwaway history folder."""
    lines = [
        'backend = "openai"',
        f"base_url = {json.dumps(base_url)}",
        f"model = {json.dumps(MODEL_ID)}",
        'confirm = "risky"',
        f"history_dir = {json.dumps(str(directory / 'history'))}",
    ]
    path = directory / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Regenerate docs/overlay.png and docs/command_window.png from a scripted run "
        "on a private Xvfb, with a loopback model server playing Qwen3-VL.",
    )
    parser.add_argument("--out-dir", type=Path, default=ROOT / "docs", metavar="DIR",
                        help="folder the two PNG files are written to (default: docs/ of this checkout)")
    parser.add_argument("--port", type=int, default=8000,
                        help="loopback port of the model server; the default is vLLM's own, so the "
                        "picture shows the URL a user would see; 0 picks a free port (default: 8000)")
    parser.add_argument("--timeout", type=float, default=120.0, metavar="S",
                        help="seconds to wait for each stage of the run (default: 120)")
    args = parser.parse_args(argv)

    out_dir: Path = args.out_dir
    if not out_dir.is_dir():
        return bad_input(f"--out-dir {out_dir} is not a folder")
    if not os.access(out_dir, os.W_OK):
        return bad_input(f"--out-dir {out_dir} is not writable")
    if not 0 <= args.port <= 65535:
        return bad_input(f"--port must be 0..65535, got {args.port}")
    if not args.timeout > 0:
        return bad_input(f"--timeout must be positive, got {args.timeout}")
    for program in ("Xvfb", "xdotool"):
        if shutil.which(program) is None:
            return bad_input(f"{program} is not installed (bash scripts/install.sh installs it)")

    played = PlayedModel(replies=[])
    try:
        with ExitStack() as stack:
            try:
                base_url = stack.enter_context(serving(played, args.port))
            except OSError as err:
                return bad_input(f"cannot listen on 127.0.0.1:{args.port}: {err.strerror or err} "
                                 "(pass --port 0 for a free port)")
            progress(f"model server playing {MODEL_ID} on {base_url}")
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="deskpilot-shots-")))
            progress("starting a private Xvfb")
            display = stack.enter_context(private_xvfb())
            # Everything from here on, Qt and the subprocesses included, uses the private server.
            os.environ["DISPLAY"] = display
            os.environ["QT_QPA_PLATFORM"] = "xcb"
            os.environ.pop("WAYLAND_DISPLAY", None)
            progress(f"Xvfb {SCREEN[0]}x{SCREEN[1]}x24 on {display}")
            pictures = play_scene(write_config(scratch, base_url), played, args.timeout)
    except ShotError as err:
        detail = f" (the model server refused: {'; '.join(played.problems)})" if played.problems else ""
        sys.stderr.write(f"make_screenshots: failed: {err}{detail}\n")
        return 1

    for name, image in (("overlay.png", pictures.overlay), ("command_window.png", pictures.command_window)):
        path = out_dir / name
        # Documentation, not a record of a user's screen: an ordinary file, not 0600.
        image.convert("RGB").save(path, optimize=True)
        progress(f"wrote {path} ({image.width}x{image.height})")
    return 0


def bad_input(message: str) -> int:
    sys.stderr.write(f"make_screenshots: error: {message}\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())

"""scripts/make_screenshots.py: its played model answers the real prompt, step by step, through
the real server backend; bad input is one line and exit 2; the whole script makes both pictures."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image

from agent.backends.openai import OpenAIBackend
from agent.computer_use.prompts import StepNote, build_request
from agent.scaling import FrameKind, ModelFrame
from tests.support import ROOT

sys.path.insert(0, str(ROOT / "scripts"))

import make_screenshots as shots  # noqa: E402 (found through the path set just above)

SCRIPT = ROOT / "scripts" / "make_screenshots.py"
REPLIES = [shots.tool_call({"action": "left_click", "coordinate": [635, 344]}),
           shots.tool_call({"action": "type", "text": shots.TYPED_LINE}),
           shots.tool_call({"action": "terminate", "status": "success"})]


def step_request(done: int) -> object:
    """The prompt of step ``done + 1``, as the planner builds it after ``done`` finished steps."""
    notes = [StepNote(n, (f"action {n}",), "done") for n in range(1, done + 1)]
    screenshot = Image.new("RGB", (1920, 1080), (43, 58, 74))
    return build_request(shots.TASK, notes, [screenshot], ModelFrame.for_image(FrameKind.REL1000, 1920, 1080))


@pytest.mark.parametrize("done", [0, 1, 2])
def test_the_played_model_answers_each_step_of_the_real_prompt_through_the_server_backend(done: int) -> None:
    played = shots.PlayedModel(replies=list(REPLIES))
    streamed: list[str] = []
    with shots.serving(played, 0) as base_url:
        backend = OpenAIBackend(base_url, shots.MODEL_ID, retries=0)
        try:
            assert shots.MODEL_ID in backend.models()
            completion = backend.complete(step_request(done), threading.Event(), streamed.append)
        finally:
            backend.close()
    assert completion.text == REPLIES[done]
    assert "".join(streamed) == REPLIES[done]  # it streamed, in more than one piece
    assert len(streamed) > 1
    assert played.answered == [done + 1] and played.problems == []


def test_the_played_model_refuses_a_step_it_has_no_reply_for() -> None:
    played = shots.PlayedModel(replies=list(REPLIES))
    with shots.serving(played, 0) as base_url:
        backend = OpenAIBackend(base_url, shots.MODEL_ID, retries=0)
        try:
            with pytest.raises(Exception, match="no reply planned for step 4"):
                backend.complete(step_request(3), threading.Event())
        finally:
            backend.close()
    assert played.answered == []


@pytest.mark.process
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out-dir", "/nonexistent/docs"], "--out-dir /nonexistent/docs is not a folder"),
        (["--port", "70000"], "--port must be 0..65535, got 70000"),
        (["--timeout", "0"], "--timeout must be positive, got 0.0"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == f"make_screenshots: error: {message}\n"


def colour_count(image: Image.Image, hex_colour: str) -> int:
    rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return sum(n for n, colour in image.convert("RGB").getcolors(maxcolors=image.width * image.height) or [] if colour == rgb)


@pytest.mark.process
def test_the_script_makes_both_pictures_from_a_run_on_its_own_x_server(tmp_path: Path) -> None:
    from ui.overlay import COUNTDOWN, PANEL

    # It starts its own Xvfb and never uses the suite's display, so it runs with none set.
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    result = subprocess.run([sys.executable, str(SCRIPT), "--out-dir", str(tmp_path), "--port", "0"],
                            capture_output=True, text=True, timeout=180, env=env)
    assert result.returncode == 0, result.stderr
    assert "the overlay asks: Type 'Tray app ships Friday" in result.stderr
    assert "(types a line break (Enter))" in result.stderr
    assert "the model answered steps [1, 2, 3]" in result.stderr
    with Image.open(tmp_path / "overlay.png") as overlay, Image.open(tmp_path / "command_window.png") as window:
        assert overlay.size == (1920, 1080)
        # The overlay itself is in the picture (no capture guard): its panel and countdown text.
        assert colour_count(overlay, PANEL) > 100_000 and colour_count(overlay, COUNTDOWN) > 100
        assert window.size == (shots.COMMAND_GEOMETRY[2], shots.COMMAND_GEOMETRY[3])
        # The steps' thumbnails show the desktop the run happened on.
        assert colour_count(window, "#{:02x}{:02x}{:02x}".format(*shots.DESKTOP_RGB)) > 1000

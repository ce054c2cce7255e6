"""One exit-code table (agent/cli/options.py): the same condition exits the same way from every command."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from agent.cli.options import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_STOPPED, exit_code_for, result_exit_code
from agent.errors import (
    BackendError,
    ConfigError,
    DisplayError,
    HistoryError,
    OffScreenError,
    ReplyError,
    StoppedError,
    TargetNotFoundError,
)
from agent.macros.anchors import make_anchor
from agent.macros.schema import Macro, MacroStep, Monitor, save_macro
from agent.run.events import RunResult
from agent.testing.screenspot import write_synthetic_screenspot
from tests.conftest import APPS
from tests.loopback_servers import dead_port
from tests.macro_images import screen
from tests.support import LinePump, deskpilot

WINDOW = "900x600+100+100"  # where text_page shows its text: a screen that is not blank


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (StoppedError("hotkey"), EXIT_STOPPED),
        (HistoryError("disk full"), EXIT_FAILED),
        (BackendError("model folder /x does not exist"), EXIT_FAILED),
        (TargetNotFoundError("pointed nowhere"), EXIT_FAILED),
        (ConfigError("--pick: 0"), EXIT_BAD_INPUT),
        (ReplyError("no tool call"), EXIT_BAD_INPUT),
        (OffScreenError("outside"), EXIT_BAD_INPUT),
        (DisplayError("no display"), EXIT_BAD_INPUT),
    ],
)
def test_the_table(error: Exception, code: int) -> None:
    assert exit_code_for(error) == code  # type: ignore[arg-type]


def test_a_run_that_ended_on_an_error_exits_as_that_error_would() -> None:
    assert result_exit_code(RunResult("error", "bad anchor", 0, error=ConfigError("bad anchor"))) == EXIT_BAD_INPUT
    assert result_exit_code(RunResult("error", "server down", 1, error=BackendError("down"))) == EXIT_FAILED
    assert result_exit_code(RunResult("failure", "gave up", 3)) == EXIT_FAILED


@pytest.fixture(scope="module")
def text_page(x_display: str) -> Iterator[None]:
    proc = subprocess.Popen(
        [sys.executable, str(APPS / "text_page.py"), "--geometry", WINDOW],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    LinePump(proc.stdout, json_lines=True).wait_for(lambda e: e["event"] == "ready", 20, "ready")
    yield
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("img") / "shot.png"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(path)
    return path


@pytest.fixture(scope="module")
def screenspot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("screenspot")
    write_synthetic_screenspot(root, "v2")
    return root


@pytest.fixture
def files(text_page: None, image: Path, screenspot: Path) -> dict[str, Path]:
    return {"image": image, "images": image.parent, "dataset": screenspot}


# Every command that can meet the condition; {image} is a small picture, {images} its folder,
# {dataset} a ScreenSpot-v2 copy, {out} a file to write.
MODEL_COMMANDS = {
    "run": ["run", "open the text editor", "--confirm", "never"],
    "describe": ["describe", "--region", WINDOW],
    "locate": ["locate", "the Save button"],
    "skill": ["skill", "alt-text", "--image", "{image}"],
    "batch": ["batch", "alt-text", "{images}", "--out", "{out}"],
    "eval": ["eval", "grounding", "{dataset}", "--limit", "1"],
    "click": ["click", "Zanzibar Quokka", "--confirm", "never"],  # not on screen: asks the model
}


def _deskpilot(command: str, files: dict[str, Path], settings: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``command`` with the model and history from a settings file: click takes no model options."""
    config = tmp_path / "config.toml"
    config.write_text(f'{settings}\nhistory_dir = "{tmp_path / "history"}"\n')
    files = {**files, "out": tmp_path / "out.jsonl"}
    args = [part.format(**files) if part.startswith("{") else part for part in MODEL_COMMANDS[command]]
    return deskpilot(*args, env={**os.environ, "DESKPILOT_CONFIG": str(config)})


@pytest.mark.process
@pytest.mark.model  # click reads the screen with the real OCR before it asks the model
@pytest.mark.parametrize("command", list(MODEL_COMMANDS))
def test_a_missing_model_exits_1_from_every_command(command: str, files: dict[str, Path], tmp_path: Path) -> None:
    settings = f'backend = "local"\nmodel = "{tmp_path / "no-such-model"}"'
    result = _deskpilot(command, files, settings, tmp_path)
    assert result.returncode == EXIT_FAILED, result.stderr
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.process
@pytest.mark.model
@pytest.mark.parametrize("command", list(MODEL_COMMANDS))
def test_an_unreachable_server_exits_1_from_every_command(
    command: str, files: dict[str, Path], tmp_path: Path
) -> None:
    with dead_port() as port:
        settings = f'backend = "openai"\nbase_url = "http://127.0.0.1:{port}/v1"\nmodel = "qwen3-vl:8b"'
        result = _deskpilot(command, files, settings, tmp_path)
    assert result.returncode == EXIT_FAILED, result.stderr
    # batch keeps going past a failed image: its reason is that image's line in the output.
    said = (tmp_path / "out.jsonl").read_text() if command == "batch" else result.stderr
    assert f"127.0.0.1:{port}" in said and "Traceback" not in result.stderr
    if command == "locate":  # it names where the capture goes, not "openai"
        assert f"asking qwen3-vl:8b at the model server http://127.0.0.1:{port}/v1 (on this machine)" in result.stderr


@pytest.mark.process
@pytest.mark.parametrize("command", ["play", "play-dry-run"])
def test_a_corrupt_anchor_is_bad_input(command: str, x_display: str, tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    save_macro(
        Macro(
            name="bad anchor",
            monitor=Monitor(width=1920, height=1080),
            steps=[MacroStep(action={"action": "left_click", "x": 460, "y": 320}, anchor=make_anchor(screen(), (460, 320)))],
        ),
        path,
    )
    # Corrupted on disk, as a user's file would be: the schema refuses to build such an anchor.
    data = json.loads(path.read_text(encoding="utf-8"))
    data["steps"][0]["anchor"]["crop"] = base64.b64encode(b"not a picture at all").decode("ascii")
    path.write_text(json.dumps(data), encoding="utf-8")
    dry = ["--dry-run"] if command == "play-dry-run" else []
    result = deskpilot(
        "macro", "play", str(path), "--confirm", "never", "--no-model", *dry,
        "--history-dir", str(tmp_path / "h"),
    )
    assert result.returncode == EXIT_BAD_INPUT, result.stderr
    assert "Traceback" not in result.stderr

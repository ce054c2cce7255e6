"""``deskpilot skill`` and ``deskpilot batch`` end to end, against a loopback server with canned replies."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from agent.testing.chat_server import CannedChatServer, request_images, request_text, serving
from tests.support import ROOT, deskpilot, wait_until
from tests.test_skill_validators import ALT, ARTICLE, ENGLISH_QUIZ, EXPLANATION, MXFILE, PAGE, SEED_QUIZ

HOMEWORK = "## Overall\nGood\n## What is right\n- Q1\n## What to improve\n- Q2 carries wrongly\n## Study advice\nPractise carrying"
POST = json.dumps({"caption": "Dawn over the bay", "hashtags": ["#dawn"], "alt_text": "A bay at sunrise"})
ENV = {**os.environ, "DESKPILOT_CONFIG": str(ROOT / ".no-such-config.toml"), "LANG": "en_US.UTF-8"}


@pytest.fixture(scope="module")
def design(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("images") / "design.png"
    image = Image.new("RGB", (320, 200), (250, 250, 250))
    image.paste((30, 120, 220), (0, 0, 320, 40))
    image.save(path)
    return path


@pytest.fixture
def canned() -> Iterator[Callable[..., CannedChatServer]]:
    """Start servers that answer with ``replies`` in turn (the last one again once they run out)."""
    running: list[Any] = []

    def start(*replies: str, reply: Callable[[dict[str, Any]], Any] | None = None, latency_s: float = 0.0) -> CannedChatServer:
        queue = list(replies)

        def answer(body: dict[str, Any]) -> Any:
            if reply is not None:
                return reply(body)
            return queue.pop(0) if len(queue) > 1 else queue[0]

        context = serving(CannedChatServer(reply=answer, latency_s=latency_s))
        running.append(context)
        return context.__enter__()

    yield start
    for context in running:
        context.__exit__(None, None, None)


def skill(server: CannedChatServer, *args: str) -> subprocess.CompletedProcess[str]:
    return deskpilot("skill", *args, "--backend", "openai", "--base-url", server.url, "--model", "canned", env=ENV)


def private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


HAPPY = [
    ("design-to-html", f"Here is the page:\n```html\n{PAGE}\n```\nEnjoy.", [], PAGE + "\n", "HTML5"),
    ("wireframe-to-drawio", f"```xml\n{MXFILE}\n```", [], MXFILE + "\n", "Draw.io"),
    ("alt-text", f'"{ALT}"', [], ALT + "\n", "100 and 200 characters"),
    ("social-post", f"Sure!\n```json\n{POST}\n```", ["--platform", "linkedin"], None, "linkedin"),
    ("explain-diagram", EXPLANATION, ["--grade", "college"], EXPLANATION + "\n", "college"),
    ("check-homework", HOMEWORK, ["--subject", "science"], HOMEWORK + "\n", "science homework"),
    ("quiz", SEED_QUIZ, ["--topic", "photosynthesis", "--difficulty", "hard", "--lang", "zh"], None, "难度级别: hard"),
    ("article", ARTICLE, ["--topic", "AI", "--style", "casual"], ARTICLE, "Style: casual"),
]


@pytest.mark.process
@pytest.mark.parametrize(("name", "reply", "options", "expected", "prompt_bit"), HAPPY, ids=[h[0] for h in HAPPY])
def test_each_skill_saves_its_validated_output(
    canned: Any, design: Path, tmp_path: Path, name: str, reply: str, options: list[str], expected: str | None, prompt_bit: str
) -> None:
    server = canned(reply)
    out = tmp_path / f"result{'.json' if name in ('quiz', 'social-post') else '.txt'}"
    images = ["--image", str(design)] * (2 if name == "article" else 1)
    result = skill(server, name, *images, *options, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert private(out)
    if expected is not None:
        assert out.read_text(encoding="utf-8") == expected
    body = server.requests[0]
    assert len(server.requests) == 1
    assert "tools" not in body  # a skill asks for text, not a tool call
    assert len(request_images(body)) == len(images) // 2
    assert prompt_bit in request_text(body)
    if name == "social-post":
        assert json.loads(out.read_text(encoding="utf-8")) == json.loads(POST)
    if name == "quiz":
        data = json.loads(out.read_text(encoding="utf-8"))
        assert [q["answer"] for q in data["multiple_choice"]] == ["B", "A"]
        markdown = out.with_suffix(".md").read_text(encoding="utf-8")
        assert markdown.startswith("## 测验题目\n") and "正确答案: B" in markdown
        assert private(out.with_suffix(".md"))


@pytest.mark.process
def test_output_goes_to_stdout_without_out(canned: Any, design: Path) -> None:
    result = skill(canned(f"```\n{ENGLISH_QUIZ}\n```"), "quiz", "--image", str(design))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["multiple_choice"][0]["answer"] == "B"


BROKEN = [
    ("design-to-html", "```html\n<!DOCTYPE html><html><head></head><body><div>cut off", "cut off"),
    ("wireframe-to-drawio", MXFILE.replace('target="b"', 'target="q"'), "no such cell"),
    ("social-post", '{"caption": "x", "hashtags": ["#a"], "alt_text": ', "no JSON object"),
]


@pytest.mark.process
@pytest.mark.parametrize(("name", "reply", "problem"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_output_is_retried_once_then_fails_with_the_raw_output_saved(
    canned: Any, design: Path, tmp_path: Path, name: str, reply: str, problem: str
) -> None:
    server = canned(reply)
    out = tmp_path / "result.out"
    result = skill(server, name, "--image", str(design), "--out", str(out))
    assert result.returncode == 1
    assert len(server.requests) == 2
    retry = server.requests[1]["messages"]
    assert retry[1] == {"role": "assistant", "content": reply}  # the model sees its own answer
    assert problem in retry[2]["content"]  # and what was wrong with it
    assert not out.exists()  # nothing made up in its place
    raw = tmp_path / "result.out.raw.txt"
    assert private(raw)
    assert raw.read_text(encoding="utf-8").count(reply) == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f"deskpilot: error: {name}: the model's answer was rejected twice:")
    assert str(raw) in lines[-1] and "Traceback" not in result.stderr


@pytest.mark.process
def test_an_over_long_tweet_is_retried_and_the_fixed_one_kept(canned: Any, design: Path, tmp_path: Path) -> None:
    long_post = json.dumps({"caption": "w" * 300, "hashtags": ["#x"], "alt_text": "a"})
    server = canned(long_post, POST)
    out = tmp_path / "post.json"
    result = skill(server, "social-post", "--image", str(design), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "twitter allows 280" in server.requests[1]["messages"][2]["content"]
    assert json.loads(out.read_text(encoding="utf-8"))["caption"] == "Dawn over the bay"


@pytest.mark.process
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-skill", "--image", "{design}"], "no skill 'no-such-skill'"),
        (["alt-text"], "give --image FILE"),
        (["alt-text", "--image", "/nowhere.png"], "--image /nowhere.png: no such file"),
        (["alt-text", "--image", "{design}", "--region", "10x10+0+0"], "not both"),
        (["alt-text", "--image", "{design}", "--image", "{design}"], "takes one image"),
        (["alt-text", "--image", "{design}", "--preview", "p.png"], "--preview is for design-to-html"),
        (["alt-text", "--image", "{design}", "--grade", "college"], "alt-text takes no --grade"),
        (["quiz", "--image", "{design}", "--difficulty", "brutal"], "--difficulty: 'brutal' is not one of"),
        (["alt-text", "--image", "{design}", "--out", "/no/such/folder/a.txt"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_any_request(canned: Any, design: Path, args: list[str], message: str) -> None:
    server = canned("unused")
    result = skill(server, *[a.replace("{design}", str(design)) for a in args])
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert server.requests == []


@pytest.mark.process
def test_skill_list_names_every_skill() -> None:
    result = deskpilot("skill", "--list", env=ENV)
    assert result.returncode == 0
    names = [line.split()[0] for line in result.stdout.splitlines() if not line.startswith(" ")]
    assert names == sorted(
        ["alt-text", "article", "check-homework", "design-to-html", "explain-diagram", "quiz", "social-post", "wireframe-to-drawio"]
    )


# -- batch ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dozen images, each a solid grey whose level says its number (the server reads it back)."""
    path = tmp_path_factory.mktemp("batch")
    for i in range(12):
        Image.new("RGB", (96, 64), (i * 20, i * 20, i * 20)).save(path / f"img{i:02d}.png")
    (path / "notes.txt").write_text("not an image")
    return path


def image_number(body: dict[str, Any]) -> int:
    return round(request_images(body)[0].getpixel((10, 10))[0] / 20)


def alt_for(number: int) -> str:
    return f"Picture number {number}: a flat grey square with no other content, shown on its own, filling the whole frame evenly."


def batch(server: CannedChatServer, folder: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return deskpilot(
        "batch", "alt-text", str(folder), "--out", str(out), "--backend", "openai",
        "--base-url", server.url, "--model", "canned", *args, env=ENV,
    )


def lines_of(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


@pytest.mark.process
def test_a_batch_keeps_going_past_a_failing_image_and_resume_redoes_only_it(canned: Any, folder: Path, tmp_path: Path) -> None:
    broken = {"on": True}

    def reply(body: dict[str, Any]) -> str:
        number = image_number(body)
        return "too short" if number == 7 and broken["on"] else alt_for(number)

    server = canned(reply=reply)
    out = tmp_path / "alt.jsonl"
    result = batch(server, folder, out, "--workers", "4")
    assert result.returncode == 1, result.stderr
    lines = lines_of(out)
    assert len(lines) == 12 and private(out)
    errors = [line for line in lines if "error" in line]
    assert [e["image"] for e in errors] == ["img07.png"]
    assert "characters; it must be 100-200" in errors[0]["error"] and "too short" in errors[0]["raw"]
    results = {line["image"]: line["result"]["alt_text"] for line in lines if "result" in line}
    assert results == {f"img{i:02d}.png": alt_for(i) for i in range(12) if i != 7}
    assert "12/12: 11 done, 1 failed" in result.stderr

    before = len(server.requests)
    again = batch(server, folder, out, "--resume")
    assert again.returncode == 1
    assert [image_number(b) for b in server.requests[before:]] == [7, 7]  # the one image, and its retry

    broken["on"] = False
    before = len(server.requests)
    fixed = batch(server, folder, out, "--resume")
    assert fixed.returncode == 0, fixed.stderr
    assert [image_number(b) for b in server.requests[before:]] == [7]
    # One line per image, in its first place, holding its last result (README: resumable).
    final = lines_of(out)
    assert [line["image"] for line in final] == [line["image"] for line in lines]
    assert {"image": "img07.png", "result": {"alt_text": alt_for(7)}, "attempts": 1} in final
    done = batch(server, folder, out, "--resume")
    assert done.returncode == 0 and "nothing to do" in done.stderr


@pytest.mark.process
def test_ctrl_c_in_a_batch_keeps_every_finished_line(canned: Any, folder: Path, tmp_path: Path) -> None:
    server = canned(reply=lambda body: alt_for(image_number(body)), latency_s=0.25)
    out = tmp_path / "alt.jsonl"
    command = [
        sys.executable, "-m", "agent", "batch", "alt-text", str(folder), "--out", str(out),
        "--backend", "openai", "--base-url", server.url, "--model", "canned", "--workers", "2",
    ]
    proc = subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: out.exists() and out.read_text().count("\n") >= 3, timeout=30)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, stderr
    assert "--resume does the rest" in stderr and "Traceback" not in stderr
    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n")
    kept = [json.loads(line) for line in text.splitlines()]  # every line whole
    assert 3 <= len(kept) < 12 and all("result" in line for line in kept)
    before = len(server.requests)
    rest = batch(server, folder, out, "--resume", "--workers", "4")
    assert rest.returncode == 0, rest.stderr
    assert len(server.requests) - before == 12 - len(kept)
    assert sorted(line["image"] for line in lines_of(out)) == sorted(f"img{i:02d}.png" for i in range(12))


@pytest.mark.process
def test_batch_bad_input(canned: Any, tmp_path: Path, folder: Path) -> None:
    server = canned("unused")
    assert "is not a folder" in batch(server, tmp_path / "nope", tmp_path / "o.jsonl").stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = batch(server, empty, tmp_path / "o.jsonl")
    assert result.returncode == 2 and "no images" in result.stderr
    assert batch(server, folder, tmp_path / "o.jsonl", "--workers", "0").returncode == 2
    assert server.requests == []


# -- preview and capture ----------------------------------------------------------------------


@pytest.mark.process
def test_design_to_html_preview_puts_chromium_render_beside_the_design(canned: Any, design: Path, tmp_path: Path) -> None:
    page = PAGE.replace("body { display: flex; color: #333; }", "html, body { margin: 0; background: #00c000; }")
    # The page is the model's output: shown, never run (the script would turn it red).
    page = page.replace("</body>", "<script>document.documentElement.style.background = 'red';</script></body>")
    server = canned(page)
    preview = tmp_path / "preview.png"
    result = skill(server, "design-to-html", "--image", str(design), "--out", str(tmp_path / "p.html"), "--preview", str(preview))
    assert result.returncode == 0, result.stderr
    assert private(preview)
    with Image.open(preview) as image:
        shot = image.convert("RGB")
    gap = 16
    assert shot.size == (320 * 2 + 3 * gap, 200 + 2 * gap)
    assert shot.getpixel((gap + 5, gap + 5)) == (30, 120, 220)  # the design, left
    r, g, b = shot.getpixel((2 * gap + 320 + 300, gap + 150))  # the render, right: the page's green
    assert g > 150 and r < 60 and b < 60


def test_a_region_capture_is_what_the_model_is_shown(canned: Any, x_display: str, tmp_path: Path) -> None:
    server = canned(ALT)
    result = skill(server, "alt-text", "--region", "384x256+32+16", "--out", str(tmp_path / "alt.txt"))
    assert result.returncode == 0, result.stderr
    assert request_images(server.requests[0])[0].size == (384, 256)


def test_the_active_window_capture_is_that_window(canned: Any, probe: Any, tmp_path: Path) -> None:
    from tests.conftest import xdotool

    app = probe("--geometry", "384x256+400+300", "--colour", "#12c034")
    xdotool("mousemove", "450", "350")  # no window manager: the window under the pointer is active
    server = canned(ALT)
    result = skill(server, "alt-text", "--window", "--out", str(tmp_path / "alt.txt"))
    assert result.returncode == 0, result.stderr
    shown = request_images(server.requests[0])[0]
    assert shown.size == (app.ready["width"], app.ready["height"])
    r, g, b = shown.getpixel((190, 128))
    assert abs(r - 0x12) < 12 and abs(g - 0xC0) < 12 and abs(b - 0x34) < 12

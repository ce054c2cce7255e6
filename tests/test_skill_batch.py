"""The batch file itself: a line torn by a kill is left alone and its image done again; a resumed
run ends with one line per image."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from PIL import Image

from agent.backends.openai import OpenAIBackend
from agent.skills.batch import BatchSpec, finished_images, run_batch
from agent.skills.registry import get_skill
from agent.testing.chat_server import CannedChatServer, serving

ALT = "A flat grey square on its own, with no text, no shapes and no other colours anywhere in the whole frame at all."


def test_resume_after_a_torn_last_line_redoes_that_image(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(3):
        Image.new("RGB", (64, 64), (i * 50, 0, 0)).save(folder / f"i{i}.png")
    out = tmp_path / "out.jsonl"
    whole = json.dumps({"image": "i0.png", "result": {"alt_text": ALT}})
    out.write_text(whole + "\n" + '{"image": "i1.png", "resu', encoding="utf-8")  # killed mid-write
    assert finished_images(out) == {"i0.png"}
    with serving(CannedChatServer(reply=lambda _body: ALT)) as server:
        backend = OpenAIBackend(server.url, "canned")
        spec = BatchSpec(get_skill("alt-text"), folder, out, {}, "en", 64 * 32 * 32, workers=2, resume=True)
        summary = run_batch(spec, backend, threading.Event())
        backend.close()
    assert (summary.skipped, summary.done, summary.failed) == (1, 2, 0)
    assert len(server.requests) == 2
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == whole  # a finished line keeps its place and its words
    assert sorted(json.loads(line)["image"] for line in lines[1:]) == ["i1.png", "i2.png"]  # the torn one went
    assert finished_images(out) == {"i0.png", "i1.png", "i2.png"}


def test_an_image_that_fails_again_on_resume_keeps_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        Image.new("RGB", (64, 64)).save(folder / name)
    out = tmp_path / "out.jsonl"
    done = json.dumps({"image": "b.png", "result": {"alt_text": ALT}})
    out.write_text(json.dumps({"image": "a.png", "error": "first try"}) + "\n" + done + "\n", encoding="utf-8")
    with serving(CannedChatServer(reply=lambda _body: "too short")) as server:  # a fails again
        backend = OpenAIBackend(server.url, "canned")
        spec = BatchSpec(get_skill("alt-text"), folder, out, {}, "en", 64 * 32 * 32, resume=True)
        summary = run_batch(spec, backend, threading.Event())
        backend.close()
    assert (summary.skipped, summary.done, summary.failed) == (1, 0, 1)
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["image"] for line in lines] == ["a.png", "b.png"]
    assert lines[0]["error"] != "first try" and lines[1] == json.loads(done)
    assert out.stat().st_mode & 0o777 == 0o600

"""deskpilot describe through a loopback OpenAI-compatible server that counts what reaches it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from agent.access.quotes import doubts, quotes
from tests.conftest import APPS
from tests.loopback_servers import StubServer, serving
from tests.support import LinePump, deskpilot

WINDOW = "900x600+100+100"
EMPTY = "300x300+1500+700"  # black Xvfb background: no window is ever placed there


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


def images_in(body: dict[str, Any]) -> list[str]:
    return [
        part["image_url"]["url"]
        for message in body["messages"]
        if isinstance(message["content"], list)
        for part in message["content"]
        if part.get("type") == "image_url"
    ]


def server_args(stub: StubServer) -> list[str]:
    return ["--backend", "openai", "--base-url", stub.url, "--model", "qwen3-vl:8b"]


def test_a_blank_screen_is_refused_without_asking_the_model(x_display: str) -> None:
    with serving(StubServer(reply="A journal page with handwritten notes.")) as stub:
        result = deskpilot("describe", "--region", EMPTY, *server_args(stub))
    assert result.returncode == 1
    assert "the screen is blank" in result.stderr
    assert "journal" not in result.stdout.lower()
    assert stub.calls == []  # not one request reached the model server


def test_describe_prints_the_answer_from_one_image_and_flags_a_made_up_quote(text_page: None) -> None:
    answer = 'A report window. The first line reads "Quarterly report for the garden club"; the title says "Journal of dreams".'
    with serving(StubServer(reply=answer)) as stub:
        result = deskpilot("describe", "--region", WINDOW, *server_args(stub))
    assert result.returncode == 0, result.stderr
    assert answer in result.stdout
    posts = [r for r in stub.calls if r[0] == "POST"]
    assert len(posts) == 1
    assert len(images_in(posts[0][2] or {})) == 1
    notes = [line for line in result.stdout.splitlines() if line.startswith("Note:")]
    assert len(notes) == 1 and '"Journal of dreams"' in notes[0]  # the true quote is not doubted


def test_chat_sends_the_follow_up_with_the_same_image(text_page: None) -> None:
    with serving(StubServer(reply="There are 42 members.")) as stub:
        result = deskpilot(
            "describe", "--region", WINDOW, "--chat", "--no-ocr-check", *server_args(stub),
            stdin="How many members are there?\n\n",
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("There are 42 members.") == 2
    first, second = (r[2] or {} for r in stub.calls if r[0] == "POST")
    assert len(images_in(first)) == 1 and images_in(second) == images_in(first)
    last = second["messages"][-1]
    assert last["role"] == "user" and "How many members are there?" in str(last["content"])
    assert [m["role"] for m in second["messages"]] == ["user", "assistant", "user"]


@pytest.mark.parametrize(
    ("answer", "lines", "doubted"),
    [
        ('It says "Save changes"', ["Save changes?", "Cancel"], []),
        ('It says "Save chanes"', ["Save changes?", "Cancel"], []),  # a small slip is no contradiction
        ('It says "Delete all"', ["Save changes?", "Cancel"], ["Delete all"]),
        ("A journal page with “Dear diary”", [], ["Dear diary"]),  # the locked-screen story
        ("Buttons 「设置」 and 'Open file'", ["设置", "Open file"], []),
        ("Nothing quoted, don't worry", ["x"], []),
    ],
)
def test_quotes_the_screen_does_not_show(answer: str, lines: list[str], doubted: list[str]) -> None:
    assert [d.quote for d in doubts(answer, lines)] == doubted


def test_quotes() -> None:
    assert quotes('"OK" and “Cancel” and «Aide» and it\'s \'Open\'') == ["OK", "Cancel", "Aide", "Open"]

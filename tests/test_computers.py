"""Pure parts of the computers: text segmentation, selection replies and paste
completion, the fake computer, the fake clipboard."""

from __future__ import annotations

import pytest

from agent.actions import LeftClick, ScreenAction, Type, Wait
from agent.computers.dispatch import segment_text
from agent.computers.x11.clipboard import OFFERED_TARGETS, PasteProgress, Reply, reply_for, summarise_requests
from agent.errors import ClipboardError, OffScreenError, StoppedError
from agent.geometry import Region
from agent.testing.fake import FakeClipboard, FakeComputer


def ascii_only(ch: str) -> bool:
    return " " <= ch <= "~"


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("ls -la\n", [("keys", "ls -la"), ("key", "enter")]),
        ("a\tb", [("keys", "a"), ("key", "tab"), ("keys", "b")]),
        # A run with any non-ASCII character is pasted whole: one clipboard swap per run.
        ("你好 world", [("paste", "你好 world")]),
        ("café\r\n", [("paste", "café"), ("key", "enter")]),
        ("打开 a é\tnext\n", [("paste", "打开 a é"), ("key", "tab"), ("keys", "next"), ("key", "enter")]),
        ("", []),
        ("\n\n", [("key", "enter"), ("key", "enter")]),
        ("🙂", [("paste", "🙂")]),
    ],
)
def test_segment_text(text: str, pieces: list[tuple[str, str]]) -> None:
    assert segment_text(text, ascii_only) == pieces


def test_fake_computer_records_actions_and_moves_its_cursor() -> None:
    fake = FakeComputer(region=Region(-1920, 0, 1920, 1080))
    fake.perform(ScreenAction(action=LeftClick(coordinate=(0, 0)), x=-5, y=7))
    fake.perform(ScreenAction(action=Type(text="hi")))
    assert fake.cursor == (-5, 7)
    assert fake.typed == ["hi"]
    assert [a.name for a in fake.performed] == ["left_click", "type"]


def test_fake_computer_refuses_off_screen_points_and_stops() -> None:
    fake = FakeComputer(region=Region(0, 0, 800, 600))
    with pytest.raises(OffScreenError):
        fake.perform(ScreenAction(action=LeftClick(coordinate=(0, 0)), x=800, y=10))
    fake.cancel.set()
    with pytest.raises(StoppedError):
        fake.perform(ScreenAction(action=Wait(time=1)))
    assert fake.performed == []


def test_fake_computer_capture_has_hidpi_geometry() -> None:
    frame = FakeComputer(region=Region(100, 0, 1440, 900), scale=2.0).capture()
    assert frame.image.size == (2880, 1800)
    assert (frame.geometry.scale_x, frame.region.left) == (2.0, 100)


def test_fake_clipboard_restores_after_paste() -> None:
    clip = FakeClipboard("before")
    seen: list[str | None] = []
    clip.paste("你好", lambda: seen.append(clip.content))
    assert (seen, clip.content, clip.pasted) == (["你好"], "before", ["你好"])


def test_fake_clipboard_nobody_takes_raises_and_restores() -> None:
    clip = FakeClipboard("before", taken=False)
    with pytest.raises(ClipboardError):
        clip.paste("你好", lambda: None)
    assert (clip.content, clip.pasted) == ("before", [])


@pytest.mark.parametrize(
    ("target", "text", "reply"),
    [
        ("TARGETS", "x", Reply("ATOM", 32, OFFERED_TARGETS)),
        ("TIMESTAMP", "x", Reply("INTEGER", 32, (4242,))),
        ("UTF8_STRING", "打开 é😀", Reply("UTF8_STRING", 8, "打开 é😀".encode())),
        ("text/plain;charset=utf-8", "é", Reply("text/plain;charset=utf-8", 8, b"\xc3\xa9")),
        ("TEXT", "打开", Reply("UTF8_STRING", 8, "打开".encode())),  # the type says the encoding
        ("STRING", "café", Reply("STRING", 8, b"caf\xe9")),  # STRING is Latin-1
        ("STRING", "打开", None),  # refused, not garbled
        ("x-kde-passwordManagerHint", "pw", Reply("x-kde-passwordManagerHint", 8, b"secret")),  # no history
        ("image/png", "x", None),
        ("text/html", "x", None),
    ],
)
def test_reply_for_each_target(target: str, text: str, reply: Reply | None) -> None:
    assert reply_for(target, text, timestamp=4242) == reply


def test_targets_lists_every_target_that_gets_an_answer() -> None:
    answered = {t for t in OFFERED_TARGETS if reply_for(t, "é", 1) is not None}
    assert answered == set(OFFERED_TARGETS)


def test_a_paste_is_complete_after_text_then_a_quiet_period() -> None:
    progress = PasteProgress(quiet_s=0.1)
    progress.saw("clipboard", "TARGETS", True, now=1.0)
    assert not progress.complete(now=5.0)  # TARGETS alone hands nothing over (Chromium)
    progress.saw("clipboard", "UTF8_STRING", True, now=5.0)
    assert not progress.complete(now=5.05)
    assert progress.quiet_left(now=5.05) == pytest.approx(0.05)
    progress.saw("clipboard", "TARGETS", True, now=5.08)  # another request restarts the quiet period
    assert not progress.complete(now=5.15)
    assert progress.complete(now=5.2)
    assert progress.requests == ["clipboard:TARGETS", "clipboard:UTF8_STRING", "clipboard:TARGETS"]


def test_a_refused_text_request_is_not_a_paste() -> None:
    progress = PasteProgress(quiet_s=0.0)
    progress.saw("primary", "STRING", False, now=1.0)
    assert not progress.complete(now=9.0)
    assert progress.requests == ["primary:STRING (refused)"]


def test_requests_are_summarised_with_counts_in_first_seen_order() -> None:
    seen = ["clipboard:TARGETS", "clipboard:TARGETS", "primary:STRING (refused)", "clipboard:TARGETS"]
    assert summarise_requests(seen) == "clipboard:TARGETS x3, primary:STRING (refused)"
    assert summarise_requests([]) == ""


def test_text_served_to_another_client_does_not_complete_a_paste() -> None:
    progress = PasteProgress(quiet_s=0.0)
    progress.saw("clipboard", "UTF8_STRING", True, now=1.0, by_paste_client=False)  # a clipboard manager
    assert not progress.complete(now=9.0)
    progress.saw("clipboard", "UTF8_STRING", True, now=9.0)  # the focused application
    assert progress.complete(now=9.0)
    assert progress.requests == ["clipboard:UTF8_STRING (another client)", "clipboard:UTF8_STRING"]

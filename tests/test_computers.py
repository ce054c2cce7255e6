"""Pure parts of the computers: text segmentation, the fake computer, the fake clipboard."""

from __future__ import annotations

import pytest

from agent.actions import LeftClick, ScreenAction, Type, Wait
from agent.computers.desktop import segment_text
from agent.errors import OffScreenError, StoppedError
from agent.geometry import Region
from agent.testing.fake import FakeClipboard, FakeComputer


def ascii_only(ch: str) -> bool:
    return " " <= ch <= "~"


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("ls -la\n", [("keys", "ls -la"), ("key", "enter")]),
        ("a\tb", [("keys", "a"), ("key", "tab"), ("keys", "b")]),
        ("你好 world", [("paste", "你好"), ("keys", " world")]),
        ("café\r\n", [("keys", "caf"), ("paste", "é"), ("key", "enter")]),
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

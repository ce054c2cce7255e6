"""Raw input events as macro steps (pure): clicks with counts, drags, scrolls, chords, typed text.

The recorder turns what pynput reports into ``RawEvent``s; ``build_steps`` coalesces
them: press and release in one place is a click (a quick second one in the same place
makes it a double or triple click), press, move and release is a drag, wheel notches
in one place add up, keys with ctrl/alt/super are a chord, and everything typed
without them (shift included) becomes one ``type`` step. The kill hotkey chord that
ended the recording is dropped from the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agent.keys import MODIFIERS
from agent.macros.schema import literal_text

EventKind = Literal["key_down", "key_up", "button_down", "button_up", "scroll"]

# A press and release closer than this many pixels is a click, not a drag.
CLICK_SLOP = 4
# A second click in the same place within this many seconds makes a double click.
MULTI_CLICK_S = 0.4
_CLICK_NAMES = {1: "left_click", 2: "double_click", 3: "triple_click"}
_BUTTON_CLICK = {"right": "right_click", "middle": "middle_click"}
_TEXT_KEYS = {"enter": "\n", "tab": "\t", "space": " "}


@dataclass(frozen=True)
class RawEvent:
    """One input event: when, what, where; ``key`` is a canonical key name, ``char`` what it typed."""

    t: float
    kind: EventKind
    x: int = 0
    y: int = 0
    button: str = ""
    key: str = ""
    char: str = ""
    dy: int = 0
    dx: int = 0
    frame: Any = None  # the screen from just before a button went down (for its anchor)
    title: str | None = None


@dataclass
class PendingStep:
    """A step before its anchor is cut: the flat action, when it began, and the capture to cut from."""

    action: dict[str, Any]
    t: float
    frame: Any = None
    title: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def strip_kill_chord(events: Sequence[RawEvent], chord: Sequence[str]) -> list[RawEvent]:
    """``events`` without the trailing presses and releases of the chord that ended the recording."""
    keys = set(chord)
    out = list(events)
    while out and out[-1].kind in ("key_down", "key_up") and out[-1].key in keys:
        out.pop()
    return out


def build_steps(events: Sequence[RawEvent]) -> list[PendingStep]:
    steps: list[PendingStep] = []
    held: set[str] = set()
    down: RawEvent | None = None
    text: PendingStep | None = None

    def flush_text() -> None:
        nonlocal text
        if text is not None:
            steps.append(text)
            text = None

    for event in events:
        if event.kind == "key_down":
            if event.key in MODIFIERS:
                held.add(event.key)
                continue
            chord_mods = [m for m in ("ctrl", "alt", "super") if m in held]
            typed = _TEXT_KEYS.get(
                event.key, event.char if len(event.char) == 1 and event.char.isprintable() else ""
            )
            if not chord_mods and typed:
                if text is None:
                    text = PendingStep({"action": "type", "text": ""}, event.t)
                text.action["text"] += literal_text(typed)  # a typed "{" is no variable
                continue
            if not event.key:
                continue  # a key Deskpilot cannot name or type
            flush_text()
            mods = [m for m in ("ctrl", "alt", "shift", "super") if m in held]
            steps.append(PendingStep({"action": "key", "keys": [*mods, event.key]}, event.t))
        elif event.kind == "key_up":
            held.discard(event.key)
        elif event.kind == "button_down":
            flush_text()
            down = event
        elif event.kind == "button_up" and down is not None:
            start, down = down, None
            moved = abs(event.x - start.x) > CLICK_SLOP or abs(event.y - start.y) > CLICK_SLOP
            if moved and start.button == "left":
                steps.append(
                    PendingStep(
                        {"action": "mouse_move", "x": start.x, "y": start.y},
                        start.t,
                        start.frame,
                        start.title,
                    )
                )
                steps.append(
                    PendingStep(
                        {"action": "left_click_drag", "x": event.x, "y": event.y},
                        event.t,
                        start.frame,
                        start.title,
                        {"drag": True},
                    )
                )
                continue
            if start.button in _BUTTON_CLICK:
                steps.append(
                    PendingStep(
                        {"action": _BUTTON_CLICK[start.button], "x": start.x, "y": start.y},
                        start.t,
                        start.frame,
                        start.title,
                    )
                )
                continue
            last = steps[-1] if steps else None
            if (
                last is not None
                and last.action["action"] in ("left_click", "double_click")
                and abs(last.action["x"] - start.x) <= CLICK_SLOP
                and abs(last.action["y"] - start.y) <= CLICK_SLOP
                and start.t - last.extra.get("last_click_t", last.t) <= MULTI_CLICK_S
            ):
                count = 2 if last.action["action"] == "left_click" else 3
                last.action["action"] = _CLICK_NAMES[count]
                last.extra["last_click_t"] = start.t
                continue
            steps.append(
                PendingStep(
                    {"action": "left_click", "x": start.x, "y": start.y}, start.t, start.frame, start.title
                )
            )
        elif event.kind == "scroll":
            flush_text()
            name, amount = ("scroll", event.dy) if event.dy else ("hscroll", event.dx)
            last = steps[-1] if steps else None
            if (
                last is not None
                and last.action["action"] == name
                and abs(last.action["x"] - event.x) <= CLICK_SLOP
                and abs(last.action["y"] - event.y) <= CLICK_SLOP
            ):
                last.action["pixels"] += amount
                continue
            steps.append(
                PendingStep(
                    {"action": name, "x": event.x, "y": event.y, "pixels": amount},
                    event.t,
                    event.frame,
                    event.title,
                )
            )
    flush_text()
    return [s for s in steps if not (s.action["action"] in ("scroll", "hscroll") and s.action["pixels"] == 0)]

"""Actions, action records and steps in plain words: one wording for the CLI, the windows and the overlay."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.records.schema import ActionRecord, StepRecord

TYPED_TEXT_CHARS = 60
THOUGHT_CHARS = 100

_CLICKS = {
    "left_click": "Click",
    "right_click": "Right-click",
    "middle_click": "Middle-click",
    "double_click": "Double-click",
    "triple_click": "Triple-click",
}


def printable(text: str) -> str:
    """``text`` on one safe line: newlines as ⏎, tabs as ⇥, other control characters escaped.

    Recorded text comes from the model (or an edited history file) and ends up on a
    terminal, so an escape sequence in it must not reach the terminal as one.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out: list[str] = []
    for ch in text:
        if ch == "\n":
            out.append("⏎")
        elif ch == "\t":
            out.append("⇥")
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(ascii(ch)[1:-1])
    return "".join(out)


def clip(text: str, limit: int) -> str:
    """``printable(text)`` cut to at most ``limit`` characters, ending in … when cut."""
    line = printable(text)
    if len(line) <= limit:
        return line
    return line[: max(limit - 1, 0)] + "…"


def plural(count: int, word: str, words: str | None = None) -> str:
    """``count`` and the noun agreeing with it: "1 step", "3 steps", "0 steps".

    ``words`` is the plural where adding an "s" is wrong ("1 body", "2 bodies").
    """
    return f"{count} {word if count == 1 else (words if words is not None else word + 's')}"


def describe_action(screen: dict[str, Any]) -> str:
    """One action (``ScreenAction.to_json_dict()``) as a short imperative sentence.

    When the model named its target (``element_description``), the words carry the name:
    "Click 'Save button' at (480, 810)". A click without a point lands where the pointer is.
    """
    name = str(screen.get("action", "?"))
    at = _at(screen)
    target = _target(screen)
    if name in _CLICKS:
        marked = screen.get("element") is not None  # a marked element's number, resolved or not
        return _CLICKS[name] + target + (at or ("" if marked else " at the pointer"))
    match name:
        case "mouse_move":
            return "Move the pointer" + _point(screen, " to ") + (f" over{target}" if target else "")
        case "left_click_drag":
            return "Drag" + (f" to{target}" if target else "") + _point(screen, " at " if target else " to ")
        case "type":
            typed = f"Type '{clip(str(screen.get('text', '')), TYPED_TEXT_CHARS)}'"
            return typed + (f" into{target}" if target else "")
        case "key":
            keys = screen.get("keys", [])
            if isinstance(keys, list | tuple):
                return "Press " + "+".join(printable(str(k)) for k in keys)
            return "Press " + printable(str(keys))
        case "scroll":
            return _scroll(screen, "up", "down") + (f" over{target}" if target else "") + at
        case "hscroll":
            return _scroll(screen, "right", "left") + (f" over{target}" if target else "") + at
        case "wait":
            return f"Wait {_number(screen.get('time', 0))} s"
        case "terminate":
            return f"Finish ({printable(str(screen.get('status', '?')))})"
        case "answer":
            return "Answer: " + clip(str(screen.get("text", "")), TYPED_TEXT_CHARS)
    # An action this version does not know (a newer history file): show it as recorded.
    args = {k: v for k, v in screen.items() if k != "action"}
    return clip(f"{name} {json.dumps(args, ensure_ascii=False)}" if args else name, 2 * TYPED_TEXT_CHARS)


def _target(screen: dict[str, Any]) -> str:
    marked = screen.get("element_words")
    if isinstance(marked, str) and marked:
        return f" {clip(marked, 2 * TYPED_TEXT_CHARS)}"  # "element 7 (push button 'Save')" (--marks)
    element = screen.get("element")
    if isinstance(element, int) and not isinstance(element, bool):
        return f" element {element}"
    description = screen.get("element_description")
    if not isinstance(description, str) or not description.strip():
        return ""
    return f" '{clip(description, TYPED_TEXT_CHARS)}'"


def _point(screen: dict[str, Any], joiner: str) -> str:
    x, y = screen.get("x"), screen.get("y")
    # Compare with None, never truthiness: x=0 is the left edge of the screen.
    if x is None or y is None:
        return ""
    return f"{joiner}({_number(x)}, {_number(y)})"


def _at(screen: dict[str, Any]) -> str:
    return _point(screen, " at ")


def _scroll(screen: dict[str, Any], positive: str, negative: str) -> str:
    pixels = screen.get("pixels", 0)
    if not isinstance(pixels, int | float) or pixels == 0:
        return f"Scroll {_number(pixels)}"
    return f"Scroll {positive if pixels > 0 else negative} {_number(abs(pixels))}"


def _number(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:g}"
    return printable(str(value))


def describe_step(step: StepRecord) -> list[str]:
    """The step in words (``deskpilot history show``, the history and command windows)."""
    head = f"Step {step.number}  "
    pad = " " * len(head)
    lines: list[str] = []
    if step.actions:
        for i, action in enumerate(step.actions):
            lines.append((head if i == 0 else pad) + describe_record(action))
    else:
        lines.append(head + "no action")
    if step.source == "replay":
        lines.append(pad + "replayed from an earlier run, no model")
    elif step.source == "model":
        lines.append(pad + "asked the model")
    if step.anchor_tier:
        lines.append(pad + "target found by tier " + clip(step.anchor_tier, 20))
    if step.error:
        lines.append(pad + "error: " + clip(step.error, 200))
    thought = next((line.strip() for line in step.thought.splitlines() if line.strip()), "")
    if thought:
        lines.append(pad + "thought: " + clip(thought, THOUGHT_CHARS))
    if step.timings:
        lines.append(
            pad
            + "timings: "
            + ", ".join(
                f"{clip(_timing_name(name), 30)} {seconds:.2f} s" for name, seconds in step.timings.items()
            )
        )
    if step.screenshot:
        lines.append(pad + "screenshot: " + clip(step.screenshot, 60))
    return lines


def describe_record(action: ActionRecord) -> str:
    """One action record in words: what it was, what the policy and the user said, what happened."""
    words = [describe_action(action.screen)]
    reason = f" ({clip(action.reason, 80)})" if action.reason else ""
    if action.decision == "allow":
        status = ["allowed"]
    elif action.decision == "deny":
        status = ["denied" + reason]
    else:
        status = ["asked" + reason, _CONFIRMATION_WORDS[action.confirmation]]
    if action.performed:
        status.append("performed")
    elif action.error:
        status.append("failed: " + clip(action.error, 120))
    else:
        status.append("not performed")
    words.append(", ".join(status))
    if action.note:
        words.append("note: " + clip(action.note, 80))
    return "  ".join(words)


_CONFIRMATION_WORDS = {
    "not_needed": "no answer needed",
    "approved": "approved",
    "approved_for_session": "approved for the session",
    "rejected": "rejected",
    "timed_out": "no answer in time",
    "dry_run": "dry run",
}


def _timing_name(name: str) -> str:
    return name.removesuffix("_s")


def local_time(iso: str | None) -> str:
    """A recorded UTC time in the user's time zone, to the second; "" when there is none."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return clip(iso, 40)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # records are written in UTC
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")

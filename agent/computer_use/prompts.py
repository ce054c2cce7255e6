"""The chat Qwen3-VL expects for one step: the ``computer_use`` tool, task, history, screenshots.

The tool's function name, action enum and parameter names are the ones the model was
tuned on; the description tells it the size of its coordinate space. Past steps are
short text lines and only the newest screenshots are images, both capped, so a step's
prompt stays the same size however long the task runs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.actions import ACTION_NAMES, Action
from agent.backends.base import ChatRequest
from agent.scaling import ModelFrame

if TYPE_CHECKING:
    from PIL.Image import Image

SYSTEM_TEXT = "You are a helpful assistant."
# Native resolution: the computer-use cookbook runs Qwen3-VL with max_pixels=12845056
# (Qwen's OSWorld agent with 13.1 MP, the checkpoint's processor allows 16.7 MP), and the
# model was evaluated on full-resolution screenshots. Every common screen up to
# 4096x2160 keeps its pixels (a 1920x1080 screen becomes 1920x1088, 2040 image tokens);
# a 5K screen is shrunk to fit. One image token per 32x32 pixels.
DEFAULT_MAX_PIXELS = 12845056
# The old default, kept as the documented cheaper option (settings ``max_pixels``,
# ``--max-pixels``): 1024 tokens' worth of pixels, a 1920x1080 screen at 1344x768 and
# 1008 image tokens, about half the prefill of native, at a cost in small-text accuracy.
SMALL_MAX_PIXELS = 1024 * 32 * 32
DEFAULT_MIN_PIXELS = 64 * 32 * 32

_ACTION_HELP = """\
* `key`: Press keys in order and release them in reverse (a shortcut such as ["ctrl", "s"]).
* `type`: Type a string of text at the keyboard focus; a newline presses Enter.
* `mouse_move`: Move the cursor to `coordinate`.
* `left_click`: Click the left mouse button at `coordinate`.
* `left_click_drag`: Press the left button at the cursor, drag to `coordinate`, release.
* `right_click`: Click the right mouse button at `coordinate`.
* `middle_click`: Click the middle mouse button at `coordinate`.
* `double_click`: Double-click the left mouse button at `coordinate`.
* `triple_click`: Triple-click the left mouse button at `coordinate` (selects a line).
* `scroll`: Scroll vertically by `pixels` wheel steps (positive scrolls up), at `coordinate` if given.
* `hscroll`: Scroll horizontally by `pixels` wheel steps (positive scrolls right).
* `wait`: Wait `time` seconds for something to change.
* `terminate`: End the task, with `status` success or failure.
* `answer`: Answer the user's question with `text` instead of acting."""


def computer_use_tool(frame: ModelFrame) -> dict[str, Any]:
    """The OpenAI-style function schema of the tool, sized for ``frame``."""
    width, height = int(frame.extent_x), int(frame.extent_y)
    description = (
        "Operate this computer's mouse and keyboard. You see the screen as a screenshot.\n"
        f"* The screen's resolution is {width}x{height}: x runs from 0 at the left edge to "
        f"{width} at the right edge, y from 0 at the top to {height} at the bottom.\n"
        "* Aim at the centre of the element you want to use, as you see it in the latest "
        "screenshot.\n"
        "* Programs can take a moment to react: after an action, look at the next screenshot "
        "(or use wait) before deciding that it failed.\n"
        "* Prefer one action per answer; a few may go together when they clearly belong "
        "together, such as typing a line and pressing Enter."
    )
    return {
        "type": "function",
        "function": {
            "name": "computer_use",
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {
                    "action": {
                        "type": "string",
                        "description": "The action to perform. The available actions are:\n"
                        + _ACTION_HELP,
                        "enum": list(ACTION_NAMES),
                    },
                    "keys": {"type": "array", "description": "Required only by `action=key`."},
                    "text": {
                        "type": "string",
                        "description": "Required only by `action=type` and `action=answer`.",
                    },
                    "coordinate": {
                        "type": "array",
                        "description": f"(x, y): the x (pixels from the left edge, 0..{width}) "
                        f"and y (pixels from the top edge, 0..{height}) coordinates to move the "
                        "mouse to. Required by the click, move and drag actions.",
                    },
                    "pixels": {
                        "type": "number",
                        "description": "The amount of scrolling. Required only by "
                        "`action=scroll` and `action=hscroll`.",
                    },
                    "time": {
                        "type": "number",
                        "description": "The seconds to wait. Required only by `action=wait`.",
                    },
                    "status": {
                        "type": "string",
                        "description": "The status of the task. Required only by `action=terminate`.",
                        "enum": ["success", "failure"],
                    },
                },
                "required": ["action"],
            },
        },
    }


def action_text(action: Action) -> str:
    """A past action as the model would have written its arguments, in model space."""
    args = {k: v for k, v in action.arguments().items() if k != "action"}
    if not args:
        return action.action
    return f"{action.action} {json.dumps(args, ensure_ascii=False, separators=(', ', ': '))}"


@dataclass(frozen=True)
class StepNote:
    """One finished step as the model reads it in later prompts."""

    number: int
    actions: tuple[str, ...]
    outcome: str


@dataclass(frozen=True)
class PromptSettings:
    """How much history a prompt carries and the image pixel budget."""

    screenshots: int = 1
    history_steps: int = 12
    max_note_chars: int = 240
    max_pixels: int = DEFAULT_MAX_PIXELS
    min_pixels: int = DEFAULT_MIN_PIXELS
    max_new_tokens: int = 256


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def history_lines(steps: Sequence[StepNote], settings: PromptSettings) -> list[str]:
    shown = steps[-settings.history_steps :] if settings.history_steps > 0 else []
    lines: list[str] = []
    hidden = len(steps) - len(shown)
    if hidden:
        lines.append(f"({hidden} earlier steps not shown)")
    for step in shown:
        did = "; ".join(step.actions) if step.actions else "no action"
        lines.append(_clip(f"Step {step.number}: {did} -> {step.outcome}", settings.max_note_chars))
    return lines


def build_request(
    task: str,
    steps: Sequence[StepNote],
    screenshots: Sequence[Image],
    frame: ModelFrame,
    *,
    feedback: str | None = None,
    settings: PromptSettings | None = None,
) -> ChatRequest:
    """The request for the next step; ``screenshots`` are oldest first, newest last."""
    settings = settings or PromptSettings()
    if not screenshots:
        raise ValueError("a step needs at least the current screenshot")
    parts: list[dict[str, Any]] = [{"type": "text", "text": f"The user's task: {task}\n"}]
    lines = history_lines(steps, settings)
    if lines:
        parts.append(
            {"type": "text", "text": "Task progress (steps you have taken):\n" + "\n".join(lines) + "\n"}
        )
    if feedback:
        parts.append({"type": "text", "text": f"Note: {_clip(feedback, settings.max_note_chars)}\n"})
    kept = list(screenshots)[-max(1, settings.screenshots) :]
    for age, image in enumerate(kept):
        label = "Current screenshot:" if age == len(kept) - 1 else "An earlier screenshot:"
        parts.append({"type": "text", "text": label})
        parts.append({"type": "image", "image": image})
    parts.append(
        {
            "type": "text",
            "text": "\nDecide the next action and call computer_use. When the task is done, "
            "call it with action=terminate.",
        }
    )
    messages = [
        {"role": "system", "content": [{"type": "text", "text": SYSTEM_TEXT}]},
        {"role": "user", "content": parts},
    ]
    return ChatRequest(
        messages=messages,
        tools=[computer_use_tool(frame)],
        max_new_tokens=settings.max_new_tokens,
        max_pixels=settings.max_pixels,
        min_pixels=settings.min_pixels,
    )

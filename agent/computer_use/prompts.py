"""The chat Qwen3-VL expects for one step: the ``computer_use`` tool, task, history, screenshots.

The tool is the one the model was tuned on, as QwenLM's computer-use cookbook
(``cookbooks/utils/agent_function_call.py``) writes it: same function name, action
enum, parameter names, description texts and key order, so the rendered ``# Tools``
block is the cookbook's byte for byte. Deskpilot's own advice (the coordinate grid,
one call per answer) goes into the user message instead, after the screenshot, as the
cookbook and Qwen's OSWorld agent place image and instruction. Past steps are short
text lines and only the newest screenshots are images, both capped, so a step's
prompt stays the same size however long the task runs.

The prompt is append-only, so that a key/value cache (the local backend's, or a
server's prefix cache such as vLLM's) stays valid from one step to the next: the
system prompt and tool, then the task and the rules, then one line per finished
step, appended and never rewritten, and only after all of that the screenshot(s) and
what is said about this step alone (the feedback note). Step N+1's prompt then
extends step N's up to where step N's screenshot began, so a step prefills only its
new history line, its new screenshot and the short tail (``build_request`` says why
old screenshots are dropped the way they are).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.actions import ACTION_NAMES, Action
from agent.backends.base import MIN_PIXELS, NATIVE_MAX_PIXELS, ChatRequest
from agent.scaling import ModelFrame
from agent.wording import describe_action

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.records.schema import ActionRecord

SYSTEM_TEXT = "You are a helpful assistant."
# Native resolution by default (see agent.backends.base).
DEFAULT_MAX_PIXELS = NATIVE_MAX_PIXELS
# The old default, kept as the documented cheaper option (settings ``max_pixels``,
# ``--max-pixels``): 1024 tokens' worth of pixels, a 1920x1080 screen at 1344x768 and
# 1008 image tokens, about half the prefill of native, at a cost in small-text accuracy.
SMALL_MAX_PIXELS = 1024 * 32 * 32
DEFAULT_MIN_PIXELS = MIN_PIXELS

# The cookbook's texts, word for word (the interface the model was tuned on).
_DESCRIPTION = """\
Use a mouse and keyboard to interact with a computer, and take screenshots.
* This is an interface to a desktop GUI. You do not have access to a terminal or applications menu. \
You must click on desktop icons to start applications.
* Some applications may take time to start or process actions, so you may need to wait and take \
successive screenshots to see the results of your actions. E.g. if you click on Firefox and a window \
doesn't open, try wait and taking another screenshot.
* The screen's resolution is {width}x{height}.
* Whenever you intend to move the cursor to click on an element like an icon, you should consult a \
screenshot to determine the coordinates of the element before moving the cursor.
* If you tried clicking on a program or link but it failed to load, even after waiting, try adjusting \
your cursor position so that the tip of the cursor visually falls on the element that you want to click.
* Make sure to click any buttons, links, icons, etc with the cursor tip in the center of the element. \
Don't click boxes on their edges."""

_ACTION_DESCRIPTION = """\
The action to perform. The available actions are:
* `key`: Performs key down presses on the arguments passed in order, then performs key releases in \
reverse order.
* `type`: Type a string of text on the keyboard.
* `mouse_move`: Move the cursor to a specified (x, y) pixel coordinate on the screen.
* `left_click`: Click the left mouse button at a specified (x, y) pixel coordinate on the screen.
* `left_click_drag`: Click and drag the cursor to a specified (x, y) pixel coordinate on the screen.
* `right_click`: Click the right mouse button at a specified (x, y) pixel coordinate on the screen.
* `middle_click`: Click the middle mouse button at a specified (x, y) pixel coordinate on the screen.
* `double_click`: Double-click the left mouse button at a specified (x, y) pixel coordinate on the screen.
* `triple_click`: Triple-click the left mouse button at a specified (x, y) pixel coordinate on the screen \
(simulated as double-click since it's the closest action).
* `scroll`: Performs a scroll of the mouse scroll wheel.
* `hscroll`: Performs a horizontal scroll (mapped to regular scroll).
* `wait`: Wait specified seconds for the change to happen.
* `terminate`: Terminate the current task and report its completion status.
* `answer`: Answer a question."""


# --marks only: the one parameter Deskpilot adds to the cookbook's tool. It sits in the
# tool for the whole run (not only on steps that have marks) so the system prompt, and
# every cached token after it, stays the same from step to step.
ELEMENT_PARAMETER = {
    "description": "The number of a marked element on the screenshot, from the list of numbered elements; "
    "use it instead of `coordinate` for `action=left_click`, `right_click`, `middle_click`, "
    "`double_click` and `triple_click`.",
    "type": "integer",
}


def computer_use_tool(frame: ModelFrame, *, marks: bool = False) -> dict[str, Any]:
    """The tool's function schema, sized for ``frame``; dict order is the rendered JSON's order.

    ``marks`` adds the ``element`` parameter after ``coordinate``.
    """
    width, height = int(frame.extent_x), int(frame.extent_y)
    tool: dict[str, Any] = {
        "type": "function",
        "function": {
            "name": "computer_use",
            "description": _DESCRIPTION.format(width=width, height=height),
            "parameters": {
                "properties": {
                    "action": {
                        "description": _ACTION_DESCRIPTION,
                        "enum": list(ACTION_NAMES),
                        "type": "string",
                    },
                    "keys": {"description": "Required only by `action=key`.", "type": "array"},
                    "text": {
                        "description": "Required only by `action=type` and `action=answer`.",
                        "type": "string",
                    },
                    "coordinate": {
                        "description": "(x, y): The x (pixels from the left edge) and y (pixels from "
                        "the top edge) coordinates to move the mouse to.",
                        "type": "array",
                    },
                    "pixels": {
                        "description": "The amount of scrolling to perform. Positive values scroll up, "
                        "negative values scroll down. Required only by `action=scroll` and `action=hscroll`.",
                        "type": "number",
                    },
                    "time": {
                        "description": "The seconds to wait. Required only by `action=wait`.",
                        "type": "number",
                    },
                    "status": {
                        "description": "The status of the task. Required only by `action=terminate`.",
                        "type": "string",
                        "enum": ["success", "failure"],
                    },
                },
                "required": ["action"],
                "type": "object",
            },
        },
    }
    if marks:
        properties = tool["function"]["parameters"]["properties"]
        tool["function"]["parameters"]["properties"] = {
            **{k: v for k, v in properties.items() if k not in ("pixels", "time", "status")},
            "element": ELEMENT_PARAMETER,
            **{k: v for k, v in properties.items() if k in ("pixels", "time", "status")},
        }
    return tool


MARKS_GUIDANCE = (
    "Clickable elements of the active window are boxed and numbered on the screenshot and listed "
    "after it. To click one, give its number instead of a coordinate: "
    '{"action": "left_click", "element": 7}. A number that is not on the list is refused.'
)


def guidance(frame: ModelFrame) -> str:
    """Deskpilot's own rules for the model, stated in every step's user message.

    One call per answer is what every backend does: the local backend stops generating
    at the first ``</tool_call>`` and the parser carries out only the first call of any
    reply, so a server that returns several acts exactly like the local model.
    """
    width, height = int(frame.extent_x), int(frame.extent_y)
    return (
        f"Coordinates are on a {width}x{height} grid laid over the screenshot: x runs from 0 at the "
        f"left edge to {width} at the right edge, y from 0 at the top to {height} at the bottom.\n"
        "Answer with exactly one tool call. Only the first call of an answer is carried out; you then "
        "get a new screenshot to decide the next one. When the task is done, call computer_use with "
        "action=terminate."
    )


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


def not_done_feedback(record: ActionRecord) -> tuple[str, str]:
    """(what the model is told next step about an action that did not happen, the short form for its history).

    The one wording: the loop tells the model this at run time and the fine-tune export
    writes it back from the stored record, so training data says what the model saw.
    """
    words = describe_action(record.screen)
    if record.decision == "deny":
        return f"The action '{words}' was refused ({record.reason}). Do it another way.", "refused"
    if record.confirmation in ("rejected", "timed_out"):
        why = "the user rejected it" if record.confirmation == "rejected" else "nobody confirmed it in time"
        note = f" The user says: {record.note}" if record.note else ""
        return f"The action '{words}' was not performed: {why}.{note}", f"not performed ({why})"
    return f"The action '{words}' failed: {record.error}", f"failed ({record.error})"


@dataclass(frozen=True)
class PromptSettings:
    """How much history a prompt carries and the image pixel budget."""

    screenshots: int = 1
    # At least this many history lines show, at most twice as many less one (hidden_steps).
    history_steps: int = 12
    max_note_chars: int = 240
    max_pixels: int = DEFAULT_MAX_PIXELS
    min_pixels: int = DEFAULT_MIN_PIXELS
    max_new_tokens: int = 256
    # --marks: the tool takes an ``element`` number and the rules say how (the list itself
    # comes with each step's screenshot, from agent.computer_use.marks).
    marks: bool = False


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def hidden_steps(count: int, keep: int) -> int:
    """How many of ``count`` past steps fold into the "(N earlier steps not shown)" line.

    Not a sliding window: sliding would rewrite the history's first line every step and
    invalidate every cached token after the task. Steps fold in blocks of ``keep``
    instead, so between ``keep`` and ``2 * keep - 1`` lines show and the prefix changes
    only once every ``keep`` steps (a compaction point: that step re-prefills the shown
    lines, a few hundred tokens, never a screenshot it would not prefill anyway).
    """
    if keep <= 0:
        return count
    return max(0, (count - keep) // keep * keep)


def history_lines(steps: Sequence[StepNote], settings: PromptSettings) -> list[str]:
    hidden = hidden_steps(len(steps), settings.history_steps)
    lines: list[str] = []
    if hidden:
        lines.append(f"({hidden} earlier steps not shown)")
    for step in steps[hidden:]:
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
    marks: str | None = None,
) -> ChatRequest:
    """The request for the next step; ``screenshots`` are oldest first, newest last.

    One user message in three parts, in the order of how long each stays the same:
    the task and the rules (the whole run), the history lines (appended each step), then
    the newest ``settings.screenshots`` screenshots and the words about this step only.
    Everything before the screenshots is therefore a prefix of the next step's prompt.

    Old screenshots are dropped, not kept: each step's screenshot sits at the end, so
    when it becomes old it is simply not there in the next prompt and nothing cached
    before it is lost. With the default of one screenshot a step prefills its new
    history line, its screenshot and about 30 words (``scripts/bench_model.py``
    measures it: the same count as keeping every screenshot, whose context would grow
    by a whole screenshot per step, 2040 tokens at 1080p, so step 50 would attend over
    100 000 tokens). Interleaving screenshots with the history lines and replacing old
    ones by a placeholder every K steps would only pay where more than one screenshot
    is kept; with ``screenshots=k`` every step re-prefills the k kept screenshots.

    ``marks`` (``--marks``): the numbered list of the elements drawn on the newest
    screenshot, one "7: push button 'Save'" a line; it is this step's alone, so it goes
    in the tail, after the screenshot.
    """
    settings = settings or PromptSettings()
    if not screenshots:
        raise ValueError("a step needs at least the current screenshot")
    kept = list(screenshots)[-max(1, settings.screenshots) :]
    # The stable head: the task and the rules, the same for the whole run.
    head = f"The user's task: {task}\n\n{guidance(frame)}\n"
    if settings.marks:
        head += f"{MARKS_GUIDANCE}\n"
    lines = history_lines(steps, settings)
    if lines:
        # Appended to, never rewritten (except at hidden_steps' compaction points).
        head += "\nTask progress (steps you have taken):\n" + "".join(f"{line}\n" for line in lines)
    shown = (
        "The screenshot shows the screen now."
        if len(kept) == 1
        else f"The {len(kept)} screenshots are oldest first; the last one shows the screen now."
    )
    # The tail is this step's alone: it follows the screenshot, which is new every step.
    tail = f"\n{shown}"
    if settings.marks:
        tail += f"\nNumbered elements:\n{marks}" if marks else "\nNo element is numbered on this screenshot."
    if feedback:
        tail += f"\nNote: {_clip(feedback, settings.max_note_chars)}"
    parts: list[dict[str, Any]] = [{"type": "text", "text": head}]
    parts.extend({"type": "image", "image": image} for image in kept)
    parts.append({"type": "text", "text": tail})
    messages = [
        {"role": "system", "content": [{"type": "text", "text": SYSTEM_TEXT}]},
        {"role": "user", "content": parts},
    ]
    return ChatRequest(
        messages=messages,
        tools=[computer_use_tool(frame, marks=settings.marks)],
        max_new_tokens=settings.max_new_tokens,
        max_pixels=settings.max_pixels,
        min_pixels=settings.min_pixels,
    )

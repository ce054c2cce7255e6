"""Model text → the actions it calls for (model space), or a precise reason it cannot.

Accepted shapes, in order of preference:
  1. ``<tool_call>{...}</tool_call>`` blocks (Hermes style, what Qwen3-VL emits), any
     number of them, with prose or a ``Thought:``/``Action:`` preamble around them;
     the last block may miss its closing tag (generation stopped on it);
  2. fenced code blocks (```json ... ```) holding a call;
  3. a bare JSON object that is a call.
A call is ``{"name": "computer_use", "arguments": {...}}`` (arguments may be a JSON
string, as OpenAI servers send it), the arguments object itself (``{"action": ...}``),
or the ``{"action_type": ..., "coordinates": [...]}`` shape of older prompts.

Coordinates are never scraped out of prose: text without a call parses to no actions
and a reason. Anything malformed raises ``ReplyError`` whose message says exactly what
is wrong; that message is fed back to the model, so it is written for it too.
One deliberate leniency: trailing commas before ``}``/``]`` are dropped, since that
is a common slip of small models and the intent is unambiguous.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from agent.actions import ACTION_ADAPTER, ACTION_NAMES, Action
from agent.errors import ReplyError

TOOL_NAME = "computer_use"
_OPEN, _CLOSE = "<tool_call>", "</tool_call>"
_FENCE = re.compile(r"```[ \t]*([A-Za-z_]*)[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_NUMBER = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$")
_POINT_STRING = re.compile(r"^\s*[\[(]?\s*([^,\s\[\]()]+)\s*,\s*([^,\s\[\]()]+)\s*[\])]?\s*$")

# The older "action_type" prompt shape, mapped onto computer_use names.
_ACTION_TYPE_ALIASES = {
    "click": "left_click",
    "tap": "left_click",
    "left_click": "left_click",
    "right_click": "right_click",
    "middle_click": "middle_click",
    "double_click": "double_click",
    "double_tap": "double_click",
    "triple_click": "triple_click",
    "move": "mouse_move",
    "hover": "mouse_move",
    "mouse_move": "mouse_move",
    "drag": "left_click_drag",
    "left_click_drag": "left_click_drag",
    "type": "type",
    "input_text": "type",
    "type_text": "type",
    "key": "key",
    "press": "key",
    "hotkey": "key",
    "press_key": "key",
    "keypress": "key",
    "scroll": "scroll",
    "hscroll": "hscroll",
    "wait": "wait",
    "terminate": "terminate",
    "answer": "answer",
}


@dataclass(frozen=True)
class ParsedReply:
    """What a reply asks for: actions in model space, plus the prose around them."""

    actions: tuple[Action, ...]
    thought: str
    no_action_reason: str | None = None


def parse_reply(text: str) -> ParsedReply:
    """Parse one model reply; raise ``ReplyError`` when a call is present but unusable."""
    blocks, thought = _extract_blocks(text)
    if not blocks:
        reason = "the reply contains no tool call" if text.strip() else "the reply is empty"
        return ParsedReply(actions=(), thought=thought, no_action_reason=reason)
    actions: list[Action] = []
    for raw in blocks:
        for call in _decode_calls(raw, index=len(actions) + 1):
            actions.append(_to_action(call, index=len(actions) + 1))
    return ParsedReply(actions=tuple(actions), thought=thought)


def _extract_blocks(text: str) -> tuple[list[str], str]:
    if _OPEN in text:
        blocks: list[str] = []
        prose: list[str] = []
        rest = text
        while _OPEN in rest:
            before, _, after = rest.partition(_OPEN)
            prose.append(before)
            ends = [i for i in (after.find(_CLOSE), after.find(_OPEN)) if i >= 0]
            end = min(ends) if ends else len(after)
            blocks.append(after[:end])
            rest = after[end:]
            if rest.startswith(_CLOSE):
                rest = rest[len(_CLOSE) :]
        prose.append(rest.replace(_CLOSE, ""))
        return blocks, _clean_prose("".join(prose))

    fenced = [m for m in _FENCE.finditer(text) if m.group(2).lstrip().startswith(("{", "["))]
    if fenced:
        prose_text = _FENCE.sub("", text)
        return [m.group(2) for m in fenced], _clean_prose(prose_text)

    stripped = text.strip()
    if stripped.startswith("{"):
        return [stripped], ""
    for match in re.finditer(r"\{", text):
        try:
            obj, end = json.JSONDecoder().raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(obj, dict) and _looks_like_call(obj):
            return [text[match.start() : end]], _clean_prose(text[: match.start()] + text[end:])
    return [], _clean_prose(text)


def _looks_like_call(obj: dict[str, Any]) -> bool:
    return "action" in obj or "action_type" in obj or ("name" in obj and "arguments" in obj)


def _clean_prose(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows here")


def _strip_trailing_commas(src: str) -> str:
    out: list[str] = []
    in_string = escaped = False
    for i, ch in enumerate(src):
        if in_string:
            escaped = ch == "\\" and not escaped
            if ch == '"' and not escaped:
                in_string = False
            out.append(ch)
            continue
        if ch == '"':
            in_string = True
        elif ch == ",":
            nxt = src[i + 1 :].lstrip()[:1]
            if nxt in ("}", "]"):
                continue
        out.append(ch)
    return "".join(out)


def _decode_calls(raw: str, index: int) -> list[dict[str, Any]]:
    body = raw.strip()
    fence = _FENCE.fullmatch(body)
    if fence:
        body = fence.group(2).strip()
    if not body:
        raise ReplyError(f"tool call {index} is empty")
    body = _strip_trailing_commas(body)
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    calls: list[dict[str, Any]] = []
    pos = 0
    while pos < len(body):
        try:
            obj, pos = decoder.raw_decode(body, pos)
        except ValueError as err:
            detail = err.msg if isinstance(err, json.JSONDecodeError) else str(err)
            raise ReplyError(
                f"tool call {index + len(calls)} is not valid JSON ({detail}); "
                'write {"name": "computer_use", "arguments": {...}}'
            ) from None
        items = obj if isinstance(obj, list) else [obj]
        for item in items:
            if not isinstance(item, dict):
                raise ReplyError(f"tool call {index + len(calls)} must be a JSON object")
            calls.append(item)
        while pos < len(body) and body[pos] in " \t\r\n,":
            pos += 1
    return calls


def _to_action(call: dict[str, Any], index: int) -> Action:
    where = f"tool call {index}"
    if "name" in call:
        if call["name"] != TOOL_NAME:
            raise ReplyError(f"{where}: unknown function {call['name']!r}; use {TOOL_NAME!r}")
        args = call.get("arguments", call.get("parameters"))
        if isinstance(args, str):
            try:
                args = json.loads(_strip_trailing_commas(args), parse_constant=_reject_constant)
            except ValueError:
                raise ReplyError(f"{where}: 'arguments' is not valid JSON") from None
        if not isinstance(args, dict):
            raise ReplyError(f"{where}: 'arguments' must be a JSON object")
    elif "action_type" in call:
        args = _from_action_type(call, where)
    elif "action" in call:
        args = dict(call)
    else:
        raise ReplyError(f"{where}: no 'name' or 'action' field")

    name = args.get("action")
    if not isinstance(name, str) or not name:
        raise ReplyError(f"{where}: missing required argument 'action'")
    if name not in ACTION_NAMES:
        raise ReplyError(f"{where}: unknown action {name!r}; expected one of {', '.join(ACTION_NAMES)}")
    if "coordinate" in args and args["coordinate"] is not None:
        args["coordinate"] = _coerce_point(args["coordinate"], where)
    try:
        return ACTION_ADAPTER.validate_python(args)
    except ValidationError as err:
        raise ReplyError(f"{where}: {_describe(err, name)}") from None


def _from_action_type(call: dict[str, Any], where: str) -> dict[str, Any]:
    kind = call["action_type"]
    mapped = _ACTION_TYPE_ALIASES.get(str(kind).lower())
    if mapped is None:
        raise ReplyError(f"{where}: unknown action {kind!r}; expected one of {', '.join(ACTION_NAMES)}")
    args: dict[str, Any] = {"action": mapped}
    for key, value in call.items():
        if key == "action_type":
            continue
        target = {"coordinates": "coordinate", "key": "keys"}.get(key, key)
        args[target] = value
    return args


def _coerce_point(value: Any, where: str) -> tuple[float, float]:
    items: Any = value
    if isinstance(value, str):
        match = _POINT_STRING.match(value)
        items = [match.group(1), match.group(2)] if match else None
    if not isinstance(items, list | tuple) or len(items) != 2:
        raise ReplyError(f"{where}: 'coordinate' must be two numbers [x, y], got {value!r}")
    out: list[float] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int | float | str):
            raise ReplyError(f"{where}: 'coordinate' must be two numbers [x, y], got {value!r}")
        if isinstance(item, str):
            if not _NUMBER.match(item):
                raise ReplyError(f"{where}: 'coordinate' must be two numbers [x, y], got {value!r}")
            item = float(item)
        out.append(float(item))
    return (out[0], out[1])


def _describe(err: ValidationError, action: str) -> str:
    parts: list[str] = []
    for item in err.errors():
        loc = [str(p) for p in item["loc"] if p != action]
        field = loc[0] if loc else "arguments"
        if item["type"] == "missing":
            parts.append(f"{action} needs argument '{field}'")
        elif item["type"] == "extra_forbidden":
            parts.append(f"{action} takes no argument '{field}'")
        else:
            msg = item["msg"].removeprefix("Value error, ")
            parts.append(f"{action} argument '{field}': {msg}")
    return "; ".join(parts)

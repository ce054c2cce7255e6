"""Model text → the action it calls for (model space), or a precise reason it cannot.

Accepted shapes, in order of preference:
  1. ``<tool_call>{...}</tool_call>`` blocks (Hermes style, what Qwen3-VL emits), with
     prose or a ``Thought:``/``Action:`` preamble around them; the last block may miss
     its closing tag (generation stopped on it);
  2. fenced code blocks (```json ... ```) holding a call;
  3. a bare JSON object that is a call.
A call is ``{"name": "computer_use", "arguments": {...}}`` (arguments may be a JSON
string, as OpenAI servers send it), the arguments object itself (``{"action": ...}``),
or the seed guide's ``{"action_type": ..., "element_description": ..., "coordinates":
[...], "text": ..., "scroll_amount": ...}`` shape.

One call per answer: only the first call is turned into an action, whatever the
backend (the local one stops generating at the first ``</tool_call>``; a server may
return more). Later calls are counted in ``ParsedReply.ignored_calls`` and never parsed.

Coordinates are never scraped out of prose: text without a call parses to no actions
and a reason, and so does JSON that is not a call (``{"bbox_2d": ...}``). Anything
malformed raises ``ReplyError`` whose one-line message says exactly what is wrong;
that message is fed back to the model, so it is written for it too. One deliberate
leniency: trailing commas before ``}``/``]`` are dropped, since that is a common slip
of small models and the intent is unambiguous.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from agent.actions import ACTION_ADAPTER, ACTION_MODELS, ACTION_NAMES, CLICK_NAMES, Action
from agent.errors import DescriptionOnlyError, ReplyError

TOOL_NAME = "computer_use"
_OPEN, _CLOSE = "<tool_call>", "</tool_call>"
_FENCE = re.compile(r"```[ \t]*([A-Za-z_]*)[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_NUMBER = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$")
_POINT_STRING = re.compile(r"^\s*[\[(]?\s*([^,\s\[\]()]+)\s*,\s*([^,\s\[\]()]+)\s*[\])]?\s*$")
# Broken JSON that was meant as a call (so its error is worth reporting) names one of these.
_CALL_KEY = re.compile(r'"(?:name|action|action_type)"\s*:')
# How many "{" of a reply without tags or fences are tried as the start of a call: bounds
# the work on long prose full of braces (each try can read to the end of the text).
_MAX_BARE_STARTS = 64

# The seed guide's "action_type" names (and common variants), mapped onto computer_use.
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
# The seed guide's field names, as computer_use names them.
_ACTION_TYPE_FIELDS = {"coordinates": "coordinate", "key": "keys", "scroll_amount": "pixels"}
_POINTED = CLICK_NAMES | {"mouse_move", "left_click_drag"}


@dataclass(frozen=True)
class ParsedReply:
    """What a reply asks for: at most one action in model space, and the prose around it."""

    actions: tuple[Action, ...]
    thought: str
    no_action_reason: str | None = None
    # Calls after the first: not carried out (one call per answer), worth telling the model.
    ignored_calls: int = 0


def parse_reply(text: str) -> ParsedReply:
    """Parse one model reply; raise ``ReplyError`` when a call is present but unusable."""
    blocks, thought, why_not = _extract_blocks(text)
    if not blocks:
        reason = why_not or ("the reply contains no tool call" if text.strip() else "the reply is empty")
        return ParsedReply(actions=(), thought=thought, no_action_reason=reason)
    calls = _decode_calls(blocks[0])
    action = _to_action(calls[0], where="tool call 1")
    return ParsedReply(actions=(action,), thought=thought, ignored_calls=len(calls) - 1 + len(blocks) - 1)


def _extract_blocks(text: str) -> tuple[list[str], str, str | None]:
    """(call texts, the prose around them, why there is no call when there is none)."""
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
        return blocks, _clean_prose("".join(prose)), None

    fenced = [m for m in _FENCE.finditer(text) if m.group(2).lstrip().startswith(("{", "["))]
    kinds = [_classify(m.group(2)) for m in fenced]
    if any(kind != "other" for kind in kinds):
        prose_text = _FENCE.sub("", text)
        blocks = [m.group(2) for m, kind in zip(fenced, kinds, strict=True) if kind != "other"]
        return blocks, _clean_prose(prose_text), None

    # The trailing-comma repair runs over the whole text here, so a bare call keeps that leniency.
    repaired = _strip_trailing_commas(text)
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    found_json = bool(fenced)
    tried = skip_until = 0
    for match in re.finditer(r"\{", repaired):
        if match.start() < skip_until:
            continue  # inside JSON that is not a call: a call is never dug out of one
        tried += 1
        if tried > _MAX_BARE_STARTS:
            break
        try:
            obj, end = decoder.raw_decode(repaired, match.start())
        except (ValueError, RecursionError):
            continue
        if isinstance(obj, dict):
            if _looks_like_call(obj):
                around = repaired[: match.start()] + repaired[end:]
                return [repaired[match.start() : end]], _clean_prose(around), None
            found_json, skip_until = True, end
    stripped = text.strip()
    if stripped.startswith("{") and _classify(stripped) == "attempt":
        return [stripped], "", None  # meant as a call but broken: report what is wrong with it
    if found_json:
        return (
            [],
            _clean_prose(text),
            (
                "the reply contains no tool call (its JSON has no 'name' or 'action' field); "
                'call {"name": "computer_use", "arguments": {"action": ...}}'
            ),
        )
    return [], _clean_prose(text), None


def _classify(src: str) -> Literal["call", "attempt", "other"]:
    """Whether JSON text outside tool-call tags is a call, a broken call, or something else."""
    body = _strip_trailing_commas(src.strip())
    try:
        obj, _ = json.JSONDecoder(parse_constant=_reject_constant).raw_decode(body)
    except (ValueError, RecursionError):
        return "attempt" if _CALL_KEY.search(body) else "other"
    first = obj[0] if isinstance(obj, list) and obj else obj
    return "call" if isinstance(first, dict) and _looks_like_call(first) else "other"


def _looks_like_call(obj: dict[str, Any]) -> bool:
    return "action" in obj or "action_type" in obj or ("name" in obj and "arguments" in obj)


def _clean_prose(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows here")


def _strip_trailing_commas(src: str) -> str:
    out: list[str] = []
    in_string = escaped = False
    length = len(src)
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
            j = i + 1
            while j < length and src[j].isspace():
                j += 1
            if j < length and src[j] in "}]":
                continue
        out.append(ch)
    return "".join(out)


def _decode_calls(raw: str) -> list[dict[str, Any]]:
    """The JSON objects in one call block (one, normally); at least one or ``ReplyError``."""
    body = raw.strip()
    fence = _FENCE.fullmatch(body)
    if fence:
        body = fence.group(2).strip()
    if not body:
        raise ReplyError("tool call 1 is empty")
    body = _strip_trailing_commas(body)
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    calls: list[dict[str, Any]] = []
    pos = 0
    while pos < len(body):
        try:
            obj, pos = decoder.raw_decode(body, pos)
        except RecursionError:
            if calls:
                break
            raise ReplyError("tool call 1 is nested too deeply to be a call") from None
        except ValueError as err:
            if calls:
                break  # the first call is whole; what follows it is not carried out anyway
            detail = err.msg if isinstance(err, json.JSONDecodeError) else str(err)
            raise ReplyError(
                f"tool call 1 is not valid JSON ({detail}); "
                'write {"name": "computer_use", "arguments": {...}}'
            ) from None
        items = obj if isinstance(obj, list) else [obj]
        for item in items:
            if not isinstance(item, dict):
                if calls:
                    break
                raise ReplyError("tool call 1 must be a JSON object")
            calls.append(item)
        while pos < len(body) and body[pos] in " \t\r\n,":
            pos += 1
    if not calls:
        raise ReplyError("tool call 1 is empty")
    return calls


def _to_action(call: dict[str, Any], where: str) -> Action:
    if "name" in call:
        if call["name"] != TOOL_NAME:
            raise ReplyError(f"{where}: unknown function {_shown(call['name'])}; use {TOOL_NAME!r}")
        args = call.get("arguments", call.get("parameters"))
        if isinstance(args, str):
            try:
                args = json.loads(_strip_trailing_commas(args), parse_constant=_reject_constant)
            except (ValueError, RecursionError):
                raise ReplyError(f"{where}: 'arguments' is not valid JSON") from None
        if not isinstance(args, dict):
            raise ReplyError(f"{where}: 'arguments' must be a JSON object")
        args = dict(args)
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
        raise ReplyError(f"{where}: unknown action {_shown(name)}; expected one of {', '.join(ACTION_NAMES)}")
    if "coordinate" in args and args["coordinate"] is not None:
        args["coordinate"] = _coerce_point(args["coordinate"], where)
    try:
        return ACTION_ADAPTER.validate_python(args)
    except ValidationError as err:
        raise ReplyError(f"{where}: {_describe(err, name)}") from None
    except RecursionError:
        raise ReplyError(f"{where}: an argument is nested too deeply") from None


def _from_action_type(call: dict[str, Any], where: str) -> dict[str, Any]:
    """The seed guide's shape as computer_use arguments, every one of its fields understood.

    Its answers list every field, the unused ones empty (``"text": ""``,
    ``"scroll_amount": 0``, ``"coordinates": null``): those are dropped. A click without
    coordinates means "find the described element", which Deskpilot never does from a
    description alone, so it is refused rather than sent to wherever the pointer is.
    """
    kind = call["action_type"]
    mapped = _ACTION_TYPE_ALIASES.get(str(kind).lower()) if isinstance(kind, str) else None
    if mapped is None:
        raise ReplyError(f"{where}: unknown action {_shown(kind)}; expected one of {', '.join(ACTION_NAMES)}")
    fields = ACTION_MODELS[mapped].model_fields
    args: dict[str, Any] = {"action": mapped}
    for key, value in call.items():
        if key == "action_type":
            continue
        target = _ACTION_TYPE_FIELDS.get(key, key)
        if target not in fields and (value is None or value == "" or value == 0 or value == []):
            continue
        args[target] = value
    if mapped in _POINTED and args.get("coordinate") is None and args.get("element") is None:
        about = args.get("element_description")
        named = f" of {_shown(about)}" if isinstance(about, str) and about else ""
        message = f"{where}: {kind} needs 'coordinates' [x, y]{named}"
        if isinstance(about, str) and about.strip():
            # Never clicked blind at the pointer: a planner with a locator grounds it.
            raise DescriptionOnlyError(message, mapped, about.strip())
        raise ReplyError(f"{message}; an element is never looked for by its description alone")
    if mapped == "type" and args.get("coordinate") is not None:
        raise ReplyError(
            f"{where}: type takes no 'coordinates'; click the field first (one action), then type"
        )
    return args


def _coerce_point(value: Any, where: str) -> tuple[float, float]:
    bad = f"{where}: 'coordinate' must be two numbers [x, y], got {_shown(value)}"
    items: Any = value
    if isinstance(value, str):
        match = _POINT_STRING.match(value)
        items = [match.group(1), match.group(2)] if match else None
    if not isinstance(items, list | tuple) or len(items) != 2:
        raise ReplyError(bad)
    out: list[float] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int | float | str):
            raise ReplyError(bad)
        if isinstance(item, str) and not _NUMBER.match(item):
            raise ReplyError(bad)
        try:
            out.append(float(item))
        except OverflowError:  # an integer with hundreds of digits
            raise ReplyError(f"{where}: 'coordinate' values are far outside any screen") from None
    return (out[0], out[1])


def _shown(value: Any, limit: int = 60) -> str:
    """A value from the reply quoted for a message: repr, one line, and short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(err: ValidationError, action: str) -> str:
    parts: list[str] = []
    for item in err.errors():
        loc = [str(p) for p in item["loc"] if p != action]
        field = loc[0] if loc else "arguments"
        if item["type"] == "missing":
            parts.append(f"{action} needs argument '{field}'")
        elif item["type"] == "extra_forbidden":
            parts.append(f"{action} takes no argument {_shown(field)}")
        else:
            msg = " ".join(item["msg"].removeprefix("Value error, ").split())
            # A check across arguments (coordinate or element) names no one field.
            parts.append(f"{action} argument '{field}': {msg}" if loc else f"{action}: {msg}")
    return "; ".join(parts)

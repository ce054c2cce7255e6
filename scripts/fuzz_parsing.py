"""Property-based fuzzer for model reply → action → screen point (issue 9, section 4).

    .venv/bin/python scripts/fuzz_parsing.py                 # 100,000 replies
    .venv/bin/python scripts/fuzz_parsing.py --examples 5000 --no-write

Replies are mutations of real Qwen3-VL outputs (tool-call tags with a Thought line,
fenced JSON, bare JSON, the seed guide's shape, OpenAI string arguments): truncated,
with wrong types, huge and negative numbers, NaN and infinities, deep nesting,
unicode, several calls, junk around the tags. Each goes through
``parse_reply`` → ``to_screen_action`` on an assorted capture (negative origins,
HiDPI) and the property is checked:

  * the only exceptions are the documented ``ReplyError`` and ``ActionError``
    (``OffGridError``, ``OffScreenError``) family, each with a one-line message;
  * every action that comes out lies on the captured monitor, with bounded text,
    wait, scroll and keys, and serialises to plain JSON and to words.

Prints a table, writes docs/fuzz_parsing.json and its section of docs/benchmarks.md.
tests/test_fuzz_parsing.py runs the same property on a few thousand replies.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import seed as fixed_seed  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from agent.actions import (  # noqa: E402
    ACTION_NAMES,
    MAX_DESCRIPTION_CHARS,
    MAX_KEYS,
    MAX_SCROLL,
    MAX_TEXT_CHARS,
    MAX_WAIT_SECONDS,
    Answer,
    HScroll,
    Key,
    Scroll,
    Type,
    Wait,
)
from agent.computer_use.parsing import parse_reply  # noqa: E402
from agent.errors import ActionError, ReplyError  # noqa: E402
from agent.geometry import CaptureGeometry, Region  # noqa: E402
from agent.keys import KEY_NAMES  # noqa: E402
from agent.scaling import FrameKind, ModelFrame, to_screen_action  # noqa: E402
from agent.wording import describe_action  # noqa: E402

JSON_OUT = Path(__file__).resolve().parent.parent / "docs" / "fuzz_parsing.json"

# -- captures: where the reply is mapped -------------------------------------------

_MONITORS = [
    (0, 0, 1920, 1080),
    (-1920, 0, 1920, 1080),  # left of the primary
    (0, -1440, 2560, 1440),  # above it
    (-1280, -1024, 1280, 1024),
    (1920, 0, 3840, 2160),
    (0, 0, 1366, 768),
    (0, 0, 800, 600),
    (-3440, 200, 3440, 1440),
    (0, 0, 1, 1),
]
_SCALES = [1.0, 1.25, 1.5, 2.0, 0.5]


@st.composite
def captures(draw: st.DrawFn) -> CaptureGeometry:
    if draw(st.booleans()):
        left, top, width, height = draw(st.sampled_from(_MONITORS))
    else:
        # Any place and size, within the 200:1 aspect ratio the Qwen processors accept
        # (ModelFrame refuses a thinner capture with a ConfigError before any reply is read).
        left, top = draw(st.integers(-10000, 10000)), draw(st.integers(-10000, 10000))
        width = draw(st.integers(1, 8000))
        height = draw(st.integers(max(1, -(-width // 100)), min(5000, width * 100)))
    scale = draw(st.sampled_from(_SCALES))
    region = Region(left, top, width, height)
    return CaptureGeometry(region, max(1, round(width * scale)), max(1, round(height * scale)))


# -- values a model (or a broken one) writes ---------------------------------------

_NUMBER_TEXT = [
    "NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e308", "-0.0", "0", "1000", "1000.0000001",
    "999.5", "-1", "2.5", "-2.5", "1e-320", "9" * 400, "-" + "9" * 5000, "0.5", "12345678901234567890",
]
_STRINGS = [
    "", " ", "512", "512, 300", "[512, 300]", "(1,2)", "inf", "nan", "1e999", "ctrl+alt+delete", "Return",
    "打开浏览器", "héllo", "\x1b[2J", "a\nb", "\u202e", "\ud7ff", "🙂" * 3, "</tool_call>", "<tool_call>",
    '"', "\\", "{", "}", "x" * 4001, "Save button",
]


def raw(text: str) -> Any:
    """A JSON token written as is (NaN, 1e400, 400-digit ints): json.dumps cannot make them all."""
    return _Raw(text)


class _Raw:
    def __init__(self, text: str) -> None:
        self.text = text


def dump(value: Any) -> str:
    """JSON text for ``value``, where ``_Raw`` pieces are pasted verbatim."""
    if isinstance(value, _Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)}: {dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(dump(v) for v in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return json.dumps(value, ensure_ascii=False)


# Wider integers come as raw text (a 400-digit literal): json.dumps refuses ints past 4300 digits.
scalars = st.one_of(
    st.integers(-(10**6), 10**6),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(_NUMBER_TEXT).map(raw),
    st.booleans(),
    st.none(),
    st.sampled_from(_STRINGS),
    st.text(max_size=30),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
numbers = st.one_of(
    st.integers(-50, 1100),
    st.floats(-50, 1100),
    st.sampled_from(_NUMBER_TEXT).map(raw),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["512", "3.5", "inf", "-7", "1e3", " 12 "]),
)
points = st.one_of(
    st.tuples(numbers, numbers).map(list),
    st.tuples(st.integers(0, 1000), st.integers(0, 1000)).map(list),  # well-formed, on the grid
    st.lists(numbers, max_size=4),
    st.sampled_from(["[512, 300]", "(10, 20)", "512,300", "[1, 2, 3]", "", "left"]),
    values,
)
key_lists = st.one_of(
    st.lists(st.sampled_from(sorted(KEY_NAMES) + ["control", "cmd", "Return", "ESC", "hyper", "ü", "ctrl+alt+t"]), max_size=10),
    st.sampled_from(["ctrl+s", "enter", "", "shift+ctrl+alt+delete"]),
    values,
)


@st.composite
def arguments(draw: st.DrawFn) -> dict[str, Any]:
    """computer_use arguments: a plausible action with some fields right, some wrong, some extra."""
    name = draw(st.sampled_from(ACTION_NAMES) | st.sampled_from(["click", "fly_to", "", "LEFT_CLICK"]) | values)
    args: dict[str, Any] = {"action": name}
    fields = draw(st.integers(0, 1023))  # which fields are present: one draw instead of ten
    if fields & 1:
        args["coordinate"] = draw(points)
    if fields & 2:
        args["text"] = draw(st.sampled_from(_STRINGS) | st.text(max_size=50) | values)
    if fields & 4:
        args["keys"] = draw(key_lists)
    if fields & 8:
        args["pixels"] = draw(numbers | values)
    if fields & 16:
        args["time"] = draw(numbers | values)
    if fields & 32:
        args["status"] = draw(st.sampled_from(["success", "failure", "maybe", ""]) | values)
    if fields & 64 and fields & 128:
        args[draw(st.text(min_size=1, max_size=12))] = draw(values)
    if fields & 256 and fields & 2:
        args["element_description"] = draw(st.sampled_from(_STRINGS) | values)
    if fields & 512 and fields & 1:
        args.pop("action")
    return args


_GRID = st.one_of(
    st.integers(0, 1000),
    st.floats(0, 1000),
    st.sampled_from([0, 999, 999.5, 1000, 1000.0, -0.0, 1000.001, -1, 1001, 2530]),
)


@st.composite
def good_arguments(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed call of every kind (edges of the grid included), the bulk of real output."""
    name = draw(st.sampled_from(ACTION_NAMES))
    args: dict[str, Any] = {"action": name}
    if name in ("mouse_move", "left_click_drag") or (
        name.endswith("click") and draw(st.integers(0, 4)) > 0
    ) or (name in ("scroll", "hscroll") and draw(st.booleans())):
        args["coordinate"] = [draw(_GRID), draw(_GRID)]
    if name in ("type", "answer"):
        args["text"] = draw(st.text(min_size=1, max_size=80) | st.sampled_from(_STRINGS))
    if name == "key":
        args["keys"] = draw(st.lists(st.sampled_from(sorted(KEY_NAMES) + ["Return", "control"]), min_size=1, max_size=4))
    if name in ("scroll", "hscroll"):
        args["pixels"] = draw(st.integers(-20, 20) | st.floats(-1000.4, 1000.4))
    if name == "wait":
        args["time"] = draw(st.floats(0, 60) | st.integers(0, 61))
    if name == "terminate":
        args["status"] = draw(st.sampled_from(["success", "failure"]))
    if draw(st.integers(0, 5)) == 0:
        args["element_description"] = draw(st.text(max_size=40))
    return args


@st.composite
def seed_calls(draw: st.DrawFn) -> dict[str, Any]:
    """The seed guide's shape: action_type, element_description, coordinates, text, scroll_amount."""
    call: dict[str, Any] = {
        "action_type": draw(
            st.sampled_from(["click", "double_click", "right_click", "type", "scroll", "drag", "tap", "launch"]) | values
        )
    }
    fields = draw(st.integers(0, 15))
    for bit, (key, strategy) in enumerate(
        (
            ("element_description", st.sampled_from(_STRINGS) | values),
            ("coordinates", points | st.none()),
            ("text", st.sampled_from(_STRINGS) | values),
            ("scroll_amount", numbers | st.just(0)),
        )
    ):
        if fields >> bit & 1:
            call[key] = draw(strategy)
    return call


@st.composite
def call_json(draw: st.DrawFn) -> str:
    shape = draw(st.sampled_from(["hermes", "hermes", "hermes", "string_args", "bare_args", "seed", "wrong_name", "list"]))
    if shape == "seed":
        return dump(draw(seed_calls()))
    args = draw(good_arguments() | good_arguments() | arguments())
    if shape == "bare_args":
        return dump(args)
    if shape == "string_args":  # OpenAI servers send arguments as a JSON string
        return dump({"name": "computer_use", "arguments": dump(args)})
    if shape == "list":
        return dump([{"name": "computer_use", "arguments": args}, {"name": "computer_use", "arguments": draw(arguments())}])
    name = "computer_use" if shape == "hermes" else draw(st.sampled_from(["browser", "", "Computer_Use"]) | values)
    return dump({"name": name, "arguments": args})


_JUNK = ["", "\n", "Thought: the button is at the top.\n", "Action: click Save.\n", "```", "```json\n",
         "<tool_call>", "</tool_call>", "<|im_end|>", "{", "}", "[", ",", '"', "好的。", "\x00", "\ufeff"]


@st.composite
def replies(draw: st.DrawFn) -> str:
    """A whole reply: one or more calls in some wrapping, then mutated as text."""
    calls = draw(st.lists(call_json(), min_size=1, max_size=3))
    wrapping = draw(st.sampled_from(["tags", "tags", "tags", "fence", "bare", "prose_bare", "unclosed"]))
    if wrapping == "tags":
        body = "\n".join(f"<tool_call>\n{c}\n</tool_call>" for c in calls)
    elif wrapping == "unclosed":
        body = "".join(f"<tool_call>\n{c}" for c in calls)
    elif wrapping == "fence":
        body = "\n".join(f"```json\n{c}\n```" for c in calls)
    elif wrapping == "bare":
        body = calls[0]
    else:
        body = f"Sure, I will do that: {calls[0]} Done."
    text = draw(st.sampled_from(_JUNK)) + body + draw(st.sampled_from(_JUNK))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))):
        mutation = draw(st.sampled_from(["truncate", "insert", "delete", "nest", "duplicate"]))
        if not text:
            break
        at = draw(st.integers(0, len(text)))
        if mutation == "truncate":
            text = text[:at]
        elif mutation == "insert":
            text = text[:at] + draw(st.sampled_from(_JUNK) | st.text(max_size=8)) + text[at:]
        elif mutation == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 5)) :]
        elif mutation == "nest":
            depth = draw(st.sampled_from([3, 50, 999, 1001, 5000]))
            text = text[:at] + "[" * depth + "]" * depth + text[at:]
        else:
            text = text[:at] + text[max(0, at - 40) : at] + text[at:]
    return text


frames = st.sampled_from([k.value for k in FrameKind])


# -- the property -------------------------------------------------------------------


def check(text: str, capture: CaptureGeometry, frame_kind: str) -> str:
    """Run one reply through parse → scale and assert the property; returns the outcome's name."""
    try:
        reply = parse_reply(text)
    except ReplyError as err:
        _one_line(err)
        return "reply error"
    if not reply.actions:
        assert reply.no_action_reason, "no action and no reason"
        _one_line(reply.no_action_reason)
        return "no tool call"
    assert len(reply.actions) == 1, "more than one action from one reply"
    (action,) = reply.actions
    frame = ModelFrame.for_image(frame_kind, capture.image_width, capture.image_height)
    try:
        screen = to_screen_action(action, frame, capture)
    except ActionError as err:
        _one_line(err)
        return "off grid / off screen"
    if screen.screen_xy is not None:
        assert capture.region.contains(*screen.screen_xy), f"{screen.screen_xy} is off {capture.region}"
    inner = screen.action
    if isinstance(inner, Type | Answer):
        assert 1 <= len(inner.text) <= MAX_TEXT_CHARS
    if isinstance(inner, Wait):
        assert math.isfinite(inner.time) and 0 <= inner.time <= MAX_WAIT_SECONDS
    if isinstance(inner, Scroll | HScroll):
        assert isinstance(inner.pixels, int) and -MAX_SCROLL <= inner.pixels <= MAX_SCROLL
    if isinstance(inner, Key):
        assert 1 <= len(inner.keys) <= MAX_KEYS and set(inner.keys) <= KEY_NAMES
    if inner.element_description is not None:
        assert len(inner.element_description) <= MAX_DESCRIPTION_CHARS
    # What history, macros and the overlay do with it must work too.
    json.dumps(screen.to_json_dict(), allow_nan=False)
    words = describe_action(screen.to_json_dict())
    assert words and "\n" not in words
    return "action"


def _one_line(message: object) -> None:
    text = str(message)
    assert text and "\n" not in text and "\r" not in text, f"message is not one line: {text!r}"


def run(examples: int, seed: int | None = None, batch: int = 10_000) -> tuple[Counter[str], float]:
    """``examples`` replies through the property, in fresh hypothesis runs of ``batch`` each
    (one engine's bookkeeping grows with every example it has seen)."""
    outcomes: Counter[str] = Counter()
    started, cpu_started = time.perf_counter(), time.process_time()
    left, number = examples, 0
    while left > 0:
        size = min(batch, left)

        @settings(max_examples=size, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(text=replies(), capture=captures(), frame_kind=frames)
        def fuzz(text: str, capture: CaptureGeometry, frame_kind: str) -> None:
            outcomes[check(text, capture, frame_kind)] += 1

        if seed is not None:  # a repeatable run: each batch its own fixed seed
            fuzz = fixed_seed(seed + number)(fuzz)
        fuzz()
        left -= size
        number += 1
    seconds = time.perf_counter() - started
    # On a shared machine the wall time says little; the CPU time says what it costs.
    outcomes["_cpu_seconds"] = round(time.process_time() - cpu_started)
    return outcomes, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=None, help="a fixed seed, for a repeatable run")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args()
    if args.examples < 1:
        parser.error("--examples must be at least 1")

    from benchlib import machine, table, write_json, write_section

    outcomes, seconds = run(args.examples, args.seed)
    cpu = outcomes.pop("_cpu_seconds")
    total = sum(outcomes.values())
    rows = [[name, count, f"{100 * count / total:.1f}%"] for name, count in outcomes.most_common()]
    rows.append(["total", total, "100%"])
    summary = table(["outcome", "replies", "share"], rows)
    result = "passed: no other exception, every action on the captured monitor and bounded"
    sys.stdout.write(f"{summary}\n\n{total} replies in {seconds:.1f} s ({cpu} s of CPU): {result}\n")
    if args.no_write:
        return 0
    write_json(
        JSON_OUT,
        {
            "machine": machine(),
            "examples": total,
            "seconds": round(seconds, 2),
            "cpu_seconds": cpu,
            "per_second": round(total / seconds),
            "outcomes": dict(outcomes.most_common()),
            "result": result,
        },
    )
    write_section(
        "fuzz_parsing",
        "\n".join(
            [
                "## Parsing: property-based fuzzing (`scripts/fuzz_parsing.py`)",
                "",
                f"Command: `.venv/bin/python scripts/fuzz_parsing.py --examples {args.examples}` on {machine()}; "
                "hypothesis-generated mutations of real replies (truncation, wrong types, huge and negative "
                "numbers, NaN and infinities, deep nesting, unicode, several calls, junk around the tags) "
                "through `parse_reply` → `to_screen_action` on assorted captures (negative origins, HiDPI).",
                "",
                summary,
                "",
                f"{total} replies in {seconds:.1f} s, {cpu} s of CPU time ({total / seconds:.0f} per second). "
                f"Property: {result}.",
            ]
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

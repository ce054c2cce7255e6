"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1 that answers from a script."""

from __future__ import annotations

import base64
import io
import json
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from PIL import Image

from agent.actions import LeftClick, Type
from agent.backends.base import ChatRequest
from agent.backends.openai import OpenAIBackend, parse_arguments
from agent.computer_use.parsing import parse_reply
from agent.errors import BackendError, ReplyError, StoppedError

MODEL = "Qwen/Qwen3-VL-8B-Instruct"
TOOL = {
    "type": "function",
    "function": {
        "name": "computer_use",
        "description": "Operate the computer.",
        "parameters": {
            "type": "object",
            "properties": {"action": {"type": "string"}},
            "required": ["action"],
        },
    },
}
CLICK_ARGS = '{"action": "left_click", "coordinate": [512, 300]}'
# How long a "slow" answer would take; no test may come near waiting for it.
SLOW_S = 30.0


@dataclass(frozen=True)
class Hold:
    """In a streamed answer: send nothing more for this long (or until the client leaves)."""

    seconds: float


@dataclass
class Answer:
    status: int = 200
    body: bytes | dict[str, Any] = b""
    delay_s: float = 0.0  # hold the answer this long, or until the server is torn down
    drop: bool = False  # close the connection without answering
    # A streamed answer: each item is one server-sent event's data (a dict is sent as
    # JSON, a str as is), or a Hold; the connection closes after the last one.
    events: list[dict[str, Any] | str | Hold] | None = None


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None


@dataclass
class ScriptedServer:
    """Answers each request with the next scripted ``Answer``; records what it received."""

    port: int = 0
    answers: list[Answer] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Set when a held answer sees the client close its end of the connection.
    client_gone: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *answers: Answer) -> None:
        self.answers.extend(answers)

    def take(self, received: Received) -> Answer:
        with self.lock:
            self.received.append(received)
            if self.answers:
                return self.answers.pop(0)
        return Answer(500, {"error": {"message": "the test scripted no answer for this request"}})


def chat(
    content: str | None = None, tool_calls: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        **extra,
    }


def tool_call(arguments: str, name: str = "computer_use") -> dict[str, Any]:
    return {"id": "call-1", "type": "function", "function": {"name": name, "arguments": arguments}}


def chunk(
    content: str | None = None,
    calls: list[dict[str, Any]] | None = None,
    finish: str | None = None,
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    """One streamed chat.completion.chunk, shaped as vLLM sends it."""
    delta: dict[str, Any] = {}
    if content is not None:
        delta["content"] = content
    if calls is not None:
        delta["tool_calls"] = calls
    choices = [{"index": 0, "delta": delta, "finish_reason": finish}] if usage is None else []
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": choices, "usage": usage}


def call_delta(arguments: str, name: str | None = None, index: int = 0) -> dict[str, Any]:
    function: dict[str, Any] = {"arguments": arguments}
    if name is not None:
        function["name"] = name
    return (
        {"index": index, "id": f"call-{index}", "type": "function", "function": function}
        if name
        else {"index": index, "function": function}
    )


def make_handler(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep pytest's output clean; the test inspects server.received instead

        def do_GET(self) -> None:
            self._answer(None)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            self._answer(json.loads(self.rfile.read(length)))

        def _answer(self, body: dict[str, Any] | None) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            answer = server.take(Received(self.command, self.path, headers, body))
            # Torn down while holding the answer, or told to: close without a word.
            self.close_connection = True
            if answer.drop or (answer.delay_s and self._hold(answer.delay_s)):
                return
            try:
                if answer.events is not None:
                    self._stream(answer)
                    return
                payload = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up (timeout or cancel); that is what some tests do

        def _stream(self, answer: Answer) -> None:
            self.send_response(answer.status)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.flush()
            assert answer.events is not None
            for event in answer.events:
                if isinstance(event, Hold):
                    if self._hold(event.seconds):
                        return
                    continue
                data = event if isinstance(event, str) else json.dumps(event)
                self.wfile.write(f"data: {data}\n\n".encode())
                self.wfile.flush()

        def _hold(self, seconds: float) -> bool:
            """Wait ``seconds``; True (stop answering) when torn down or the client closed."""
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                if server.release.is_set():
                    return True
                readable, _, _ = select.select([self.connection], [], [], 0.02)
                try:
                    gone = bool(readable) and not self.connection.recv(1, socket.MSG_PEEK)
                except OSError:  # reset by the client
                    gone = True
                if gone:
                    server.client_gone.set()
                    return True
            return False

    return Handler


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(scripted))
    scripted.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield scripted
    scripted.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def dead_url() -> Iterator[str]:
    """A port that is bound but not listening, so connecting is refused without races."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    sock.close()


def request(image: Image.Image | None = None, max_pixels: int = 1024 * 32 * 32) -> ChatRequest:
    parts: list[dict[str, Any]] = [{"type": "text", "text": "The user's task: open the menu\n"}]
    if image is not None:
        parts += [{"type": "text", "text": "Current screenshot:"}, {"type": "image", "image": image}]
    return ChatRequest(
        messages=[
            {"role": "system", "content": [{"type": "text", "text": "You are a helpful assistant."}]},
            {"role": "user", "content": parts},
        ],
        tools=[TOOL],
        max_new_tokens=128,
        max_pixels=max_pixels,
    )


def backend(url: str, **options: Any) -> OpenAIBackend:
    options.setdefault("backoff_s", 0.01)
    options.setdefault("timeout_s", 5.0)
    return OpenAIBackend(url, MODEL, **options)


def complete(b: OpenAIBackend, req: ChatRequest | None = None, cancel: threading.Event | None = None) -> str:
    return b.complete(req or request(), cancel or threading.Event()).text


# Answers ------------------------------------------------------------------------------


def test_raw_tool_call_text_in_content_is_returned_verbatim(server: ScriptedServer) -> None:
    raw = f'Thought: the menu is at the top.\n<tool_call>\n{{"name": "computer_use", "arguments": {CLICK_ARGS}}}\n</tool_call>'
    server.script(Answer(body=chat(raw, usage={"prompt_tokens": 1200, "completion_tokens": 40})))
    seen: list[str] = []
    completion = backend(server.url).complete(request(), threading.Event(), on_text=seen.append)
    assert completion.text == raw
    assert seen == [raw]
    assert (completion.prompt_tokens, completion.completion_tokens) == (1200, 40)
    assert completion.timings["request_s"] > 0
    assert parse_reply(completion.text).actions == (LeftClick(coordinate=(512, 300)),)


def test_structured_tool_calls_with_empty_content_become_tool_call_text(server: ScriptedServer) -> None:
    # What vLLM --tool-call-parser hermes sends: no content, arguments as a JSON string.
    server.script(Answer(body=chat(None, [tool_call(CLICK_ARGS)])))
    completion = backend(server.url).complete(request(), threading.Event())
    assert (
        completion.text == f'<tool_call>\n{{"name": "computer_use", "arguments": {CLICK_ARGS}}}\n</tool_call>'
    )
    assert completion.prompt_tokens is None
    assert parse_reply(completion.text).actions == (LeftClick(coordinate=(512, 300)),)


def test_content_comes_before_several_structured_calls(server: ScriptedServer) -> None:
    calls = [
        tool_call('{"action": "type", "text": "héllo"}'),
        tool_call('{"action": "key", "keys": ["Return"]}'),
    ]
    server.script(Answer(body=chat("Thought: type it and press Enter.", calls)))
    text = complete(backend(server.url))
    assert text.index('"héllo"') < text.index('"Return"')  # both calls reach the parser, in order
    parsed = parse_reply(text)
    # One call per answer, as with the local backend: the first is carried out, the rest counted.
    assert parsed.actions == (Type(text="héllo"),) and parsed.ignored_calls == 1
    assert parsed.thought == "Thought: type it and press Enter."


def test_structured_arguments_that_are_not_json_reach_the_parser_as_is(server: ScriptedServer) -> None:
    server.script(Answer(body=chat("", [tool_call('{"action": "left_click", "coordinate": [1, 2')])))
    text = complete(backend(server.url))
    assert '"arguments": "{\\"action\\": \\"left_click\\"' in text
    with pytest.raises(ReplyError, match="'arguments' is not valid JSON"):
        parse_reply(text)


# Streamed answers (server-sent events) ---------------------------------------------------


def test_streamed_content_reaches_on_text_as_it_arrives(server: ScriptedServer) -> None:
    raw = f'Thought: click the menu.\n<tool_call>\n{{"name": "computer_use", "arguments": {CLICK_ARGS}}}\n</tool_call>'
    pieces = [raw[:9], raw[9:30], raw[30:]]
    server.script(
        Answer(
            events=[
                *[chunk(p) for p in pieces],
                chunk(finish="stop"),
                chunk(usage={"prompt_tokens": 900, "completion_tokens": 31}),
                "[DONE]",
            ]
        )
    )
    seen: list[str] = []
    completion = backend(server.url).complete(request(), threading.Event(), on_text=seen.append)
    assert seen == pieces
    assert completion.text == raw
    assert (completion.prompt_tokens, completion.completion_tokens) == (900, 31)
    assert server.received[0].body is not None and server.received[0].body["stream"] is True
    assert parse_reply(completion.text).actions == (LeftClick(coordinate=(512, 300)),)


def test_streamed_tool_call_fragments_are_joined_into_one_call(server: ScriptedServer) -> None:
    # vLLM's hermes parser: the name in the first delta, the arguments in pieces.
    server.script(
        Answer(
            events=[
                chunk("Thought: type it."),
                chunk(calls=[call_delta("", name="computer_use")]),
                chunk(calls=[call_delta('{"action": "type", ')]),
                chunk(calls=[call_delta('"text": "héllo"}')]),
                chunk(
                    calls=[call_delta('{"action": "key", "keys": ["Return"]}', name="computer_use", index=1)]
                ),
                chunk(finish="tool_calls"),
                "[DONE]",
            ]
        )
    )
    seen: list[str] = []
    completion = backend(server.url).complete(request(), threading.Event(), on_text=seen.append)
    assert "".join(seen) == completion.text  # the rendered calls follow the streamed content
    parsed = parse_reply(completion.text)
    assert parsed.actions == (Type(text="héllo"),) and parsed.ignored_calls == 1
    assert parsed.thought == "Thought: type it."


def test_a_streamed_tool_call_that_lost_its_closing_brace_is_repaired(server: ScriptedServer) -> None:
    # vllm-project/vllm#22885: the final "}" of the arguments never arrives.
    server.script(
        Answer(
            events=[
                chunk(calls=[call_delta("", name="computer_use")]),
                chunk(calls=[call_delta('{"action": "left_click", ')]),
                chunk(calls=[call_delta('"coordinate": [512, 300]')]),
                chunk(finish="tool_calls"),
                "[DONE]",
            ]
        )
    )
    assert parse_reply(complete(backend(server.url))).actions == (LeftClick(coordinate=(512, 300)),)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"action": "left_click", "coordinate": [1, 2]}', {"action": "left_click", "coordinate": [1, 2]}),
        ('{"action": "left_click", "coordinate": [1, 2]', {"action": "left_click", "coordinate": [1, 2]}),
        ('{"action": "type", "text": "}"', {"action": "type", "text": "}"}),
        ('{"a": {"b": 1}', {"a": {"b": 1}}),
        # Anything else stays a string: the parser tells the model what is wrong.
        ('{"a": {"b": 1', '{"a": {"b": 1'),
        ('{"action": "left_click", "coordinate": [1, 2', '{"action": "left_click", "coordinate": [1, 2'),
        ('{"a": 1}}', '{"a": 1}}'),
        ('{"a": 1,', '{"a": 1,'),
        ("", ""),
    ],
)
def test_parse_arguments_repairs_only_one_missing_closing_brace(arguments: str, expected: object) -> None:
    assert parse_arguments(arguments) == expected


def test_a_whole_tool_call_without_its_closing_brace_is_repaired_too(server: ScriptedServer) -> None:
    server.script(Answer(body=chat(None, [tool_call('{"action": "left_click", "coordinate": [512, 300]')])))
    assert parse_reply(complete(backend(server.url))).actions == (LeftClick(coordinate=(512, 300)),)


def test_an_error_event_in_the_stream_is_reported(server: ScriptedServer) -> None:
    server.script(Answer(events=[chunk("Thought"), {"error": {"message": "out of KV cache", "code": 500}}]))
    with pytest.raises(BackendError, match="reported an error: out of KV cache$"):
        complete(backend(server.url))


def test_garbage_in_the_stream_is_a_backend_error(server: ScriptedServer) -> None:
    server.script(Answer(events=[chunk("Thought"), "<html>proxy error</html>"]))
    with pytest.raises(BackendError, match="did not answer with an OpenAI chat completion .*not JSON"):
        complete(backend(server.url))
    assert len(server.received) == 1


def test_a_stream_cut_off_before_its_end_is_retried(server: ScriptedServer) -> None:
    server.script(Answer(events=[chunk("Thought: half")]), Answer(body=chat("ok")))
    assert complete(backend(server.url)) == "ok"
    assert len(server.received) == 2


def test_cancel_between_tokens_ends_the_stream_at_once(server: ScriptedServer) -> None:
    server.script(
        Answer(events=[chunk("Thought: "), chunk("I will"), Hold(SLOW_S), chunk(" never say this")])
    )
    cancel = threading.Event()
    seen: list[str] = []

    def on_text(text: str) -> None:
        seen.append(text)
        if len(seen) == 2:  # the user presses Stop while the second token is shown
            threading.Thread(target=cancel.set).start()

    started = time.monotonic()
    with pytest.raises(StoppedError):
        backend(server.url, timeout_s=SLOW_S * 2).complete(request(), cancel, on_text=on_text)
    assert time.monotonic() - started < 2
    assert seen == ["Thought: ", "I will"]
    # The connection was closed, not abandoned: the server sees the client leave.
    assert server.client_gone.wait(2)


# What the server receives ------------------------------------------------------------------


def test_request_carries_model_tools_limits_and_api_key(server: ScriptedServer) -> None:
    server.script(Answer(body=chat("ok")))
    complete(backend(server.url, api_key="sk-test"))
    [got] = server.received
    assert (got.method, got.path) == ("POST", "/v1/chat/completions")
    assert got.headers["authorization"] == "Bearer sk-test"
    assert got.body is not None
    assert got.body["model"] == MODEL
    assert got.body["tools"] == [TOOL]
    assert got.body["max_tokens"] == 128
    assert got.body["temperature"] == 0
    # A stop string would cut the closing tag a server-side tool-call parser needs.
    assert "stop" not in got.body
    assert got.body["messages"][0] == {"role": "system", "content": "You are a helpful assistant."}


def test_consecutive_steps_send_a_stable_prefix_for_the_servers_prefix_cache(server: ScriptedServer) -> None:
    """Step 2's body repeats step 1's up to step 1's screenshot: vLLM's prefix cache can keep it."""
    from agent.computer_use.prompts import StepNote, build_request
    from agent.scaling import ModelFrame

    frame = ModelFrame.for_image("rel1000", 640, 360)
    screens = [Image.new("RGB", (640, 360), (i * 40, 90, 200)) for i in (1, 2)]
    step_1 = build_request("save the file", [], screens[:1], frame)
    step_2 = build_request(
        "save the file", [StepNote(1, ('key {"keys": ["ctrl", "s"]}',), "done")], screens[1:], frame,
        feedback="The action failed.",
    )
    usage = {"prompt_tokens": 900, "completion_tokens": 31, "prompt_tokens_details": {"cached_tokens": 850}}
    server.script(Answer(body=chat("ok")), Answer(body=chat("ok", usage=usage)))
    client = backend(server.url)
    client.complete(step_1, threading.Event())
    second = client.complete(step_2, threading.Event())
    assert second.cached_tokens == 850
    bodies = [json.dumps(got.body, ensure_ascii=False) for got in server.received]
    first_image = bodies[0].index('"image_url"')
    # Everything before the first screenshot is sent again, byte for byte, as the start of step 2
    # (up to the text's closing quote: step 2's text goes on with the history line).
    assert bodies[1].startswith(bodies[0][: bodies[0].rindex('"}', 0, first_image)])
    assert bodies[0].index("The user's task: save the file") < first_image
    assert "Step 1: key" in bodies[1] and "The action failed." not in bodies[0]


def test_no_authorization_header_without_api_key(server: ScriptedServer) -> None:
    server.script(Answer(body=chat("ok")))
    complete(backend(server.url))
    assert "authorization" not in server.received[0].headers


@pytest.mark.parametrize(
    ("size", "mode"), [((1920, 1080), "RGBA"), ((1288, 728), "RGB"), ((1000, 1000), "L")]
)
def test_image_is_uploaded_at_exactly_the_size_it_has_in_the_request(
    server: ScriptedServer, size: tuple[int, int], mode: str
) -> None:
    # The planner fits images to the budget (and the qwen25 frame is in pixels of that
    # exact image): the backend must not resize again, even with a small budget.
    server.script(Answer(body=chat("ok")))
    screenshot = Image.new(mode, size, 200)
    complete(backend(server.url), request(screenshot, max_pixels=64 * 32 * 32))
    body = server.received[0].body
    assert body is not None
    text, label, image_part = body["messages"][1]["content"]
    assert (text["type"], label["type"]) == ("text", "text")
    assert image_part["type"] == "image_url"
    prefix, _, encoded = image_part["image_url"]["url"].partition(",")
    assert prefix == "data:image/jpeg;base64"
    sent = Image.open(io.BytesIO(base64.b64decode(encoded)))
    assert sent.format == "JPEG"
    assert sent.size == size
    assert screenshot.size == size and screenshot.mode == mode  # the caller's image is left alone


def test_png_upload_keeps_the_pixels(server: ScriptedServer) -> None:
    server.script(Answer(body=chat("ok")))
    screenshot = Image.new("RGB", (640, 360), (30, 120, 200))
    screenshot.putpixel((639, 359), (255, 0, 0))
    complete(backend(server.url, image_format="png"), request(screenshot))
    body = server.received[0].body
    assert body is not None
    prefix, _, encoded = body["messages"][1]["content"][2]["image_url"]["url"].partition(",")
    assert prefix == "data:image/png;base64"
    sent = Image.open(io.BytesIO(base64.b64decode(encoded)))
    assert sent.size == (640, 360)
    assert sent.convert("RGB").getpixel((639, 359)) == (255, 0, 0)


# Failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_transient_failure_is_retried(server: ScriptedServer, status: int) -> None:
    server.script(Answer(status, {"error": {"message": "busy"}}), Answer(body=chat("ok")))
    assert complete(backend(server.url)) == "ok"
    assert len(server.received) == 2


def test_a_dropped_connection_is_retried(server: ScriptedServer) -> None:
    server.script(Answer(drop=True), Answer(body=chat("ok")))
    assert complete(backend(server.url)) == "ok"
    assert len(server.received) == 2


def test_retries_run_out_with_the_last_failure_in_the_message(server: ScriptedServer) -> None:
    server.script(*[Answer(500, b"Internal Server Error")] * 2)
    with pytest.raises(BackendError, match=r"failed 2 times; last: HTTP 500: Internal Server Error"):
        complete(backend(server.url, retries=1))
    assert len(server.received) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"message": "The model `nope` does not exist.", "code": 400}},  # OpenAI, newer vLLM
        {"object": "error", "message": "The model `nope` does not exist.", "code": 400},  # older vLLM
        {"detail": "The model `nope` does not exist."},  # FastAPI servers
    ],
)
def test_bad_request_fails_at_once_with_status_and_reason(
    server: ScriptedServer, body: dict[str, Any]
) -> None:
    server.script(Answer(400, body))
    with pytest.raises(BackendError, match=r"HTTP 400: The model `nope` does not exist\.$"):
        complete(backend(server.url))
    assert len(server.received) == 1


@pytest.mark.parametrize(
    ("status", "api_key", "says"), [(401, None, "API key is missing"), (403, "sk-bad", "API key was refused")]
)
def test_auth_failure_mentions_the_api_key(
    server: ScriptedServer, status: int, api_key: str | None, says: str
) -> None:
    server.script(Answer(status, {"error": {"message": "Unauthorized"}}))
    with pytest.raises(BackendError, match=f"HTTP {status}: the {says}") as err:
        complete(backend(server.url, api_key=api_key))
    assert "sk-bad" not in str(err.value)
    assert len(server.received) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>It works!</body></html>",
        b"",
        {"object": "list", "data": []},
        {"choices": []},
        {"choices": [{"text": "a legacy completion"}]},
        {"choices": [{"message": {"content": None, "tool_calls": "oops"}}]},
    ],
)
def test_an_answer_that_is_not_a_chat_completion_is_a_backend_error(
    server: ScriptedServer, body: bytes | dict[str, Any]
) -> None:
    server.script(Answer(body=body))
    with pytest.raises(BackendError, match="did not answer with an OpenAI chat completion"):
        complete(backend(server.url))
    assert len(server.received) == 1


def test_an_error_object_with_status_200_is_reported(server: ScriptedServer) -> None:
    server.script(Answer(body={"error": {"message": "image too large"}}))
    with pytest.raises(BackendError, match="reported an error: image too large"):
        complete(backend(server.url))


def test_nothing_listening_fails_fast(dead_url: str) -> None:
    started = time.monotonic()
    with pytest.raises(
        BackendError, match=r"cannot reach the model server at http://127\.0\.0\.1:\d+/v1: connection refused"
    ):
        complete(backend(dead_url))
    assert time.monotonic() - started < 2


def test_a_server_that_never_answers_times_out(server: ScriptedServer) -> None:
    server.script(*[Answer(body=chat("too late"), delay_s=SLOW_S)] * 2)
    started = time.monotonic()
    with pytest.raises(BackendError, match=r"failed 2 times; last: no answer within 0\.5 s"):
        complete(backend(server.url, timeout_s=0.5, retries=1))
    assert time.monotonic() - started < 3
    assert len(server.received) == 2


# Cancel ------------------------------------------------------------------------------------


def _http_workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "deskpilot-openai-http"]


def test_cancel_while_the_server_thinks_stops_promptly(server: ScriptedServer) -> None:
    server.script(Answer(body=chat("too late"), delay_s=SLOW_S))
    cancel = threading.Event()
    timer = threading.Timer(0.2, cancel.set)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(StoppedError):
            complete(backend(server.url, timeout_s=SLOW_S * 2), cancel=cancel)
    finally:
        timer.cancel()
    assert time.monotonic() - started < 2
    # The connection was closed, not abandoned: the server sees the client leave and the
    # worker thread ends right away.
    assert server.client_gone.wait(2)
    for worker in _http_workers():
        worker.join(timeout=1)
        assert not worker.is_alive()


def test_cancel_during_retry_backoff_stops_promptly(server: ScriptedServer) -> None:
    server.script(Answer(500, b"down"))
    cancel = threading.Event()
    timer = threading.Timer(0.2, cancel.set)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(StoppedError):
            complete(backend(server.url, backoff_s=SLOW_S), cancel=cancel)
    finally:
        timer.cancel()
    assert time.monotonic() - started < 2
    assert len(server.received) == 1


def test_cancel_before_the_call_sends_nothing(server: ScriptedServer) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(StoppedError):
        complete(backend(server.url), cancel=cancel)
    assert server.received == []


# check() -----------------------------------------------------------------------------------


def test_check_lists_the_served_models(server: ScriptedServer) -> None:
    server.script(
        Answer(body={"object": "list", "data": [{"id": MODEL, "object": "model"}, {"id": "other"}]})
    )
    assert backend(server.url, api_key="sk-test").check() == f"reachable, serves: {MODEL}, other"
    [got] = server.received
    assert (got.method, got.path) == ("GET", "/v1/models")
    assert got.headers["authorization"] == "Bearer sk-test"


def test_check_notes_a_model_the_server_does_not_list(server: ScriptedServer) -> None:
    server.script(Answer(body={"object": "list", "data": [{"id": "qwen3-vl:8b"}]}))
    assert (
        backend(server.url).check()
        == f"reachable, serves: qwen3-vl:8b (the configured model {MODEL!r} is not listed)"
    )


def test_check_on_a_dead_port_is_a_backend_error(dead_url: str) -> None:
    with pytest.raises(BackendError, match="cannot reach the model server"):
        backend(dead_url).check(timeout_s=1.0)


def test_check_on_something_that_is_not_an_openai_server(server: ScriptedServer) -> None:
    server.script(Answer(body=b"<html>router login</html>"))
    with pytest.raises(BackendError, match="did not answer /models with a model list"):
        backend(server.url).check()


@pytest.mark.process
def test_importing_the_backend_does_not_load_the_http_client() -> None:
    code = (
        "import sys\n"
        "import agent, agent.cli, agent.backends.openai, agent.backends.discovery, agent.doctor\n"
        "print(sorted(m for m in ('httpx2', 'httpcore2', 'httpx') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"

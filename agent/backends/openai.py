"""Talks to an OpenAI-compatible chat server (vLLM, Ollama, llama.cpp, LM Studio) through httpx2.

The request asks for a stream (server-sent events) so the model's text reaches
``on_text`` as it is generated; a server that answers with one JSON body instead is
understood too. Each HTTP exchange runs on a worker thread while the calling thread
waits for "next piece of text, answered, cancelled or past the deadline", so a stop
ends the request at once, even while the server is still reading the prompt: the
exchange's socket is shut down, which wakes the worker's blocking read. Servers that
parse tool calls themselves (vLLM ``--tool-call-parser hermes``) return them as
structured ``tool_calls``; they are rendered back into ``<tool_call>`` text so
``agent.computer_use.parsing`` sees one shape whatever the server did.

The prompt it sends is the same append-only one the local backend reuses
(``agent.computer_use.prompts``): system prompt, tool, task and history lines first,
the screenshot last, and the screenshot's bytes the same for the same image. So a
server with prefix caching (vLLM's automatic prefix caching, on by default in its V1
engine; llama.cpp's prompt cache) prefills only what a step adds, as the local backend
does; the usage's ``prompt_tokens_details.cached_tokens``, where the server reports
it, becomes ``Completion.cached_tokens``.

httpx2 (the maintained fork of httpx, already installed as huggingface_hub's HTTP
client) is imported on first use only: ``import agent`` stays light.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import queue
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from agent.backends.base import ChatRequest, Completion, TextSink
from agent.errors import BackendError, ConfigError, StoppedError

if TYPE_CHECKING:
    import httpx2
    from PIL.Image import Image

logger = logging.getLogger(__name__)

_IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# How often the waiting thread looks at the cancel event and the deadline while no
# text arrives; it bounds how late a stop is noticed, and costs nothing measurable.
_POLL_S = 0.02
# A chat completion is a few kilobytes; a body this large means something else answered.
_MAX_BODY_BYTES = 16 * 1024 * 1024
_EXCERPT_CHARS = 200
# 429 is the server asking us to come back later, the same promise a 503 makes.
_RETRY_STATUSES = frozenset({429})
# The thread name lets tests (and a debugger) find the exchange's worker.
_WORKER_NAME = "deskpilot-openai-http"


@dataclass(frozen=True)
class _Reply:
    """A finished exchange: the status and, for a 2xx, the completion as one JSON object."""

    status: int
    body: bytes
    # A streamed answer, reassembled into the shape of a non-streamed chat completion.
    assembled: dict[str, Any] | None = None


class _TransientError(Exception):
    """A failure worth another attempt: 5xx, a reset connection, a timeout."""


_EventKind = Literal["text", "reply", "error"]


class _Exchange:
    """One HTTP exchange on a worker thread, and the means to abort it from another thread.

    The socket is taken from httpcore's documented ``trace`` hook when the connection
    is made; every exchange makes its own connection (keep-alive is off), so the
    socket that is shut down on abort is this exchange's and no other's.
    """

    def __init__(self) -> None:
        self.events: queue.SimpleQueue[tuple[_EventKind, Any]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._aborted = False

    def trace(self, name: str, info: dict[str, Any]) -> None:
        if name != "connection.connect_tcp.complete":
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            self._sockets.append(sock)
            aborted = self._aborted
        if aborted:  # cancelled while connecting: send nothing on this connection
            _shutdown(sock)

    def abort(self) -> None:
        with self._lock:
            self._aborted = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)

    @property
    def aborted(self) -> bool:
        with self._lock:
            return self._aborted


class OpenAIBackend:
    """A ``Backend`` that sends each request to ``{base_url}/chat/completions``."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        retries: int = 2,
        backoff_s: float = 0.5,
        image_format: str = "JPEG",
    ) -> None:
        parts = urllib.parse.urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"model server URL {base_url!r} must look like http://HOST:PORT/v1")
        try:
            parts.port  # noqa: B018 (the property validates the port)
        except ValueError:
            raise ConfigError(f"model server URL {base_url!r} has an invalid port") from None
        if not model:
            raise ConfigError("the model server needs a model name")
        if not timeout_s > 0 or retries < 0 or backoff_s < 0:
            raise ConfigError("timeout_s must be positive; retries and backoff_s must not be negative")
        fmt = image_format.upper()
        if fmt not in _IMAGE_FORMATS:
            raise ConfigError(f"image format {image_format!r} is not one of {', '.join(_IMAGE_FORMATS)}")
        self.base_url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
        self.model = model
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.image_format = fmt
        self._host = parts.hostname
        self._api_key = api_key
        self._client: httpx2.Client | None = None
        self._client_lock = threading.Lock()

    def complete(
        self,
        request: ChatRequest,
        cancel: threading.Event,
        on_text: TextSink | None = None,
    ) -> Completion:
        if cancel.is_set():
            raise StoppedError("stopped before the model was asked")
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [self._message(m) for m in request.messages],
            "max_tokens": request.max_new_tokens,
            "temperature": 0,
            "stream": True,
            # The token counts come in a last chunk only when asked for.
            "stream_options": {"include_usage": True},
        }
        # No "stop": a server-side tool-call parser needs the closing tag, which a stop
        # string would cut off. Some servers reject an empty tools list, so omit it then.
        if request.tools:
            payload["tools"] = request.tools
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        shown: list[str] = []

        def show(text: str) -> None:
            shown.append(text)
            if on_text is not None:
                on_text(text)

        started = time.monotonic()
        reply = self._with_retries("POST", "/chat/completions", body, cancel, show, shown)
        request_s = time.monotonic() - started
        completion = self._completion(reply, request_s)
        logger.debug(
            "model server answered in %.2f s (%s prompt, %s completion tokens)",
            request_s,
            completion.prompt_tokens,
            completion.completion_tokens,
        )
        # What was streamed is the content; the rendered tool calls (and the whole text
        # of a non-streamed answer) follow, so the fragments add up to the completion.
        streamed = "".join(shown)
        if completion.text.startswith(streamed):
            rest = completion.text[len(streamed) :]
        else:  # whitespace-only content that the rendering dropped
            rest = "\n" + completion.text if completion.text else ""
        if rest and on_text is not None:
            on_text(rest)
        return completion

    def check(self, timeout_s: float = 5.0) -> str:
        """One line on whether the server answers and which models it serves."""
        ids = self.models(timeout_s)
        served = ", ".join(ids) if ids else "no models"
        note = "" if self.model in ids else f" (the configured model {self.model!r} is not listed)"
        return f"reachable, serves: {served}{note}"

    def models(self, timeout_s: float = 5.0) -> list[str]:
        """The model names ``GET /models`` lists; a ``BackendError`` when that fails."""
        try:
            reply = self._exchange("GET", "/models", None, threading.Event(), timeout_s)
        except _TransientError as err:
            raise BackendError(f"the model server at {self.base_url} failed: {err}") from None
        # A 5xx here is a problem to report, not to wait out.
        self._raise_for_status(reply)
        try:
            data = json.loads(reply.body)
            return [str(item["id"]) for item in data["data"]]
        except (ValueError, KeyError, TypeError):
            raise BackendError(
                f"the model server at {self.base_url} did not answer /models with a model list: "
                f"{_excerpt(reply.body)}"
            ) from None

    def tools_refusal(self, tool: dict[str, Any], timeout_s: float = 30.0) -> str | None:
        """Why the server refuses a chat request that carries ``tool``, or None if it accepts it.

        One tiny request (one generated token at most). A 4xx answer is a refusal,
        returned as its short excerpt; a server that cannot be reached or fails in
        another way raises ``BackendError``.
        """
        payload = {
            "model": self.model,
            "messages": [{"role": "user", "content": "Say OK."}],
            "tools": [tool],
            "max_tokens": 1,
            "temperature": 0,
        }
        body = json.dumps(payload).encode("utf-8")
        try:
            reply = self._exchange("POST", "/chat/completions", body, threading.Event(), timeout_s)
        except _TransientError as err:
            raise BackendError(f"the model server at {self.base_url} failed: {err}") from None
        if 400 <= reply.status < 500 and reply.status not in (401, 403, 404, *_RETRY_STATUSES):
            return f"HTTP {reply.status}: {_excerpt(reply.body)}"
        self._raise_for_status(reply)
        return None

    def close(self) -> None:
        """Release the HTTP client (the backend opens a new one if used again)."""
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # Request building --------------------------------------------------------------

    def _message(self, message: dict[str, Any]) -> dict[str, Any]:
        content = message.get("content")
        if not isinstance(content, list):
            return dict(message)
        parts: list[dict[str, Any]] = []
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text":
                parts.append({"type": "text", "text": str(part["text"])})
            elif kind == "image":
                url = self._data_url(part["image"])
                parts.append({"type": "image_url", "image_url": {"url": url}})
            else:
                raise TypeError(f"unsupported message part {part!r}; expected text or image")
        out = dict(message)
        # Text-only turns go as one string: every server accepts that for every role,
        # and the Qwen template joins text parts with nothing in between anyway.
        if all(p["type"] == "text" for p in parts):
            out["content"] = "".join(p["text"] for p in parts)
        else:
            out["content"] = parts
        return out

    def _data_url(self, image: Image) -> str:
        # Exactly the image the planner prepared: it already fits the pixel budget, and
        # coordinates in some frames (Qwen2.5's absolute pixels) refer to its exact size.
        # Resizing here again would put the model in a different frame from the planner.
        if self.image_format == "JPEG" and image.mode != "RGB":
            image = image.convert("RGB")
        buffer = io.BytesIO()
        options: dict[str, Any] = {"quality": 90} if self.image_format == "JPEG" else {}
        image.save(buffer, format=self.image_format, **options)
        encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
        return f"data:{_IMAGE_FORMATS[self.image_format]};base64,{encoded}"

    # HTTP ----------------------------------------------------------------------------

    def _with_retries(
        self,
        method: str,
        path: str,
        body: bytes | None,
        cancel: threading.Event,
        on_text: TextSink,
        shown: list[str],
    ) -> _Reply:
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            # A retry streams the answer again from its start; what the first attempt
            # showed stays shown (a live view), but only this attempt's text counts.
            shown.clear()
            try:
                reply = self._exchange(method, path, body, cancel, self.timeout_s, on_text)
                if reply.status >= 500 or reply.status in _RETRY_STATUSES:
                    raise _TransientError(f"HTTP {reply.status}: {_excerpt(reply.body)}")
            except _TransientError as err:
                if attempt == attempts:
                    raise BackendError(
                        f"the model server at {self.base_url} failed "
                        f"{attempts} time{'s' if attempts > 1 else ''}; last: {err}"
                    ) from None
                delay = self.backoff_s * 2 ** (attempt - 1)
                logger.warning(
                    "model server attempt %d of %d failed (%s); retrying in %.2f s",
                    attempt,
                    attempts,
                    err,
                    delay,
                )
                if cancel.wait(delay):
                    raise StoppedError("stopped while waiting to retry the model server") from None
                continue
            self._raise_for_status(reply)
            return reply
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _http(self) -> httpx2.Client:
        with self._client_lock:
            if self._client is None:
                import httpx2

                self._client = httpx2.Client(
                    # One connection per exchange: the abort path shuts down the socket
                    # the trace hook saw being made, which a pooled connection skips.
                    limits=httpx2.Limits(max_keepalive_connections=0),
                    # No proxy from the environment: screenshots go straight to the
                    # server the user named, as they always have.
                    trust_env=False,
                    headers=self._headers(),
                )
            return self._client

    def _exchange(
        self,
        method: str,
        path: str,
        body: bytes | None,
        cancel: threading.Event,
        timeout_s: float,
        on_text: TextSink | None = None,
    ) -> _Reply:
        """One HTTP exchange in a worker thread; returns early on cancel or deadline.

        Streamed text is handed to ``on_text`` on this (the caller's) thread.
        """
        client = self._http()
        exchange = _Exchange()
        worker = threading.Thread(
            target=self._work,
            args=(client, exchange, method, path, body, timeout_s),
            name=_WORKER_NAME,
            daemon=True,
        )
        worker.start()
        # httpx's timeout bounds each read; this deadline bounds the whole exchange, so
        # a server that trickles bytes cannot hold us forever either.
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                try:
                    kind, value = exchange.events.get(timeout=_POLL_S)
                except queue.Empty:
                    kind, value = None, None
                if cancel.is_set():
                    raise StoppedError("stopped while the model server was answering")
                if kind == "text":
                    if on_text is not None:
                        on_text(value)
                elif kind == "reply":
                    reply: _Reply = value
                    return reply
                elif kind == "error":
                    raise self._classify(value, timeout_s) from None
                elif time.monotonic() >= deadline:
                    raise _TransientError(f"no answer within {timeout_s:g} s")
        except BaseException:
            # Stopped, timed out, or on_text failed: the worker must not go on reading
            # (or start sending) for nobody. After a finished exchange this is a no-op.
            exchange.abort()
            raise

    def _work(
        self,
        client: httpx2.Client,
        exchange: _Exchange,
        method: str,
        path: str,
        body: bytes | None,
        timeout_s: float,
    ) -> None:
        """The worker thread: send, read the answer, report it as events."""
        import httpx2

        headers = {"Content-Type": "application/json"} if body is not None else {}
        try:
            with client.stream(
                method,
                self.base_url + path,
                content=body,
                headers=headers,
                timeout=httpx2.Timeout(timeout_s),
                extensions={"trace": exchange.trace},
            ) as response:
                content_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
                if 200 <= response.status_code < 300 and content_type == "text/event-stream":
                    assembled = self._read_stream(httpx2.EventSource(response), exchange)
                    exchange.events.put(("reply", _Reply(response.status_code, b"", assembled)))
                else:
                    data = _read_bounded(response, self.base_url)
                    exchange.events.put(("reply", _Reply(response.status_code, data)))
        except Exception as err:  # handed to the waiting thread, which classifies it
            exchange.events.put(("error", err))

    def _read_stream(self, source: httpx2.EventSource, exchange: _Exchange) -> dict[str, Any]:
        assembler = StreamAssembler()
        done = False
        for event in source:
            if exchange.aborted:
                return assembler.completion()  # nobody reads it any more
            if event.data.strip() == "[DONE]":
                done = True
                break
            try:
                text = assembler.feed(event.data)
            except ServerReportedError as err:
                raise BackendError(f"the model server at {self.base_url} reported an error: {err}") from None
            except ValueError as err:
                raise BackendError(
                    f"the model server at {self.base_url} did not answer with an OpenAI chat completion "
                    f"({err})"
                ) from None
            if text:
                exchange.events.put(("text", text))
            if source.response.num_bytes_downloaded > _MAX_BODY_BYTES:
                raise BackendError(_too_large(self.base_url))
        # Every server we know ends with [DONE], and a finish_reason comes before it; a
        # stream that closes with neither was cut off, like a dropped connection.
        if not done and not assembler.finished:
            raise _TransientError("connection lost (the stream ended before the answer did)")
        return assembler.completion()

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json, text/event-stream", "User-Agent": "deskpilot"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _classify(self, err: Exception, timeout_s: float) -> Exception:
        import httpx2

        if isinstance(err, BackendError | _TransientError):
            return err
        if isinstance(err, httpx2.TimeoutException):
            return _TransientError(f"no answer within {timeout_s:g} s")
        cause = _root_cause(err)
        if isinstance(err, httpx2.ConnectError):
            if isinstance(cause, ConnectionRefusedError):
                return BackendError(
                    f"cannot reach the model server at {self.base_url}: connection refused "
                    "(is the server running?)"
                )
            if isinstance(cause, socket.gaierror):
                return BackendError(
                    f"cannot reach the model server at {self.base_url}: "
                    f"unknown host {self._host!r} ({cause.strerror})"
                )
            if isinstance(cause, ConnectionError):
                return _TransientError(f"connection lost ({_describe(cause)})")
            return BackendError(f"cannot reach the model server at {self.base_url}: {_describe(err)}")
        if isinstance(err, httpx2.RemoteProtocolError):
            text = str(err)
            # h11 says this when the peer closed the connection early: a blip worth a
            # retry. Anything else it says means the peer does not speak HTTP.
            if "disconnected" in text or "incomplete" in text.lower() or "peer closed" in text:
                return _TransientError(f"connection lost ({_describe(err)})")
            return BackendError(f"the model server at {self.base_url} did not answer with HTTP ({text})")
        if isinstance(err, httpx2.ReadError | httpx2.WriteError | httpx2.CloseError):
            return _TransientError(f"connection lost ({_describe(cause)})")
        if isinstance(err, httpx2.HTTPError | httpx2.StreamError):
            return BackendError(f"the model server at {self.base_url} failed: {_describe(err)}")
        # Anything else is a bug in this module; it keeps its traceback.
        return err

    def _raise_for_status(self, reply: _Reply) -> None:
        status = reply.status
        if 200 <= status < 300:
            return
        if status in (401, 403):
            given = "was refused" if self._api_key else "is missing (none was given)"
            raise BackendError(
                f"the model server at {self.base_url} answered HTTP {status}: the API key "
                f"{given}; {_excerpt(reply.body)}"
            )
        raise BackendError(
            f"the model server at {self.base_url} answered HTTP {status}: {_excerpt(reply.body)}"
        )

    # Response ------------------------------------------------------------------------

    def _completion(self, reply: _Reply, request_s: float) -> Completion:
        not_chat = f"the model server at {self.base_url} did not answer with an OpenAI chat completion"
        if reply.assembled is not None:
            data: Any = reply.assembled
            raw = json.dumps(data, ensure_ascii=False).encode("utf-8")
        else:
            raw = reply.body
            try:
                data = json.loads(reply.body)
            except ValueError:
                raise BackendError(f"{not_chat} (not JSON: {_excerpt(reply.body)})") from None
        if not isinstance(data, dict):
            raise BackendError(f"{not_chat} (got {_excerpt(raw)})")
        if "choices" not in data and "error" in data:
            raise BackendError(f"the model server at {self.base_url} reported an error: {_excerpt(raw)}")
        choices = data.get("choices")
        first = choices[0] if isinstance(choices, list) and choices else None
        message = first.get("message") if isinstance(first, dict) else None
        if not isinstance(message, dict):
            raise BackendError(f"{not_chat} (no choices[0].message in {_excerpt(raw)})")
        try:
            text = render_message(message)
        except ValueError as err:
            raise BackendError(f"{not_chat} ({err})") from None
        usage = data.get("usage")
        if not isinstance(usage, dict):
            usage = {}
        details = usage.get("prompt_tokens_details")
        return Completion(
            text=text,
            prompt_tokens=_count(usage.get("prompt_tokens")),
            completion_tokens=_count(usage.get("completion_tokens")),
            cached_tokens=_count(details.get("cached_tokens")) if isinstance(details, dict) else None,
            timings={"request_s": request_s},
        )


class ServerReportedError(ValueError):
    """A streamed chunk that is an error object instead of a completion chunk."""


class StreamAssembler:
    """Rebuilds one chat completion from its streamed chunks (``choices[0].delta``).

    ``feed`` takes each event's data and returns the new content text; ``completion``
    returns what a non-streamed answer would have held: ``choices[0].message`` with the
    joined content and tool calls (their ``arguments`` fragments joined by index), and
    the usage of the last chunk that carried one.
    """

    def __init__(self) -> None:
        self._content: list[str] = []
        self._calls: dict[int, dict[str, Any]] = {}
        self._usage: dict[str, Any] | None = None
        self._saw_choice = False
        self.finished = False  # a choice said why it ended (finish_reason)

    def feed(self, data: str) -> str:
        try:
            chunk = json.loads(data)
        except ValueError:
            raise ValueError(f"a streamed chunk is not JSON: {_excerpt(data.encode('utf-8'))}") from None
        if not isinstance(chunk, dict):
            raise ValueError(f"a streamed chunk is not an object: {_excerpt(data.encode('utf-8'))}")
        if "error" in chunk and "choices" not in chunk:
            raise ServerReportedError(_excerpt(data.encode("utf-8")))
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices:
            return ""
        first = choices[0]
        delta = first.get("delta") if isinstance(first, dict) else None
        if delta is None and isinstance(first, dict) and isinstance(first.get("message"), dict):
            delta = first["message"]  # a server that streams whole messages
        if not isinstance(delta, dict):
            raise ValueError("a streamed chunk has no choices[0].delta")
        self._saw_choice = True
        if first.get("finish_reason"):
            self.finished = True
        for position, call in enumerate(delta.get("tool_calls") or []):
            self._add_call(position, call)
        content = delta.get("content")
        if isinstance(content, str) and content:
            self._content.append(content)
            return content
        return ""

    def _add_call(self, position: int, call: Any) -> None:
        if not isinstance(call, dict):
            raise ValueError("a streamed tool call is not an object")
        index = call.get("index", position)
        if not isinstance(index, int):
            raise ValueError("a streamed tool call has no integer index")
        slot = self._calls.setdefault(index, {"name": "", "arguments": ""})
        function = call.get("function")
        if not isinstance(function, dict):
            return
        name = function.get("name")
        # vLLM and OpenAI send the name once, in the call's first chunk; a server that
        # repeats it sends the same name again, which must not double it.
        if isinstance(name, str) and name != slot["name"]:
            slot["name"] += name
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            slot["arguments"] += arguments
        elif isinstance(arguments, dict):
            slot["arguments"] += json.dumps(arguments, ensure_ascii=False)

    def completion(self) -> dict[str, Any]:
        if not self._saw_choice:
            return {"choices": [], **({"usage": self._usage} if self._usage else {})}
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self._content)}
        if self._calls:
            message["tool_calls"] = [
                {"type": "function", "function": self._calls[index]} for index in sorted(self._calls)
            ]
        out: dict[str, Any] = {"choices": [{"index": 0, "message": message}]}
        if self._usage is not None:
            out["usage"] = self._usage
        return out


def render_message(message: dict[str, Any]) -> str:
    """The assistant message as model text: its content, then each structured tool call
    in ``<tool_call>`` form. Raises ``ValueError`` on a message of the wrong shape."""
    content = message.get("content")
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = "".join(
            str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    else:
        raise ValueError(f"message content is a {type(content).__name__}")
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise ValueError("tool_calls is not a list")
    blocks = [text] if text.strip() else []
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            raise ValueError("a tool call has no function")
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            arguments = parse_arguments(arguments)
        call_json = json.dumps({"name": function.get("name"), "arguments": arguments}, ensure_ascii=False)
        blocks.append(f"<tool_call>\n{call_json}\n</tool_call>")
    return "\n".join(blocks)


def parse_arguments(arguments: str) -> Any:
    """A structured tool call's ``arguments`` string as JSON, else the string itself.

    vLLM's hermes parser can lose the final ``}`` of the arguments while streaming
    (vllm-project/vllm#22885): exactly that is repaired, one ``}`` appended to a string
    that does not parse and then does. Nothing looser: any other invalid JSON stays a
    string, so the parser can tell the model what is wrong.
    """
    try:
        return json.loads(arguments)
    except ValueError:
        pass
    try:
        repaired = json.loads(arguments + "}")
    except ValueError:
        return arguments
    logger.warning("the server's tool call lost its closing brace (vLLM #22885); repaired")
    return repaired


def _read_bounded(response: httpx2.Response, base_url: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > _MAX_BODY_BYTES:
            raise BackendError(_too_large(base_url))
    return b"".join(chunks)


def _too_large(base_url: str) -> str:
    return (
        f"the model server at {base_url} sent more than "
        f"{_MAX_BODY_BYTES // (1024 * 1024)} MiB; that is no chat completion"
    )


def _shutdown(sock: socket.socket) -> None:
    # close() alone does not wake a thread blocked in recv() on Linux; shutdown() ends
    # the read at once, and the worker then closes the connection itself.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _root_cause(err: BaseException) -> BaseException:
    # httpx2 wraps httpcore's exception, which wraps the OSError that says what happened.
    seen: set[int] = set()
    while True:
        inner = err.__cause__ or err.__context__
        if inner is None or id(inner) in seen:
            return err
        seen.add(id(err))
        err = inner


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _describe(err: BaseException) -> str:
    return str(err) or type(err).__name__


def _excerpt(body: bytes) -> str:
    """A short single line from an error body, preferring an OpenAI ``error.message``."""
    text = body.decode("utf-8", errors="replace")
    with contextlib.suppress(ValueError):
        data = json.loads(text)
        if isinstance(data, dict):
            # OpenAI and newer vLLM nest the error; older vLLM sends {"object": "error",
            # "message": ...}; FastAPI servers say "detail".
            error = data.get("error", data.get("detail"))
            if isinstance(error, dict) and isinstance(error.get("message"), str):
                text = error["message"]
            elif isinstance(error, str):
                text = error
            elif data.get("object") == "error" and isinstance(data.get("message"), str):
                text = data["message"]
    line = " ".join(text.split())
    if not line:
        return "(empty body)"
    return line if len(line) <= _EXCERPT_CHARS else line[: _EXCERPT_CHARS - 1] + "…"


def list_models(base_url: str, api_key: str | None = None, timeout_s: float = 5.0) -> list[str]:
    """The models the server at ``base_url`` lists; ``BackendError`` when it does not answer so."""
    # The model name is required for chat requests only; /models does not use it.
    backend = OpenAIBackend(base_url, "(any)", api_key=api_key, timeout_s=timeout_s, retries=0)
    try:
        return backend.models(timeout_s)
    finally:
        backend.close()

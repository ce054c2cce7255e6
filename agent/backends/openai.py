"""Talks to an OpenAI-compatible chat server (vLLM, Ollama, llama.cpp) over plain HTTP.

Only the standard library is used. Each HTTP exchange runs in a worker thread so the
caller can wait on "answered or cancelled" and drop the connection the moment the user
stops the agent, even while the server is still generating. Servers that parse tool
calls themselves (vLLM ``--tool-call-parser hermes``) return them as structured
``tool_calls``; they are rendered back into ``<tool_call>`` text so ``agent.computer_use.parsing``
sees one shape whatever the server did.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import json
import logging
import math
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.backends.base import ChatRequest, Completion, TextSink
from agent.errors import BackendError, ConfigError, StoppedError

if TYPE_CHECKING:
    from PIL.Image import Image

logger = logging.getLogger(__name__)

_IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# How often the waiting thread looks at the cancel event and the deadline; it bounds
# how late a stop is noticed, and costs nothing measurable.
_POLL_S = 0.05
# A chat completion is a few kilobytes; a body this large means something else answered.
_MAX_BODY_BYTES = 16 * 1024 * 1024
_EXCERPT_CHARS = 200
# 429 is the server asking us to come back later, the same promise a 503 makes.
_RETRY_STATUSES = frozenset({429})


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes


class _TransientError(Exception):
    """A failure worth another attempt: 5xx, a reset connection, a timeout."""


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
            port = parts.port
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
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = port
        self._path = parts.path.rstrip("/")
        self._api_key = api_key

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
            "messages": [self._message(m, request.max_pixels) for m in request.messages],
            "max_tokens": request.max_new_tokens,
            "temperature": 0,
        }
        # No "stop": a server-side tool-call parser needs the closing tag, which a stop
        # string would cut off. Some servers reject an empty tools list, so omit it then.
        if request.tools:
            payload["tools"] = request.tools
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        started = time.monotonic()
        reply = self._with_retries("POST", "/chat/completions", body, cancel)
        request_s = time.monotonic() - started
        completion = self._completion(reply.body, request_s)
        logger.debug(
            "model server answered in %.2f s (%s prompt, %s completion tokens)",
            request_s,
            completion.prompt_tokens,
            completion.completion_tokens,
        )
        if on_text is not None:
            on_text(completion.text)
        return completion

    def check(self, timeout_s: float = 5.0) -> str:
        """One line on whether the server answers and which models it serves."""
        try:
            reply = self._exchange("GET", "/models", None, threading.Event(), timeout_s)
        except _TransientError as err:
            raise BackendError(f"the model server at {self.base_url} failed: {err}") from None
        # A 5xx here is a problem to report, not to wait out.
        self._raise_for_status(reply)
        try:
            data = json.loads(reply.body)
            ids = [str(item["id"]) for item in data["data"]]
        except (ValueError, KeyError, TypeError):
            raise BackendError(
                f"the model server at {self.base_url} did not answer /models with a model list: "
                f"{_excerpt(reply.body)}"
            ) from None
        served = ", ".join(ids) if ids else "no models"
        note = "" if self.model in ids else f" (the configured model {self.model!r} is not listed)"
        return f"reachable, serves: {served}{note}"

    # Request building --------------------------------------------------------------

    def _message(self, message: dict[str, Any], max_pixels: int) -> dict[str, Any]:
        content = message.get("content")
        if not isinstance(content, list):
            return dict(message)
        parts: list[dict[str, Any]] = []
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text":
                parts.append({"type": "text", "text": str(part["text"])})
            elif kind == "image":
                url = self._data_url(part["image"], max_pixels)
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

    def _data_url(self, image: Image, max_pixels: int) -> str:
        fitted = fit_pixels(image, max_pixels)
        if self.image_format == "JPEG" and fitted.mode != "RGB":
            fitted = fitted.convert("RGB")
        buffer = io.BytesIO()
        options: dict[str, Any] = {"quality": 90} if self.image_format == "JPEG" else {}
        fitted.save(buffer, format=self.image_format, **options)
        encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
        return f"data:{_IMAGE_FORMATS[self.image_format]};base64,{encoded}"

    # HTTP ----------------------------------------------------------------------------

    def _with_retries(self, method: str, path: str, body: bytes | None, cancel: threading.Event) -> _Reply:
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                reply = self._exchange(method, path, body, cancel, self.timeout_s)
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

    def _exchange(
        self,
        method: str,
        path: str,
        body: bytes | None,
        cancel: threading.Event,
        timeout_s: float,
    ) -> _Reply:
        """One HTTP exchange in a worker thread; returns early on cancel or deadline."""
        conn = self._connection(timeout_s)
        done = threading.Event()
        outcome: list[_Reply | Exception] = []

        def work() -> None:
            try:
                conn.request(method, self._path + path, body=body, headers=self._headers(body))
                response = conn.getresponse()
                data = response.read(_MAX_BODY_BYTES + 1)
                outcome.append(_Reply(response.status, data))
            except Exception as err:  # handed to the waiting thread, which classifies it
                outcome.append(err)
            finally:
                conn.close()
                done.set()

        worker = threading.Thread(target=work, name="deskpilot-openai-http", daemon=True)
        worker.start()
        # The socket timeout bounds each read; this deadline bounds the whole exchange,
        # so a server that trickles bytes cannot hold us forever either.
        deadline = time.monotonic() + timeout_s
        while not done.wait(_POLL_S):
            if cancel.is_set():
                _abort(conn)
                raise StoppedError("stopped while the model server was answering")
            if time.monotonic() >= deadline:
                _abort(conn)
                raise _TransientError(f"no answer within {timeout_s:g} s")
        result = outcome[0]
        if isinstance(result, Exception):
            raise self._classify(result, timeout_s) from None
        if len(result.body) > _MAX_BODY_BYTES:
            raise BackendError(
                f"the model server at {self.base_url} sent more than "
                f"{_MAX_BODY_BYTES // (1024 * 1024)} MiB; that is no chat completion"
            )
        return result

    def _connection(self, timeout_s: float) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout_s)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout_s)

    def _headers(self, body: bytes | None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "deskpilot"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _classify(self, err: Exception, timeout_s: float) -> Exception:
        if isinstance(err, TimeoutError):
            return _TransientError(f"no answer within {timeout_s:g} s")
        if isinstance(err, ConnectionRefusedError):
            return BackendError(
                f"cannot reach the model server at {self.base_url}: connection refused "
                "(is the server running?)"
            )
        if isinstance(err, socket.gaierror):
            return BackendError(
                f"cannot reach the model server at {self.base_url}: "
                f"unknown host {self._host!r} ({err.strerror})"
            )
        if isinstance(err, ConnectionError | http.client.IncompleteRead):
            return _TransientError(f"connection lost ({_describe(err)})")
        if isinstance(err, http.client.HTTPException):
            return BackendError(
                f"the model server at {self.base_url} did not answer with HTTP ({_describe(err)})"
            )
        if isinstance(err, OSError):
            return BackendError(f"cannot reach the model server at {self.base_url}: {_describe(err)}")
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

    def _completion(self, body: bytes, request_s: float) -> Completion:
        not_chat = f"the model server at {self.base_url} did not answer with an OpenAI chat completion"
        try:
            data = json.loads(body)
        except ValueError:
            raise BackendError(f"{not_chat} (not JSON: {_excerpt(body)})") from None
        if not isinstance(data, dict):
            raise BackendError(f"{not_chat} (got {_excerpt(body)})")
        if "choices" not in data and "error" in data:
            raise BackendError(f"the model server at {self.base_url} reported an error: {_excerpt(body)}")
        choices = data.get("choices")
        first = choices[0] if isinstance(choices, list) and choices else None
        message = first.get("message") if isinstance(first, dict) else None
        if not isinstance(message, dict):
            raise BackendError(f"{not_chat} (no choices[0].message in {_excerpt(body)})")
        try:
            text = render_message(message)
        except ValueError as err:
            raise BackendError(f"{not_chat} ({err})") from None
        usage = data.get("usage")
        if not isinstance(usage, dict):
            usage = {}
        return Completion(
            text=text,
            prompt_tokens=_count(usage.get("prompt_tokens")),
            completion_tokens=_count(usage.get("completion_tokens")),
            timings={"request_s": request_s},
        )


def fit_pixels(image: Image, max_pixels: int) -> Image:
    """``image`` shrunk, aspect kept, to at most ``max_pixels`` pixels (never enlarged)."""
    width, height = image.size
    if width * height <= max_pixels:
        return image
    scale = math.sqrt(max_pixels / (width * height))
    new_w, new_h = max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
    # Float rounding can leave the product one row over the budget.
    while new_w * new_h > max_pixels and new_w > 1 and new_h > 1:
        if new_w / new_h > width / height:
            new_w -= 1
        else:
            new_h -= 1
    from PIL import Image as PILImage  # deferred: core modules import PIL only on use

    return image.resize((new_w, new_h), PILImage.Resampling.LANCZOS)


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
            # Invalid JSON stays a string so the parser can tell the model what is wrong.
            with contextlib.suppress(ValueError):
                arguments = json.loads(arguments)
        call_json = json.dumps({"name": function.get("name"), "arguments": arguments}, ensure_ascii=False)
        blocks.append(f"<tool_call>\n{call_json}\n</tool_call>")
    return "\n".join(blocks)


def _abort(conn: http.client.HTTPConnection) -> None:
    # close() alone does not wake a thread blocked in recv() on Linux, and the response
    # keeps the socket open through its file object; shutdown() ends the read at once.
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        conn.close()


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
            error = data.get("error", data.get("detail"))
            if isinstance(error, dict) and isinstance(error.get("message"), str):
                text = error["message"]
            elif isinstance(error, str):
                text = error
    line = " ".join(text.split())
    if not line:
        return "(empty body)"
    return line if len(line) <= _EXCERPT_CHARS else line[: _EXCERPT_CHARS - 1] + "…"

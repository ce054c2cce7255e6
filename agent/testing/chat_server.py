"""A loopback OpenAI-compatible chat server with canned replies, for tests and benchmarks.

It binds 127.0.0.1 only. ``reply`` sees each chat request body and returns the
model's text (or ``(status, text)`` for an HTTP error); ``latency_s`` delays every
answer, as a real server's generation would, without holding other requests up.
``models`` is what ``GET /v1/models`` lists; ``not_openai`` answers everything with an
HTML page, as a router's login page would. ``requests`` keeps each chat body,
``calls`` every request's method, path, body and headers (names in lower case).
"""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL.Image import Image

Reply = Callable[[dict[str, Any]], "str | tuple[int, str]"]


Call = tuple[str, str, "dict[str, Any] | None", dict[str, str]]  # method, path, JSON body, headers


@dataclass
class CannedChatServer:
    reply: Reply
    latency_s: float = 0.0
    port: int = 0
    models: list[str] = field(default_factory=lambda: ["canned"])
    not_openai: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)
            if call[0] == "POST" and call[2] is not None:
                self.requests.append(call[2])


def request_images(body: dict[str, Any]) -> list[Image]:
    """The images of a chat request, decoded from their data URLs."""
    from PIL import Image as PILImage

    images = []
    for message in body.get("messages", []):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for part in content:
            if part.get("type") == "image_url":
                data = part["image_url"]["url"].partition(",")[2]
                images.append(PILImage.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))
    return images


def request_text(body: dict[str, Any]) -> str:
    """Every text part of a chat request, joined (the prompt, and on a retry the problem)."""
    texts: list[str] = []
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(str(p.get("text", "")) for p in content if p.get("type") == "text")
    return "\n".join(texts)


def _handler(server: CannedChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            server.record(("GET", self.path, None, self._headers()))
            if server.not_openai:
                self._send(200, b"<html>router login</html>", "text/html")
            elif self.path.rstrip("/") == "/v1/models":
                data = [{"id": m, "object": "model"} for m in server.models]
                self._json(200, {"object": "list", "data": data})
            else:
                self._json(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            server.record(("POST", self.path, body, self._headers()))
            if server.not_openai:
                self._send(200, b"<html>router login</html>", "text/html")
                return
            if server.latency_s > 0:
                threading.Event().wait(server.latency_s)
            answer = server.reply(body)
            status, text = answer if isinstance(answer, tuple) else (200, answer)
            if status != 200:
                kind = "BadRequestError" if status == 400 else "ServerError"
                self._json(status, {"object": "error", "message": text, "type": kind, "code": status})
                return
            message = {"role": "assistant", "content": text}
            self._json(200, {"object": "chat.completion", "choices": [{"index": 0, "message": message}]})

        def _headers(self) -> dict[str, str]:
            return {k.lower(): v for k, v in self.headers.items()}

        def _json(self, status: int, data: object) -> None:
            self._send(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), "application/json")

        def _send(self, status: int, payload: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@contextmanager
def serving(server: CannedChatServer) -> Iterator[CannedChatServer]:
    """Run ``server`` on its loopback port (0: a free one) for the duration of the block."""
    httpd = ThreadingHTTPServer(("127.0.0.1", server.port), _handler(server))
    httpd.daemon_threads = True
    server.port = int(httpd.server_address[1])
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)

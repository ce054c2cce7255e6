"""Small OpenAI-compatible stand-ins on 127.0.0.1 for the doctor and discovery tests."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# What `vllm serve` without tool flags answers to a request that carries tools.
VLLM_NO_TOOLS = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'


@dataclass
class StubServer:
    """A model server: lists ``models`` and answers chat requests (or refuses tools, as told)."""

    models: list[str] = field(default_factory=lambda: ["qwen3-vl:8b"])
    refuse_tools: bool = False
    not_openai: bool = False  # answer every request with an HTML page instead
    reply: str = "OK"  # the assistant's text for every chat request
    port: int = 0
    reply: str = "OK"  # the assistant's content in every chat answer (e.g. a <tool_call> block)
    replies: list[str] = field(default_factory=list)  # answered first, one per chat request, in order
    # (method, path, JSON body, headers with lower-case names) of each request
    requests: list[tuple[str, str, dict[str, Any] | None, dict[str, str]]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def _handler(stub: StubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            stub.requests.append(("GET", self.path, None, self._headers()))
            if stub.not_openai:
                self._send(200, b"<html>router login</html>", "text/html")
            elif self.path == "/v1/models":
                data = [{"id": m, "object": "model"} for m in stub.models]
                self._json(200, {"object": "list", "data": data})
            else:
                self._json(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            stub.requests.append(("POST", self.path, body, self._headers()))
            if stub.not_openai:
                self._send(200, b"<html>router login</html>", "text/html")
            elif stub.refuse_tools and body.get("tools"):
                self._json(
                    400, {"object": "error", "message": VLLM_NO_TOOLS, "type": "BadRequestError", "code": 400}
                )
            else:
                content = stub.replies.pop(0) if stub.replies else stub.reply
                message = {"role": "assistant", "content": content}
                self._json(200, {"object": "chat.completion", "choices": [{"index": 0, "message": message}]})

        def _headers(self) -> dict[str, str]:
            return {k.lower(): v for k, v in self.headers.items()}

        def _json(self, status: int, data: object) -> None:
            self._send(status, json.dumps(data).encode(), "application/json")

        def _send(self, status: int, payload: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@contextmanager
def serving(stub: StubServer) -> Iterator[StubServer]:
    """Run ``stub`` on a free loopback port for the duration of the block."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    stub.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@contextmanager
def dead_port() -> Iterator[int]:
    """A port that is bound but not listening: connecting is refused, without races."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()

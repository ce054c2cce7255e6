"""A loopback imitation of the few Hugging Face Hub endpoints a model download uses.

``snapshot_download`` asks ``/api/models/<id>/revision/<rev>`` for the commit,
``/api/models/<id>/tree/<sha>`` for the file list, then ``HEAD`` and ``GET``
``/<id>/resolve/<sha>/<file>`` per file (ranged when resuming). Serving a folder
(e.g. the tiny model) that way lets tests download through the real client with
``HF_ENDPOINT=http://127.0.0.1:PORT`` and no internet. ``bytes_per_second`` slows file
bodies down so progress and stopping can be watched; ``hold_at`` pauses every weight
file after that many bytes until ``release`` is set, so a test can stop a download in
the middle of a file deterministically.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

_PIECE = 64 * 1024


@dataclass
class FakeHub:
    """Serves ``repos`` (hub id → folder) on 127.0.0.1; use as a context manager."""

    repos: dict[str, Path]
    gated: set[str] = field(default_factory=set)
    bytes_per_second: float | None = None
    hold_at: int | None = None
    release: threading.Event = field(default_factory=threading.Event)
    held: threading.Event = field(default_factory=threading.Event)
    requests: list[tuple[str, str]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _closing: threading.Event = field(default_factory=threading.Event)

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake hub is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def sha(self, repo_id: str) -> str:
        digest = hashlib.sha1(repo_id.encode())
        for path in self._files(repo_id):
            digest.update(path.encode())
            digest.update((self.repos[repo_id] / path).read_bytes())
        return digest.hexdigest()

    def _files(self, repo_id: str) -> list[str]:
        root = self.repos[repo_id]
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    def __enter__(self) -> FakeHub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
                pass

            def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
                hub._handle(self, head=True)

            def do_GET(self) -> None:  # noqa: N802
                hub._handle(self, head=False)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fake-hub", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # ------------------------------------------------------------------ routing

    def _handle(self, req: BaseHTTPRequestHandler, *, head: bool) -> None:
        path = unquote(urlsplit(req.path).path)
        self.requests.append((req.command, path))
        parts = path.strip("/").split("/")
        try:
            if parts[:2] == ["api", "models"] and len(parts) >= 4:
                repo_id = "/".join(parts[2:4])
                self._check_repo(repo_id)
                if len(parts) == 4 or parts[4] == "revision":
                    self._json(req, self._model_info(repo_id), head)
                elif parts[4] == "tree":
                    self._json(req, self._tree(repo_id), head)
                else:
                    raise _HubError(404, "EntryNotFound")
            elif len(parts) >= 5 and parts[2] == "resolve":
                repo_id = "/".join(parts[:2])
                self._check_repo(repo_id)
                self._file(req, repo_id, "/".join(parts[4:]), head)
            else:
                raise _HubError(404, "RepoNotFound")
        except _HubError as err:
            body = json.dumps({"error": err.code}).encode()
            req.send_response(err.status)
            req.send_header("X-Error-Code", err.code)
            req.send_header("Content-Type", "application/json")
            req.send_header("Content-Length", str(len(body)))
            req.end_headers()
            if not head:
                req.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a stopped download): nothing to answer

    def _check_repo(self, repo_id: str) -> None:
        if repo_id in self.gated:
            raise _HubError(401, "GatedRepo")
        if repo_id not in self.repos:
            raise _HubError(404, "RepoNotFound")

    def _model_info(self, repo_id: str) -> dict[str, Any]:
        root = self.repos[repo_id]
        siblings = [{"rfilename": f, "size": (root / f).stat().st_size} for f in self._files(repo_id)]
        return {"id": repo_id, "sha": self.sha(repo_id), "private": False, "siblings": siblings}

    def _tree(self, repo_id: str) -> list[dict[str, Any]]:
        root = self.repos[repo_id]
        return [
            {"type": "file", "path": f, "size": (root / f).stat().st_size, "oid": _etag(root / f)}
            for f in self._files(repo_id)
        ]

    def _json(self, req: BaseHTTPRequestHandler, data: object, head: bool) -> None:
        body = json.dumps(data).encode()
        req.send_response(200)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        if not head:
            req.wfile.write(body)

    def _file(self, req: BaseHTTPRequestHandler, repo_id: str, name: str, head: bool) -> None:
        file = self.repos[repo_id] / name
        if not file.is_file():
            raise _HubError(404, "EntryNotFound")
        data = file.read_bytes()
        start = 0
        ranged = req.headers.get("Range", "")
        if ranged.startswith("bytes=") and ranged.endswith("-"):
            start = min(int(ranged[6:-1]), len(data))
        req.send_response(206 if start else 200)
        req.send_header("X-Repo-Commit", self.sha(repo_id))
        req.send_header("ETag", f'"{_etag(file)}"')
        req.send_header("Accept-Ranges", "bytes")
        req.send_header("Content-Length", str(len(data) - start))
        if start:
            req.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        req.end_headers()
        if head:
            return
        sent = start
        hold = self.hold_at if name.endswith(".safetensors") else None
        while sent < len(data) and not self._closing.is_set():
            if hold is not None and sent >= hold:
                hold = None
                self.held.set()
                self.release.wait(30)
            piece = data[sent : sent + _PIECE]
            req.wfile.write(piece)
            req.wfile.flush()
            sent += len(piece)
            if self.bytes_per_second:
                self._closing.wait(len(piece) / self.bytes_per_second)


class _HubError(Exception):
    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


def _etag(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()

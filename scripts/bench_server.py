"""Server backend benchmark: what one request costs the client, against a loopback server that answers at once.

    .venv/bin/python scripts/bench_server.py [--requests 300] [--compare-root DIR]

The server (this process) answers every chat request immediately with a short tool
call, either as one JSON body or as 20 server-sent events; each client runs in its own
process so the server's work does not share its interpreter. ``--compare-root`` runs
the same client measurement with the ``agent`` package found in DIR (for example an
export of an older commit: ``git archive OLD agent | tar -x -C DIR``); that client is
only sent JSON answers when it does not ask for a stream. A raw ``http.client`` POST is
the floor. Prints a table, writes docs/bench_server.json and its section of
docs/benchmarks.md. Times are medians in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import ROOT, machine, table, write_json, write_section  # noqa: E402

REPLY = '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [512, 300]}}\n</tool_call>'
CHUNKS = 20


def _completion() -> bytes:
    message = {"role": "assistant", "content": REPLY}
    usage = {"prompt_tokens": 1200, "completion_tokens": 40}
    return json.dumps(
        {"object": "chat.completion", "choices": [{"index": 0, "message": message}], "usage": usage}
    ).encode()


def _events() -> bytes:
    size = -(-len(REPLY) // CHUNKS)
    out = []
    for i in range(0, len(REPLY), size):
        chunk = {
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": REPLY[i : i + size]}, "finish_reason": None}],
        }
        out.append(f"data: {json.dumps(chunk)}\n\n")
    out.append('data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n')
    out.append("data: [DONE]\n\n")
    return "".join(out).encode()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        sse = self.path.startswith("/sse/") and body.get("stream")
        payload = _events() if sse else _completion()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream" if sse else "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


WORKER = r"""
import http.client, json, statistics, sys, threading, time
root, port, prefix, requests, with_image = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1"
sys.path.insert(0, root)
from PIL import Image
def ms(values):
    return statistics.median(values) * 1000
results = {}
if prefix == "raw":
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
    times = []
    for i in range(requests + 20):
        t = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/json/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
        conn.getresponse().read()
        conn.close()
        if i >= 20:
            times.append(time.perf_counter() - t)
    print(json.dumps({"median_ms": ms(times)}))
    sys.exit()
from agent.backends.base import ChatRequest
from agent.backends.openai import OpenAIBackend
parts = [{"type": "text", "text": "The user's task: open the menu"}]
if with_image:
    parts.append({"type": "image", "image": Image.new("RGB", (1288, 728), (40, 90, 160))})
request = ChatRequest(messages=[{"role": "user", "content": parts}], tools=[], max_new_tokens=64)
backend = OpenAIBackend(f"http://127.0.0.1:{port}/{prefix}/v1", "m", timeout_s=10)
cancel = threading.Event()
times = []
for i in range(requests + 20):
    t = time.perf_counter()
    text = backend.complete(request, cancel).text
    if i >= 20:
        times.append(time.perf_counter() - t)
assert text == json.loads(sys.argv[6]), text
print(json.dumps({"median_ms": ms(times)}))
"""


def measure(root: Path, port: int, prefix: str, requests: int, with_image: bool) -> float:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            WORKER,
            str(root),
            str(port),
            prefix,
            str(requests),
            "1" if with_image else "0",
            json.dumps(REPLY),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise SystemExit(f"worker failed:\n{result.stderr}")
    return float(json.loads(result.stdout)["median_ms"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--compare-root", type=Path, help="a folder holding another agent package to measure too"
    )
    parser.add_argument("--compare-label", default="before", help="its name in the table")
    args = parser.parse_args()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    rows: list[list[object]] = []
    data: dict[str, Any] = {"machine": machine(), "requests": args.requests, "results": []}

    def add(client: str, answer: str, image: bool, value: float) -> None:
        rows.append([client, answer, "1288x728 JPEG" if image else "none", value])
        data["results"].append({"client": client, "answer": answer, "image": image, "median_ms": value})

    add("raw http.client POST (floor)", "JSON", False, measure(ROOT, port, "raw", args.requests, False))
    for image in (False, True):
        add("httpx2 (this tree)", "JSON", image, measure(ROOT, port, "json", args.requests, image))
        add(
            "httpx2 (this tree)",
            f"SSE, {CHUNKS} chunks",
            image,
            measure(ROOT, port, "sse", args.requests, image),
        )
        if args.compare_root is not None:
            label = args.compare_label
            add(label, "JSON", image, measure(args.compare_root, port, "json", args.requests, image))
    httpd.shutdown()

    markdown = "\n".join(
        [
            "## Server backend: client cost per request (`scripts/bench_server.py`)",
            "",
            f"Command: `.venv/bin/python scripts/bench_server.py --requests {args.requests}"
            + (" --compare-root DIR" if args.compare_root else "")
            + f"` on {machine()}; loopback server answering at once, one connection per request; "
            f"medians of {args.requests} requests after 20 warm-up ones.",
            "",
            table(["client", "answer", "image", "ms per request (median)"], rows),
            "",
            "The difference between clients is the thread hand-off and httpx2's request machinery, "
            "well under the time of one generated token; the model's time per step is seconds.",
        ]
    )
    sys.stdout.write(markdown + "\n")
    write_json(ROOT / "docs" / "bench_server.json", data)
    write_section("bench_server", markdown)


if __name__ == "__main__":
    main()

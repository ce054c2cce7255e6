"""Serve scripted model replies as an OpenAI-compatible server on 127.0.0.1: a dry run of the server backend.

    .venv/bin/python scripts/canned_server.py REPLIES.jsonl [--port 8765] [--model canned]

REPLIES.jsonl is the scripted backend's format, one ``{"reply": "<model text>"}`` a line;
each chat request gets the next reply, and the last one again once they run out. It
serves until Ctrl+C. Point a command at it with ``--backend openai --base-url
http://127.0.0.1:PORT/v1 --model canned`` (or the tray's Settings: Backend, Server URL,
Model). Exit codes: 0 stopped with Ctrl+C, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("replies", type=Path, metavar="REPLIES.jsonl", help='one {"reply": "..."} per line')
    parser.add_argument(
        "--port", type=int, default=8765, help="loopback port, 0 for any free one (default: 8765)"
    )
    parser.add_argument("--model", default="canned", help="the model name it lists (default: canned)")
    args = parser.parse_args(argv)

    from agent.backends.scripted import load_script
    from agent.errors import ConfigError
    from agent.testing.chat_server import CannedChatServer, serving

    try:
        replies = load_script(args.replies)
    except ConfigError as err:
        sys.stderr.write(f"canned_server: error: {err}\n")
        return 2
    served = [0]

    def answer(body: dict[str, Any]) -> str:
        reply = replies[min(served[0], len(replies) - 1)]
        served[0] += 1
        sys.stderr.write(f"request {served[0]}: answered with reply {min(served[0], len(replies))}\n")
        return reply

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        with serving(CannedChatServer(answer, port=args.port, models=[args.model])) as server:
            served_as = f"{len(replies)} replies as model {args.model!r} at {server.url}"
            sys.stderr.write(f"serving {served_as} (Ctrl+C ends)\n")
            sys.stderr.flush()
            done.wait()
    except KeyboardInterrupt:
        pass
    except OSError as err:
        sys.stderr.write(f"canned_server: error: cannot listen on 127.0.0.1:{args.port}: {err.strerror}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

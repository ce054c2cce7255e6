"""Run ``deskpilot ARGS...`` with the speech's own timing noted: when the command began, the first
line handed to speech, and espeak-ng's first audio samples (the first spoken word).

Usage: python scripts/first_word_probe.py TIMES.json ARGS...   (as ``python -m agent ARGS...``)

Writes {"interpreter", "command", "first_line", "first_audio", "text"} as ``time.time()``
stamps (comparable with the launching process's clock) to TIMES.json when the command
ends. Nothing is slept or polled: each stamp is taken inside the call it names.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

INTERPRETER_UP = time.time()
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    out = Path(sys.argv[1])
    stamps: dict[str, Any] = {"interpreter": INTERPRETER_UP}

    import agent.cli.access as access
    from agent.access import speech

    open_speech = access._speech

    def timed_open(*args: Any, **kwargs: Any) -> Any:
        stamps.setdefault("command", time.time())  # the command's first act
        return open_speech(*args, **kwargs)

    say = speech.ThreadedSpeech.say

    def timed_say(self: Any, text: str, lang: str | None = None) -> None:
        if "first_line" not in stamps:
            stamps["first_line"], stamps["text"] = time.time(), text
        say(self, text, lang)

    write = speech.WavUtterer._write

    def timed_write(self: Any, samples: bytes) -> None:
        stamps.setdefault("first_audio", time.time())
        write(self, samples)

    access._speech = timed_open  # type: ignore[assignment]
    speech.ThreadedSpeech.say = timed_say  # type: ignore[method-assign]
    speech.WavUtterer._write = timed_write  # type: ignore[method-assign]
    sys.argv = ["deskpilot", *sys.argv[2:]]
    from agent.cli import run

    try:
        run()
    finally:
        out.write_text(json.dumps(stamps))


if __name__ == "__main__":
    main()

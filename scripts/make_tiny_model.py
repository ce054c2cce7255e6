"""Write a tiny random-weight Qwen3-VL checkpoint for offline tests and demos.

    .venv/bin/python scripts/make_tiny_model.py /tmp/tiny-qwen3vl

Exit codes: 0 written, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _size_on_disk(directory: Path) -> int:
    return sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build a tiny random Qwen3-VL (real architecture, a few MB) into DIR."
    )
    parser.add_argument("directory", metavar="DIR", type=Path, help="where to save it")
    parser.add_argument("--seed", type=int, default=0, help="weight seed (default 0)")
    parser.add_argument(
        "--overwrite", action="store_true", help="write into DIR even if it is not empty"
    )
    args = parser.parse_args(argv)
    directory: Path = args.directory

    if args.seed < 0:
        return _bad_input(f"--seed must be 0 or more, got {args.seed}")
    if directory.exists() and not directory.is_dir():
        return _bad_input(f"{directory} exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()) and not args.overwrite:
        return _bad_input(f"{directory} is not empty (pass --overwrite to write into it anyway)")

    # Imported here so --help and bad input answer without loading torch.
    from agent.testing.tiny import build_tiny_qwen3vl

    try:
        build_tiny_qwen3vl(directory, seed=args.seed)
    except OSError as err:
        return _bad_input(f"cannot write {directory}: {err.strerror or err}")
    size_mb = _size_on_disk(directory) / 1e6
    sys.stdout.write(f"tiny Qwen3-VL saved to {directory.resolve()} ({size_mb:.1f} MB)\n")
    return 0


def _bad_input(message: str) -> int:
    sys.stderr.write(f"make_tiny_model: error: {message}\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# Runs the linters, the type checker and the test suite on a real X server. It reuses
# $DISPLAY when one is set,
# otherwise starts a private Xvfb (1920x1080, depth 24: mss refuses 16).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1

xvfb_pid=""
cleanup() { [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null; true; }
trap cleanup EXIT
if [ -z "${DISPLAY:-}" ]; then
  # -displayfd lets Xvfb pick a free display number and tell us when it is ready.
  fifo=$(mktemp -u); mkfifo "$fifo"
  # -noreset: otherwise Xvfb resets when its last client disconnects and drops the
  # connections opened during the reset (seen as rare "Connection reset by peer").
  Xvfb -displayfd 3 -screen 0 1920x1080x24 -nolisten tcp -noreset 3>"$fifo" >/dev/null 2>&1 &
  xvfb_pid=$!
  read -r -t 30 num <"$fifo" || { echo "error: Xvfb did not start" >&2; exit 1; }
  rm -f "$fifo"
  export DISPLAY=":$num"
fi
.venv/bin/ruff check agent ui tests scripts
.venv/bin/mypy
.venv/bin/python -m pytest -p no:xvfb -p no:cacheprovider "$@"

#!/usr/bin/env bash
# Runs the linters, the type checker and the test suite on X servers of its own, so
# that the tests never move the pointer, type into or change the clipboard of the
# desktop you are sitting at. $DISPLAY is ignored.
#
#   bash scripts/test.sh [PYTEST ARGS...]      ruff, mypy, then pytest
#   bash scripts/test.sh --run CMD [ARGS...]   start the same X servers, run CMD there
#                                              instead (a benchmark, a shell, xdpyinfo)
#
# It starts, and stops on exit, a private Xvfb, 1920x1080 depth 24 (scripts/xvfb.sh).
#
# Environment (read):
#   DESKPILOT_TEST_DISPLAY=:5   run the suite on this existing display instead of a
#                               private Xvfb. It will be driven like a user would:
#                               pointer, keys, clipboard. Only name a display you mean.
# Environment (set for the suite): DISPLAY and DESKPILOT_TEST_DISPLAY (the same
# display; tests/conftest.py refuses to run on any other).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1

run=()
if [ "${1:-}" = "--run" ]; then
  shift
  [ $# -gt 0 ] || { echo "error: --run needs a command" >&2; exit 2; }
  run=("$@")
fi

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

answers() { DISPLAY=$1 xdpyinfo >/dev/null 2>&1; }

if [ -n "${DESKPILOT_TEST_DISPLAY:-}" ]; then
  answers "$DESKPILOT_TEST_DISPLAY" \
    || { echo "error: DESKPILOT_TEST_DISPLAY=$DESKPILOT_TEST_DISPLAY: no X server answers there" >&2; exit 2; }
else
  read -r DESKPILOT_TEST_DISPLAY xvfb_pid < <(bash scripts/xvfb.sh) || exit 1
  pids+=("$xvfb_pid")
fi
export DISPLAY=$DESKPILOT_TEST_DISPLAY DESKPILOT_TEST_DISPLAY

if [ ${#run[@]} -gt 0 ]; then
  # Not exec: the trap has to stop the servers when the command ends.
  "${run[@]}"
  exit
fi
.venv/bin/ruff check agent ui tests scripts
.venv/bin/mypy
.venv/bin/python -m pytest -p no:xvfb -p no:cacheprovider "$@"

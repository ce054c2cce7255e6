#!/usr/bin/env bash
# Runs the linters, the type checker and the test suite on X servers of its own, so
# that the tests never move the pointer, type into or change the clipboard of the
# desktop you are sitting at. $DISPLAY is ignored.
#
#   bash scripts/test.sh [PYTEST ARGS...]      ruff, mypy, then pytest
#   bash scripts/test.sh --run CMD [ARGS...]   start the same X servers, run CMD there
#                                              instead (a benchmark, a shell, xdpyinfo)
#
# It starts, and stops on exit:
#   - a private Xvfb, 1920x1080 depth 24 (scripts/xvfb.sh): DISPLAY for the suite;
#   - a two-monitor Xorg dummy server (scripts/xorg_dummy.sh, needs root) for
#     tests/test_multimonitor.py. Where it cannot start, those tests are skipped with
#     the reason, or fail when CI=true.
#
# Environment (read):
#   DESKPILOT_TEST_DISPLAY=:5   run the suite on this existing display instead of a
#                               private Xvfb. It will be driven like a user would:
#                               pointer, keys, clipboard. Only name a display you mean.
#   DESKPILOT_DUAL_DISPLAY=:6   use this existing two-monitor display instead of
#                               starting the Xorg dummy server.
#   CI=true                     a missing two-monitor display fails those tests.
# Environment (set for the suite): DISPLAY and DESKPILOT_TEST_DISPLAY (the same
# display; tests/conftest.py refuses to run on any other), DESKPILOT_DUAL_DISPLAY
# (empty when there is none) and DESKPILOT_DUAL_UNAVAILABLE (why there is none).
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
# The suite's display is an X server of its own: a Wayland login around it must not
# make the platform selection (agent/computers/selection.py) refuse the commands.
unset WAYLAND_DISPLAY XDG_SESSION_TYPE DESKPILOT_PLATFORM

DESKPILOT_DUAL_UNAVAILABLE=""
if [ -n "${DESKPILOT_DUAL_DISPLAY:-}" ]; then
  answers "$DESKPILOT_DUAL_DISPLAY" \
    || { echo "error: DESKPILOT_DUAL_DISPLAY=$DESKPILOT_DUAL_DISPLAY: no X server answers there" >&2; exit 2; }
else
  why=$(mktemp)
  if read -r DESKPILOT_DUAL_DISPLAY dual_pid < <(bash scripts/xorg_dummy.sh 2>"$why"); then
    pids+=("$dual_pid")
  else
    DESKPILOT_DUAL_DISPLAY=""
    DESKPILOT_DUAL_UNAVAILABLE=$(head -1 "$why")
    DESKPILOT_DUAL_UNAVAILABLE=${DESKPILOT_DUAL_UNAVAILABLE:-scripts/xorg_dummy.sh failed without saying why}
    echo "note: no two-monitor display, the multi-monitor tests will not run: $DESKPILOT_DUAL_UNAVAILABLE" >&2
  fi
  rm -f "$why"
fi
export DESKPILOT_DUAL_DISPLAY DESKPILOT_DUAL_UNAVAILABLE

if [ ${#run[@]} -gt 0 ]; then
  # Not exec: the trap has to stop the servers when the command ends.
  "${run[@]}"
  exit
fi
.venv/bin/ruff check agent ui tests scripts
.venv/bin/mypy
.venv/bin/python -m pytest -p no:xvfb -p no:cacheprovider "$@"

#!/usr/bin/env bash
# Starts a private Xvfb on a free display number and prints ":N PID" once it accepts
# connections; the caller stops it with `kill PID`. scripts/test.sh uses it.
#   read -r display pid < <(bash scripts/xvfb.sh)        1920x1080, as the suite expects
#   bash scripts/xvfb.sh 2560x1440                       another size (depth is always 24)
set -euo pipefail
size=${1:-1920x1080}
[[ $size =~ ^[0-9]+x[0-9]+$ ]] || { echo "error: size must be WIDTHxHEIGHT, not '$size'" >&2; exit 2; }
command -v Xvfb >/dev/null || { echo "error: Xvfb is not installed; scripts/install.sh installs it" >&2; exit 1; }

fifo=$(mktemp -u); mkfifo "$fifo"
trap 'rm -f "$fifo"' EXIT
# -displayfd: Xvfb picks a free display number and writes it once it is ready, so
# there is neither a race for the number nor a sleep. Depth 24: mss refuses 16.
# -noreset: otherwise Xvfb resets when its last client disconnects and drops the
# connections opened during the reset (seen as rare "Connection reset by peer").
# Its stdout/stderr go nowhere: a reader of ours (a pipe) would otherwise never see EOF.
Xvfb -displayfd 3 -screen 0 "${size}x24" -nolisten tcp -noreset 3>"$fifo" </dev/null >/dev/null 2>&1 &
pid=$!
if ! read -r -t 30 num <"$fifo"; then
  kill "$pid" 2>/dev/null || true
  echo "error: Xvfb did not start within 30 s" >&2
  exit 1
fi
echo ":$num $pid"

#!/usr/bin/env bash
# Starts a two-monitor X server for the multi-monitor tests and prints ":N PID" once
# both monitors exist; the caller stops it with `kill PID`. scripts/test.sh uses it.
#
# Xvfb cannot have two RandR monitors (xrandr --setmonitor fails with BadValue there,
# and +xinerama gives mss an inconsistent list), so this is Xorg with the dummy video
# driver: one 3200x1080 screen split into RandR monitors
#   L  1280x1024 at +0+0        (mss monitor 1)
#   R  1920x1080 at +1280+0     (mss monitor 2)
# (tests/multimonitor.py holds the same layout). Negative origins and per-monitor
# scales cannot exist on one X screen, so those stay pure geometry tests.
#
# Xorg needs root. When it cannot run here this exits 3 with one line on stderr saying
# why (not root, not installed, or the first error in Xorg's log); other failures exit 1.
set -euo pipefail
cd "$(dirname "$0")/.."

unavailable() { echo "$1" >&2; exit 3; }
[ "$(id -u)" -eq 0 ] || unavailable "Xorg with the dummy driver needs root (this is uid $(id -u))"
command -v Xorg >/dev/null || unavailable "Xorg is not installed (apt-get install xserver-xorg-core)"
command -v xrandr >/dev/null || unavailable "xrandr is not installed (apt-get install x11-xserver-utils)"
ls /usr/lib/xorg/modules/drivers/dummy_drv.so >/dev/null 2>&1 \
  || unavailable "the Xorg dummy driver is not installed (apt-get install xserver-xorg-video-dummy)"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# AutoAddDevices/AutoAddGPU off: the server must not open the machine's real input
# devices or GPUs; the tests' input comes through XTEST (xdotool, pyautogui).
cat >"$dir/xorg.conf" <<'CONF'
Section "ServerFlags"
  Option "DontVTSwitch" "true"
  Option "AllowMouseOpenFail" "true"
  Option "AutoAddDevices" "false"
  Option "AutoAddGPU" "false"
  Option "AutoBindGPU" "false"
EndSection
Section "Device"
  Identifier "dummy"
  Driver "dummy"
  VideoRam 512000
EndSection
Section "Monitor"
  Identifier "monitor"
  HorizSync 5.0-1000.0
  VertRefresh 5.0-200.0
EndSection
Section "Screen"
  Identifier "screen"
  Device "dummy"
  Monitor "monitor"
  DefaultDepth 24
  SubSection "Display"
    Depth 24
    Virtual 3200 1080
  EndSubSection
EndSection
CONF

fifo="$dir/displayfd"; mkfifo "$fifo"
# -displayfd: a free display number, written once the server accepts connections.
# -sharevts -novtswitch: stay on the console's current VT instead of taking a free
# one and switching to it (which, run as root on a workstation, would blank the
# user's screen). No -keeptty: with it Xorg would take over the login session
# through systemd-logind. +extension RECORD: pynput's listeners need it.
Xorg -displayfd 3 -config "$dir/xorg.conf" -logfile "$dir/Xorg.log" -noreset -nolisten tcp \
  -sharevts -novtswitch +extension RECORD 3>"$fifo" </dev/null >/dev/null 2>&1 &
pid=$!
if ! read -r -t 30 num <"$fifo"; then
  kill "$pid" 2>/dev/null || true
  # The first error is the cause; later ones follow from it. No input drivers and no
  # system bus are expected here (input comes through XTEST) and are not a reason.
  why=$(grep -a '(EE)' "$dir/Xorg.log" 2>/dev/null | sed 's/^\[[^]]*\] *//' \
    | grep -av -e '^(EE) *$' -e 'warning, (EE) error' -e 'module "\(mouse\|kbd\|libinput\)"' \
      -e 'No input driver' -e 'dbus' | head -1 | sed 's/^(EE) *//' || true)
  unavailable "Xorg did not start: ${why:-it wrote no error to its log}"
fi
display=":$num"

fail() { kill "$pid" 2>/dev/null || true; echo "error: $1" >&2; exit 1; }
# The dummy output comes up at some mode; switch it off so that only the monitors
# below describe the screen, then set the screen size and the two monitors (these
# calls are synchronous: when xrandr returns the server has them).
output=$(DISPLAY=$display xrandr --query | awk '/ connected/ {print $1; exit}')
[ -n "$output" ] || fail "the dummy X server on $display has no connected output"
DISPLAY=$display xrandr --output "$output" --off >/dev/null \
  && DISPLAY=$display xrandr --fb 3200x1080 \
  && DISPLAY=$display xrandr --setmonitor L 1280/338x1024/270+0+0 none \
  && DISPLAY=$display xrandr --setmonitor R 1920/508x1080/286+1280+0 none \
  || fail "xrandr could not set up the two monitors on $display"
count=$(DISPLAY=$display xrandr --listmonitors | awk '/^Monitors:/ {print $2}')
[ "$count" = 2 ] || fail "the dummy X server on $display has $count monitors, not 2"
echo "$display $pid"

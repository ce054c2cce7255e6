#!/usr/bin/env bash
# Installs Deskpilot into ./.venv on Debian/Ubuntu: the X11 tools it drives the
# desktop with (apt, through sudo when not root), then torch, then the project.
#   bash scripts/install.sh             runtime only
#   bash scripts/install.sh --test      runtime plus the test tools
#   bash scripts/install.sh --packages  print the apt packages the runtime install wants here, and stop
#                                       (with --test: those of the install with the test tools)
# The options go in any order.
set -euo pipefail
cd "$(dirname "$0")/.."

extra=""
packages_only=false
for arg in "$@"; do
  case "$arg" in
    --test) extra="[test]" ;;
    --packages) packages_only=true ;;
    *) echo "error: unknown option $arg (scripts/install.sh takes --test and --packages)" >&2; exit 2 ;;
  esac
done

# xclip: saves and restores the clipboard around a paste of non-ASCII text; xdotool:
# the tests' input generator; Xvfb and trayer: a virtual screen and tray host for tests
# and headless use; Xorg's dummy driver and xrandr: the two-monitor test display
# (scripts/xorg_dummy.sh); the libxcb/EGL set is what Qt's xcb platform plugin loads.
# espeak-ng is the offline voice (aplay plays it where no PipeWire/PulseAudio player
# is), fonts-noto-cjk draws Chinese text (for OCR tests), and at-spi2-core with
# Debian's pyatspi lets the tests read the windows' accessible tree the way Orca does.
apt_packages=(xvfb xdotool x11-utils xterm trayer xcompmgr
  libegl1 libgl1 libfontconfig1 libdbus-1-3 libglib2.0-0
  espeak-ng alsa-utils libatspi2.0-0
  libgirepository1.0-dev libcairo2-dev pkg-config gcc python3-dev)
# The -dev set, pkg-config and gcc build PyGObject into the venv below.
python3 -c "import ensurepip" 2>/dev/null || apt_packages+=(python3-venv)
# What the desktop backends need (X11's and the accessibility tree's always, and the
# detected Wayland desktop's: GNOME's GStreamer PipeWire source, KDE's wl-clipboard):
# the table agent/system_packages.txt, which `deskpilot doctor` checks too.
desktop_packages=$(PYTHONPATH=. python3 -m agent.system_packages)
read -r -a desktop_packages <<<"$desktop_packages"
apt_packages+=("${desktop_packages[@]}")
# Only the tests need these: real Chromium and GTK windows (GTK through Debian's
# python3-gi, run with /usr/bin/python3), CJK fonts to draw test pages, the two-monitor
# server, and the accessibility bus with Debian's pyatspi (GTK3 and GTK4 windows for the
# tree's click and read tests). Chromium also renders
# `deskpilot skill design-to-html --preview` where a user installs it. sway, xwayland
# and dbus (dbus-run-session) run the headless Wayland session of tests/wayland.py, in
# which tests/test_wlroots.py drives a GTK window through the wlroots backend and
# tests/test_wayland_refusal.py proves that commands refuse instead of acting blind;
# libwayland-dev brings wayland.xml, from which tests/test_wlroots_protocols.py
# regenerates the shipped protocol bindings to check they still match. mutter,
# pipewire, wireplumber and GStreamer's pipewiresrc run the headless GNOME session of
# tests/test_gnome_platform.py (about 50 s of apt on a clean CI image). gnome-shell and
# gnome-settings-daemon (gsd-media-keys: what runs GNOME's custom keybindings, the kill
# chord) run tests/test_gnome_shell.py: 48 more packages, 17 s of apt measured here.
# xdg-desktop-portal and its gnome backend run tests/test_gnome_portal.py (GNOME through
# the portal, with its consent dialog): 7 more packages, a 0.9 MB download.
[ -n "$extra" ] && apt_packages+=(chromium fonts-noto-cjk python3-gi gir1.2-gtk-3.0 gir1.2-gtk-4.0
  xserver-xorg-core xserver-xorg-video-dummy x11-xserver-utils at-spi2-core python3-pyatspi
  sway xwayland dbus libwayland-dev
  mutter pipewire wireplumber gstreamer1.0-pipewire gir1.2-gstreamer-1.0 gstreamer1.0-plugins-base
  gnome-shell gnome-settings-daemon xdg-desktop-portal xdg-desktop-portal-gnome)
# On a wlroots desktop (sway, Hyprland, river) nothing more comes from apt: the backend
# speaks the Wayland protocols itself through pywayland (a project dependency, a wheel
# with its own libwayland). Say what was found, so a user knows which backend runs.
$packages_only || case "${XDG_CURRENT_DESKTOP:-}" in
  *sway*|*Hyprland*|*river*|*wlroots*) echo "desktop: ${XDG_CURRENT_DESKTOP} (wlroots backend; kill chord through sway IPC on sway only)" ;;
esac
# Tests only: a headless KWin (kwin_wayland --virtual) for tests/test_kde_platform.py,
# with Mesa's llvmpipe, which KWin needs for GL compositing and so for ScreenShot2,
# and wl-clipboard, which the KDE backend pastes through.
# It costs about 44 s and 136 packages on a fresh Debian 12, next to a suite of
# about 4 minutes: it fits CI's 30 minutes, so CI runs the KDE tests on every commit.
[ -n "$extra" ] && apt_packages+=(kwin-wayland libgl1-mesa-dri libegl-mesa0 wl-clipboard)
$packages_only || case "${XDG_CURRENT_DESKTOP:-}" in
  *KDE*) echo "desktop: ${XDG_CURRENT_DESKTOP} (KDE backend, experimental: fake-input, ScreenShot2, wl-clipboard)" ;;
esac
if $packages_only; then
  echo "${apt_packages[*]}"
  exit 0
fi

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  # Waits (saying so) for apt's lock when another package manager holds it.
  bash scripts/apt_packages.sh "${missing[@]}"
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
# pip -q still warns about every missing local index folder on these machines, and
# setuptools prints boxed deprecation banners; show only what matters
# (scripts/pip_quiet.awk), and all of it when pip fails.
pip_quiet() {
  local log; log=$(mktemp)
  if ! .venv/bin/python -m pip install -q "$@" >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"; return 1
  fi
  awk -f scripts/pip_quiet.awk "$log" | head -20 || true
  rm -f "$log"
}
pip_quiet --upgrade pip
# torch first and pinned: with torch absent, any looser spec (including the
# project's own range) makes pip resolve the newest build and its CUDA wheels.
pip_quiet "torch==2.13.0"
pip_quiet -e ".${extra}"
# PyGObject reaches AT-SPI from the venv. Built here rather than borrowed from Debian's
# python3-gi: a venv on another CPython build (pyenv, a newer Debian) does not see
# Debian's dist-packages, and a .pth pointing there breaks with the next minor version.
# Below 3.51 because 3.52+ needs girepository-2.0 (GLib >= 2.80; Debian 12 has 2.74).
# Not a project dependency: without it (or without a bus) read and click use OCR.
pip_quiet "PyGObject>=3.42,<3.51"
# torchvision from the registry is a CUDA build; next to a CPU torch it breaks
# transformers' processor imports, so refuse to continue with it present.
if .venv/bin/python -c "import importlib.util,sys; sys.exit(importlib.util.find_spec('torchvision') is None)"; then
  if ! .venv/bin/python -c "import torchvision" 2>/dev/null; then
    echo "error: a broken torchvision is installed in .venv (it does not match torch); run: .venv/bin/pip uninstall -y torchvision" >&2
    exit 1
  fi
fi
# KDE Plasma on Wayland grants fake-input and ScreenShot2 only to programs whose desktop
# entry asks for them; the entry names this venv's interpreter by its real path.
if [ "$(uname -s)" = "Linux" ]; then
  echo "KDE desktop entry: $(.venv/bin/python -c 'from agent.computers.kde.entry import install_desktop_entry; print(install_desktop_entry())')"
fi
echo "installed: $(.venv/bin/deskpilot --version)"

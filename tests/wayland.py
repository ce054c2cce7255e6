"""Real headless Wayland sessions for tests: sway with Xwayland, or mutter with PipeWire, as an unprivileged user.

The recipe of ``../shared/wayland-facts.md`` §0 and §4: sway refuses to run as root,
so it runs as ``nobody`` with a private ``XDG_RUNTIME_DIR`` and a private D-Bus
session (``dbus-run-session``). Xwayland takes the first free display from ``:0``,
so the session gets its own mount and network namespace (a fresh ``/tmp``; abstract
X sockets are per network namespace) and cannot clash with the suite's Xvfb or
anyone else's X server. Commands run inside the same namespaces through ``nsenter``.

Needs root (to make the namespaces and drop to ``nobody``; CI runs as root) and the
packages sway, xwayland, dbus (``dbus-run-session``) and x11-xserver-utils (``xhost``).

``headless_mutter`` is the GNOME sibling (§1a): ``mutter --headless --virtual-monitor``
without Xwayland, with pipewire and wireplumber in the same private D-Bus session, so
Mutter's own RemoteDesktop and ScreenCast D-Bus API answer on ``bus``. Its packages:
mutter, pipewire, wireplumber, gstreamer1.0-pipewire, gir1.2-gstreamer-1.0, dbus.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import wait_until

ROOT = Path(__file__).resolve().parent.parent
USER = "nobody"  # exists everywhere; the compositor needs no home of its own
PROGRAMS = {
    "sway": "sway",
    "Xwayland": "xwayland",
    "dbus-run-session": "dbus",
    "xhost": "x11-xserver-utils",
    "unshare": "util-linux",
    "nsenter": "util-linux",
    "runuser": "util-linux",
}
MUTTER_PROGRAMS = {
    "mutter": "mutter",
    "pipewire": "pipewire",
    "wireplumber": "wireplumber",
    "dbus-run-session": "dbus",
    "dbus-send": "dbus",
    "unshare": "util-linux",
    "nsenter": "util-linux",
    "runuser": "util-linux",
}
SHELL_PROGRAMS = {"gnome-shell": "gnome-shell", "gsettings": "libglib2.0-bin",
                  "/usr/libexec/gsd-media-keys": "gnome-settings-daemon"}
PORTAL_PROGRAMS = {"/usr/libexec/xdg-desktop-portal": "xdg-desktop-portal",
                   "/usr/libexec/xdg-desktop-portal-gnome": "xdg-desktop-portal-gnome",
                   "dbus-update-activation-environment": "dbus"}
START_TIMEOUT_S = 60.0  # a loaded 2-core CI machine has taken over 15 s to start gnome-shell
STOP_TIMEOUT_S = 5.0

# Headless output, Xwayland started at once (not on the first X client) so its display
# answers when the session is reported ready; the exec line reports the session's
# addresses once sway has set them up, written whole so a reader never sees half.
# No borders, so a tiled window's surface starts at the output's origin (window
# coordinates are screen coordinates) and no pointer focus moves without a click.
SWAY_CONFIG = """\
output HEADLESS-1 resolution 1920x1080 position 0 0
xwayland force
default_border none
default_floating_border none
focus_follows_mouse no
exec sh -c 'printf "%s\\n%s\\n%s\\n%s\\n" "$WAYLAND_DISPLAY" "$DISPLAY" "$DBUS_SESSION_BUS_ADDRESS" "$SWAYSOCK" \
> "$XDG_RUNTIME_DIR/session.tmp" && mv "$XDG_RUNTIME_DIR/session.tmp" "$XDG_RUNTIME_DIR/session"'
"""


class WaylandUnavailable(Exception):
    """The headless compositor cannot run here; the message says exactly why."""


@dataclass(frozen=True)
class WaylandSession:
    """A running headless sway with Xwayland; ``run`` executes inside its namespaces."""

    ns_pid: int  # a process inside the namespaces, alive as long as the session
    runtime_dir: Path
    wayland_display: str
    display: str
    bus: str
    home: Path
    started_in_s: float  # from launch until the Wayland socket, Xwayland and the bus were up
    swaysock: str = ""  # sway's IPC socket (the kill chord's binding goes through it); "" elsewhere
    desktop: str = ""  # XDG_CURRENT_DESKTOP, as the login manager sets it ("GNOME" on gnome-shell)

    def environ(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """What a program in this Wayland login sees (and the suite's own interpreter setup)."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "XDG_SESSION_TYPE": "wayland",
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
            "WAYLAND_DISPLAY": self.wayland_display,
            "DISPLAY": self.display,
            "DBUS_SESSION_BUS_ADDRESS": self.bus,
            **({"SWAYSOCK": self.swaysock} if self.swaysock else {}),
            **({"XDG_CURRENT_DESKTOP": self.desktop} if self.desktop else {}),
            "PYTHONPATH": str(ROOT),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }
        return env | dict(extra or {})

    def run(
        self, argv: list[str], env: Mapping[str, str], *, user: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the session's namespaces with exactly ``env`` (as root, or ``user``)."""
        return subprocess.run(self.command(argv, env, user=user), capture_output=True, text=True, timeout=timeout)

    def command(self, argv: list[str], env: Mapping[str, str], *, user: str | None = None) -> list[str]:
        """The argv that runs ``argv`` inside the session's namespaces with exactly ``env``."""
        as_user = ["runuser", "-u", user, "--"] if user else []
        # cd inside the namespace, not nsenter --wd: that opens the host's folder, which may
        # be closed to the user (the namespace's copy of a closed checkout is open).
        return ["nsenter", "-t", str(self.ns_pid), "-m", "-n", "--", "sh", "-c", 'cd "$0" && exec "$@"', str(ROOT),
                *as_user, "env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv]

    def spawn(
        self, argv: list[str], env: Mapping[str, str], *, user: str | None = USER, log: Path | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` in the session (as the compositor's user by default); output to ``log``."""
        out = log.open("ab") if log is not None else subprocess.DEVNULL
        try:
            return subprocess.Popen(self.command(argv, env, user=user), stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        finally:
            if log is not None and not isinstance(out, int):
                out.close()

    def deskpilot(
        self, *args: str, extra: Mapping[str, str] | None = None, user: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``python -m agent ARGS`` in this Wayland login, with no settings file (as root, or ``user``)."""
        env = self.environ({"DESKPILOT_CONFIG": str(self.home / "no-such-config.toml"), **(extra or {})})
        return self.run([sys.executable, "-m", "agent", *args], env, user=user)


def unavailable_reason(programs: Mapping[str, str] = PROGRAMS, what: str = "the compositor") -> str | None:
    """Why the session cannot start here (checked before trying), or None."""
    if not sys.platform.startswith("linux"):
        return f"a headless Wayland session needs Linux, not {sys.platform}"
    if os.geteuid() != 0:
        return (
            f"starting {what} needs root: it makes a private mount+net namespace and drops to "
            f"the unprivileged user {USER!r} (CI runs the suite as root)"
        )
    missing = sorted({pkg for prog, pkg in programs.items() if shutil.which(prog) is None})
    if missing:
        return f"missing packages: apt-get install {' '.join(missing)} (scripts/install.sh --test installs them)"
    return None


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End every process of the session: they share the process group started for it.

    wlroots restarts Xwayland when the compositor dies under it, so the whole group is
    killed at once rather than sway first; nothing in a test session needs a clean exit.
    """
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=STOP_TIMEOUT_S)


def _private_mounts(base: Path) -> str:
    """Shell run first in the namespace: a fresh /tmp, with the interpreter and the checkout still reachable.

    The namespace mounts an empty tmpfs over /tmp (private display sockets), and over
    any folder on the way to the interpreter, the checkout or its venv that the
    compositor's user may not enter (root's 0700 home with pyenv, a 0750 home), so that
    this user can run them (the kill chord's ``deskpilot stop`` is run by the
    compositor, so the run must be that user's). What the tests need from under those
    folders is bind-mounted aside first and put back after; a kept folder that is itself
    closed to others (a checkout made by ``mktemp -d``) comes back as an open tmpfs
    holding its entries, each bound from the original. The host is untouched.
    """
    real = Path(sys.executable).resolve()
    needed = [real.parent, ROOT, Path(sys.prefix)]
    covered = [Path("/tmp")]
    for path in needed:
        for folder in reversed(path.parents[:-1]):  # top down, without "/"
            if any(folder.is_relative_to(c) for c in covered):
                break
            if not folder.stat().st_mode & 0o001:
                covered.append(folder)
                break
    keep: list[Path] = []
    for path in needed:
        for cover in covered:
            if path != cover and path.is_relative_to(cover):
                kept = cover / path.relative_to(cover).parts[0]
                if kept not in keep:
                    keep.append(kept)
    q = shlex.quote
    aside = "".join(f"mkdir -p {base}/keep{i}; mount --bind {q(str(k))} {base}/keep{i}; " for i, k in enumerate(keep))
    fresh = "".join(
        f"mount -t tmpfs -o mode={'1777' if c == Path('/tmp') else '0755'} tmpfs {q(str(c))}; " for c in covered
    )
    back = ""
    for i, kept in enumerate(keep):
        back += f"mkdir -p {q(str(kept))}; "
        if kept.stat().st_mode & 0o001:
            back += f"mount --move {base}/keep{i} {q(str(kept))}; "
            continue
        back += f"mount -t tmpfs -o mode=0755 tmpfs {q(str(kept))}; "
        for entry in sorted(kept.iterdir()):
            target = q(str(entry))
            if entry.is_symlink():  # the same link: it may point anywhere outside the closed folder
                back += f"ln -s {q(os.readlink(entry))} {target}; "
                continue
            back += f"mkdir {target}; " if entry.is_dir() else f"touch {target}; "
            back += f"mount --bind {base}/keep{i}/{q(entry.name)} {target}; "
    return aside + fresh + back


@contextmanager
def _namespaced(inside: str, base: Path, log: Path, who: str, tail: Callable[[], str]) -> Iterator[float]:
    """Run ``inside`` (sh, as root) in a private mount+net namespace; wait for ``base``/rt/session.

    Yields the monotonic time it started. ``who`` and ``tail`` word a start that fails
    (the process exits, or writes no session file in ``START_TIMEOUT_S``). On leaving,
    the whole session is stopped and ``base`` removed.
    """
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["unshare", "--mount", "--net", "--fork", "--", "sh", "-c", inside],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        ready = base / "rt" / "session"
        deadline = started + START_TIMEOUT_S
        while not ready.exists():
            if process.poll() is not None:
                raise WaylandUnavailable(f"{who} exited with {process.returncode}: {tail()}")
            if time.monotonic() >= deadline:
                raise WaylandUnavailable(f"no session from {who} after {START_TIMEOUT_S:g} s: {tail()}")
            time.sleep(0.02)  # polling a file the session writes; nothing to block on
        yield started
    finally:
        _stop(process)
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def headless_sway() -> Iterator[WaylandSession]:
    """Start the session, yield it, stop it; ``WaylandUnavailable`` says why it could not start."""
    reason = unavailable_reason()
    if reason:
        raise WaylandUnavailable(reason)
    # Not under /tmp: the namespace mounts a fresh, empty /tmp over it.
    base = Path(tempfile.mkdtemp(prefix="deskpilot-sway-", dir="/var/tmp"))
    base.chmod(0o755)  # the compositor's user reads its config and runtime dir through it
    runtime, home = base / "rt", base / "home"
    for folder in (runtime, home):
        folder.mkdir(mode=0o700)
        shutil.chown(folder, USER, None)
    (base / "sway.cfg").write_text(SWAY_CONFIG)
    ns_pid_file, log = base / "ns.pid", base / "sway.log"
    compositor_env = (
        f"PATH=/usr/bin:/bin HOME={home} XDG_RUNTIME_DIR={runtime} "
        # headless: no GPU, no /dev/input; pixman: software rendering without EGL.
        "WLR_BACKENDS=headless WLR_LIBINPUT_NO_DEVICES=1 WLR_RENDERER=pixman"
    )
    inside = (
        "set -e; mount --make-rprivate /; "
        + _private_mounts(base)
        + "mkdir -m 1777 /tmp/.X11-unix; "
        + f"echo $$ > {ns_pid_file}; "  # this shell becomes runuser, which lives as long as sway
        f"exec runuser -u {USER} -- env -i {compositor_env} dbus-run-session -- sway -c {base / 'sway.cfg'}"
    )
    with _namespaced(inside, base, log, "the compositor", lambda: _tail(log)) as started:
        ready = runtime / "session"
        wayland_display, display, bus, swaysock = ready.read_text().splitlines()[:4]
        session = WaylandSession(
            ns_pid=int(ns_pid_file.read_text()),
            runtime_dir=runtime,
            wayland_display=wayland_display,
            display=display,
            bus=bus,
            home=home,
            swaysock=swaysock,
            started_in_s=time.monotonic() - started,
        )
        # Xwayland admits only its own user; the suite's interpreter lives in root's home,
        # so root is let in rather than the interpreter copied out.
        granted = session.run(
            ["xhost", "+si:localuser:root"],
            {"PATH": "/usr/bin:/bin", "DISPLAY": display}, user=USER, timeout=30,
        )
        if granted.returncode != 0:
            raise WaylandUnavailable(f"xhost on Xwayland {display} failed: {granted.stderr.strip()}")
        yield session


# Runs inside the private D-Bus session as the compositor's user: PipeWire first (Mutter
# looks for it when a screen cast starts), then mutter; the session file is written once
# the Wayland socket exists and Mutter's RemoteDesktop name is on the bus, so a test never
# races the compositor's start. ``wait`` keeps the bus alive as long as mutter runs.
MUTTER_SESSION = """\
set -u
owned() {
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \\
    org.freedesktop.DBus.NameHasOwner "string:$1" 2>/dev/null | grep -q true
}
pipewire >"$LOGS/pipewire.log" 2>&1 &
wireplumber >"$LOGS/wireplumber.log" 2>&1 &
$COMPOSITOR --headless --virtual-monitor 1920x1080 --wayland-display deskpilot-wl --no-x11 \\
  >"$LOGS/mutter.log" 2>&1 &
mutter=$!
echo "still waiting for the Wayland socket, Mutter's D-Bus API and PipeWire" >"$LOGS/waiting"
until [ -S "$XDG_RUNTIME_DIR/deskpilot-wl" ] && owned org.gnome.Mutter.RemoteDesktop \\
  && owned org.gnome.Mutter.ScreenCast && [ -S "$XDG_RUNTIME_DIR/pipewire-0" ]; do
  kill -0 $mutter 2>/dev/null || exit 3
  sleep 0.02
done
if [ "$COMPOSITOR" = gnome-shell ]; then
  # The daemon that runs GNOME's custom keybindings: it reads them from dconf and asks
  # the shell (org.gnome.Shell.GrabAccelerators) to grab them; it needs the shell's name.
  echo "still waiting for org.gnome.Shell" >"$LOGS/waiting"
  until owned org.gnome.Shell; do kill -0 $mutter 2>/dev/null || exit 3; sleep 0.02; done
  # Now and then (2 starts in about 60 here) it never takes its name: start it again.
  WAYLAND_DISPLAY=deskpilot-wl /usr/libexec/gsd-media-keys >>"$LOGS/gsd-media-keys.log" 2>&1 &
  keys=$!; tries=0
  echo "still waiting for gsd-media-keys" >"$LOGS/waiting"
  until owned org.gnome.SettingsDaemon.MediaKeys; do
    kill -0 $mutter 2>/dev/null || exit 3
    tries=$((tries + 1))
    if [ $tries -ge 300 ]; then
      kill $keys 2>/dev/null; tries=0
      WAYLAND_DISPLAY=deskpilot-wl /usr/libexec/gsd-media-keys >>"$LOGS/gsd-media-keys.log" 2>&1 &
      keys=$!
    fi
    sleep 0.02
  done
fi
if [ "$PORTALS" = 1 ]; then
  # As a GNOME login does: D-Bus-activated programs (the gnome portal backend, and a
  # portal a GTK app would activate) get the session's display and desktop name; a
  # portal started without XDG_CURRENT_DESKTOP picks no gnome backend.
  dbus-update-activation-environment WAYLAND_DISPLAY=deskpilot-wl XDG_CURRENT_DESKTOP=GNOME \
    XDG_SESSION_TYPE=wayland
  WAYLAND_DISPLAY=deskpilot-wl XDG_CURRENT_DESKTOP=GNOME /usr/libexec/xdg-desktop-portal \
    >"$LOGS/xdg-desktop-portal.log" 2>&1 &
  echo "still waiting for xdg-desktop-portal" >"$LOGS/waiting"
  until owned org.freedesktop.portal.Desktop; do kill -0 $mutter 2>/dev/null || exit 3; sleep 0.02; done
fi
printf "%s\\n%s\\n%s\\n" deskpilot-wl "" "$DBUS_SESSION_BUS_ADDRESS" > "$XDG_RUNTIME_DIR/session.tmp"
mv "$XDG_RUNTIME_DIR/session.tmp" "$XDG_RUNTIME_DIR/session"
wait $mutter
"""

# The session bus admits only its own user; the suite (root, with its interpreter in
# root's home) is let in too, as ``xhost`` does for Xwayland in the sway session.
BUS_CONFIG = """\
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <include>/usr/share/dbus-1/session.conf</include>
  <policy context="default"><allow user="root"/></policy>
</busconfig>
"""


@contextmanager
def headless_mutter(*, shell: bool = False, portals: bool = False) -> Iterator[WaylandSession]:
    """Start mutter --headless with PipeWire, yield it, stop it; ``WaylandUnavailable`` says why not.

    No Xwayland (``--no-x11``), so ``display`` is "". The namespaces still keep the
    session's abstract sockets and /tmp private. The logs of mutter, pipewire and
    wireplumber are in ``home`` while it runs.

    With ``shell``, gnome-shell (the same Mutter inside) replaces mutter, and
    gsd-media-keys runs beside it: GNOME's custom keybindings then fire (§1b's two
    tricks: a private system bus, and no /run/systemd so the shell uses no logind).
    The shell starts in its overview: a first Escape leaves it.

    With ``portals`` (and ``shell``: the gnome backend's dialogs are the shell's
    windows' siblings), xdg-desktop-portal runs with ``XDG_CURRENT_DESKTOP=GNOME``,
    so its RemoteDesktop and ScreenCast go to xdg-desktop-portal-gnome (§1c).
    """
    programs = {**MUTTER_PROGRAMS, **(SHELL_PROGRAMS if shell else {}), **(PORTAL_PROGRAMS if portals else {})}
    reason = unavailable_reason(programs)
    if reason:
        raise WaylandUnavailable(reason)
    base = Path(tempfile.mkdtemp(prefix="deskpilot-mutter-", dir="/var/tmp"))
    base.chmod(0o755)
    runtime, home = base / "rt", base / "home"
    for folder in (runtime, home):
        folder.mkdir(mode=0o700)
        shutil.chown(folder, USER, None)
    if shell:
        # Once a system bus exists, wireplumber 0.4 starts its logind monitor for bluez and
        # exits without it (§0): no PipeWire session manager, no screen cast.
        config = home / ".config" / "wireplumber" / "bluetooth.lua.d"
        config.mkdir(parents=True)
        (config / "80-disable-bluez.lua").write_text("bluez_monitor.enabled = false\n")
        for folder in (home / ".config", config.parent, config):
            shutil.chown(folder, USER, None)
    script, bus_config = base / "session.sh", base / "bus.conf"
    script.write_text(MUTTER_SESSION)
    bus_config.write_text(BUS_CONFIG)
    ns_pid_file, log = base / "ns.pid", base / "mutter-session.log"
    compositor_env = (f"PATH=/usr/bin:/bin HOME={home} XDG_RUNTIME_DIR={runtime} LOGS={home} LANG=C.UTF-8 "
                      f"COMPOSITOR={'gnome-shell' if shell else 'mutter'} PORTALS={int(portals)}")
    # The system bus runs in the session's process group (not --fork), so it ends with it.
    system_bus = ("mount -t tmpfs tmpfs /run/systemd; mount -t tmpfs tmpfs /run/dbus; "
                  "dbus-daemon --system --nofork --nopidfile & ") if shell else ""
    inside = (
        "set -e; mount --make-rprivate /; "
        + _private_mounts(base)
        + system_bus
        + f"echo $$ > {ns_pid_file}; "
        f"exec runuser -u {USER} -- env -i {compositor_env} dbus-run-session --config-file={bus_config} -- sh {script}"
    )
    with _namespaced(
        inside, base, log, "mutter's session", lambda: " ".join(
            _tail(path) for path in (home / "waiting", log, home / "mutter.log", home / "gsd-media-keys.log")
        )
    ) as started:
        ready = runtime / "session"
        wayland_display, display, bus = ready.read_text().splitlines()[:3]
        yield WaylandSession(
            ns_pid=int(ns_pid_file.read_text()),
            runtime_dir=runtime,
            wayland_display=wayland_display,
            display=display,
            bus=bus,
            home=home,
            started_in_s=time.monotonic() - started,
            desktop="GNOME" if shell else "",
        )


# -- KDE: kwin_wayland --virtual (wayland-facts.md §3) ---------------------------------

KWIN_PROGRAMS = {
    "kwin_wayland": "kwin-wayland",
    "dbus-run-session": "dbus",
    "wl-copy": "wl-clipboard",
    "unshare": "util-linux",
    "nsenter": "util-linux",
    "runuser": "util-linux",
}
KWIN_SOCKET = "wayland-kde"
# KWin's session bus is the unprivileged user's; the suite (root, whose interpreter is
# unreadable to that user) must reach it too, as a client of the same login would.
KWIN_BUS_CONFIG = """\
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <include>/usr/share/dbus-1/session.conf</include>
  <policy context="default"><allow user="root"/></policy>
</busconfig>
"""


def kwin_unavailable_reason() -> str | None:
    """Why a headless KWin cannot start here (checked before trying), or None."""
    return unavailable_reason(KWIN_PROGRAMS, "KWin")


@contextmanager
def headless_kwin(
    width: int = 1920, height: int = 1080, *, trusting: bool = True, files: Mapping[str, str] | None = None
) -> Iterator[WaylandSession]:
    """Start ``kwin_wayland --virtual`` as ``nobody`` in private namespaces, yield it, stop it.

    The binary is copied first: the packaged one carries a file capability
    (cap_sys_resource) that a container's bounding set may refuse ("Operation not
    permitted"), and a copy has none. Permission checks are off (the test's stand-in
    for the shipped .desktop whitelist), so any client may use fake-input and
    ScreenShot2; ``trusting=False`` keeps them on, to test the whitelist itself.
    ``files`` (path under the user's home -> text) are written before KWin starts.
    No Xwayland: the KDE backend speaks Wayland only, so ``display`` is "".
    """
    reason = kwin_unavailable_reason()
    if reason:
        raise WaylandUnavailable(reason)
    base = Path(tempfile.mkdtemp(prefix="deskpilot-kwin-", dir="/var/tmp"))
    base.chmod(0o755)
    runtime, home = base / "rt", base / "home"
    for folder in (runtime, home):
        folder.mkdir(mode=0o700)
        shutil.chown(folder, USER, None)
    for relative, text in (files or {}).items():
        path = home / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    subprocess.run(["chown", "-R", USER, str(home)], check=True)
    kwin = base / "kwin_wayland"
    shutil.copyfile(shutil.which("kwin_wayland") or "kwin_wayland", kwin)
    kwin.chmod(0o755)
    (base / "bus.conf").write_text(KWIN_BUS_CONFIG)
    # KWin runs its positional arguments once it is up: this one reports the bus.
    report = (
        'printf "%s\\n" "$DBUS_SESSION_BUS_ADDRESS" > "$XDG_RUNTIME_DIR/session.tmp" '
        '&& mv "$XDG_RUNTIME_DIR/session.tmp" "$XDG_RUNTIME_DIR/session"'
    )
    (base / "report.sh").write_text(report + "\n")
    ns_pid_file, log = base / "ns.pid", base / "kwin.log"
    compositor_env = (
        f"PATH=/usr/bin:/bin HOME={home} XDG_RUNTIME_DIR={runtime} XDG_CURRENT_DESKTOP=KDE "
        "XDG_SESSION_TYPE=wayland"
        + (" KWIN_WAYLAND_NO_PERMISSION_CHECKS=1 KWIN_SCREENSHOT_NO_PERMISSION_CHECKS=1" if trusting else "")
    )
    kwin_argv = (
        f"{kwin} --virtual --width {width} --height {height} --socket {KWIN_SOCKET} "
        f"--no-lockscreen --no-kactivities 'sh {base / 'report.sh'}'"
    )
    inside = (
        "set -e; mount --make-rprivate /; "
        f"{_private_mounts(base)}"
        f"echo $$ > {ns_pid_file}; "
        f"exec runuser -u {USER} -- env -i {compositor_env} "
        f"dbus-run-session --config-file={base / 'bus.conf'} -- {kwin_argv}"
    )
    with _namespaced(inside, base, log, "KWin", lambda: _tail(log)) as started:
        ready = runtime / "session"
        yield WaylandSession(
            ns_pid=int(ns_pid_file.read_text()),
            runtime_dir=runtime,
            wayland_display=KWIN_SOCKET,
            display="",
            bus=ready.read_text().splitlines()[0],
            home=home,
            swaysock="",
            started_in_s=time.monotonic() - started,
        )



# -- the GTK probe window (tests/apps/wayland_probe.py, gnome_probe.py) -----------------

class Probe:
    """A probe window's JSON event log, read as it grows (other lines, GTK's warnings, are skipped)."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def events(self, since: float = 0.0) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        lines = [line for line in self.log.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
        return [e for e in map(json.loads, lines) if e["t"] >= since]

    def wait(self, predicate: Any, since: float, timeout: float = 15.0) -> list[dict[str, Any]]:
        assert wait_until(lambda: predicate(self.events(since)), timeout), self.events(since)
        return self.events(since)

    def ready(self) -> dict[str, Any]:
        return next(e for e in self.events() if e["event"] == "ready")

    def centre(self, what: str) -> tuple[int, int]:
        x, y, w, h = self.ready()[what]
        return x + w // 2, y + h // 2


@contextmanager
def running_probe(
    session: WaylandSession, argv: list[str], log: Path, *, out: Path | None = None, timeout: float
) -> Iterator[Probe]:
    """Start a GTK probe in ``session``, wait for its "ready" event in ``log``, yield it; kill it on leaving.

    ``out`` takes the process's own output where the probe writes ``log`` itself.
    """
    process = session.spawn(argv, session.environ({"GDK_BACKEND": "wayland"}), log=out or log)
    try:
        found = Probe(log)
        found.wait(lambda events: any(e["event"] == "ready" for e in events), 0.0, timeout=timeout)
        yield found
    finally:
        process.kill()
        process.wait(timeout=5)


@contextmanager
def work_folder(session: WaylandSession) -> Iterator[Path]:
    """A folder the session's user writes to, under its home (/tmp is private to the namespace)."""
    folder = Path(tempfile.mkdtemp(prefix="work-", dir=session.home))
    shutil.chown(folder, USER, None)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)

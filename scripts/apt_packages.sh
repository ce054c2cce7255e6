#!/usr/bin/env bash
# Installs Debian packages with apt-get (through sudo when not root), waiting for apt's lock
# when another package manager (apt, unattended-upgrades, a software centre) holds it,
# with a visible line, instead of failing at once with apt's raw "Could not get lock".
#   bash scripts/apt_packages.sh PACKAGE...
# Environment (read):
#   APT_LOCK_WAIT_S=300   how long apt-get waits for the lock (DPkg::Lock::Timeout)
#   APT_LOCK_FILES="..."  the lock files looked at to say that it waits (default: dpkg's
#                         frontend lock and apt's lists lock)
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: bash scripts/apt_packages.sh PACKAGE..." >&2; exit 2; }

wait_s=${APT_LOCK_WAIT_S:-300}
locks=${APT_LOCK_FILES:-/var/lib/dpkg/lock-frontend /var/lib/apt/lists/lock}
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"

# apt takes these with fcntl locks; a probe that cannot take one knows it is held.
held_lock() {
  # shellcheck disable=SC2086
  $sudo python3 - $locks <<'PY' 2>/dev/null
import fcntl, sys
for path in sys.argv[1:]:
    try:
        with open(path, "a") as lock:
            fcntl.lockf(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(path)
        sys.exit(0)
    except OSError:
        pass
sys.exit(1)
PY
}

apt_get() {
  if lock=$(held_lock); then
    echo "another package manager holds $lock (apt, unattended-upgrades?): waiting up to ${wait_s}s for it" >&2
  fi
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$wait_s" "$@"; then
    echo "error: apt-get $1 failed (see above); if another package manager still runs, try again when it ends" >&2
    exit 1
  fi
}

echo "installing system packages: $*"
apt_get update -qq
apt_get install -y -qq --no-install-recommends "$@" >/dev/null

"""The per-user stop socket: a desktop shortcut runs ``deskpilot stop``, which reaches the running run here.

On Wayland no client sees global keys, so each desktop backend installs the kill chord
with the desktop's own shortcut mechanism (a sway ``bindsym``, a GNOME custom
keybinding, a KDE global shortcut) and that shortcut runs ``stop_command()``. The
running process listens on a unix socket under ``$XDG_RUNTIME_DIR/deskpilot/`` (a
0700 folder) and accepts "stop" only from its own user (``SO_PEERCRED``; root too).

Standard library only, and nothing imported from the rest of Deskpilot at module
level: ``stop_command`` runs this file as a script, so a chord costs one interpreter
start and a connect, not the CLI's imports.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

STOP = b"stop\n"
STOPPED = b"stopped\n"
_PEERCRED = struct.Struct("3i")  # pid, uid, gid (struct ucred)
ACCEPT_POLL_S = 0.2  # how often the accept loop checks that it should end


def socket_path() -> Path:
    """This user's stop socket: ``$XDG_RUNTIME_DIR/deskpilot/stop.sock`` (else a per-uid temp folder)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR") or os.path.join(
        tempfile.gettempdir(), f"deskpilot-{os.getuid()}"
    )
    return Path(runtime) / "deskpilot" / "stop.sock"


def _peer_uid(conn: socket.socket) -> int:
    uid: int
    _, uid, _ = _PEERCRED.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size))
    return uid


class StopListener:
    """An ``InputWatch`` over the stop socket: calls ``on_stop`` for each "stop" from this user.

    One listener per path at a time: ``start`` refuses (DisplayError) when another live
    process already listens there, and replaces a stale socket a killed run left.
    """

    def __init__(self, on_stop: Callable[[], None], path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else socket_path()
        self._on_stop = on_stop
        self._server: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._ending = threading.Event()

    def start(self) -> None:
        from agent.errors import DisplayError

        if self.is_alive():
            return
        folder = self.path.parent
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)  # an existing folder may have been made looser
        if self.path.exists() or self.path.is_symlink():
            if send_stop(self.path, timeout_s=0.5, probe=True):
                raise DisplayError(
                    f"another Deskpilot run is already listening on {self.path}; "
                    "stop it first (deskpilot stop)"
                )
            self.path.unlink()  # a socket a killed run left behind
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            server.bind(str(self.path))
            os.chmod(self.path, 0o600)
            server.listen(4)
            server.settimeout(ACCEPT_POLL_S)
        except OSError as err:
            server.close()
            raise DisplayError(f"cannot listen for 'deskpilot stop' on {self.path}: {err}") from None
        self._server = server
        self._ending.clear()
        self._thread = threading.Thread(target=self._serve, name="deskpilot-stop-listener", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        server = self._server
        while server is not None and not self._ending.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            with conn:
                conn.settimeout(1.0)
                try:
                    uid = _peer_uid(conn)
                    if uid not in (os.getuid(), 0):
                        conn.sendall(b"refused: another user\n")
                        continue
                    message = conn.recv(64)
                    if message == STOP:
                        self._on_stop()
                        conn.sendall(STOPPED)
                    else:
                        conn.sendall(b"listening\n")  # a probe, or anything else: say who is here
                except OSError:
                    continue

    def stop(self) -> bool:
        self._ending.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=2.0)
        if self._server is not None:
            self._server.close()
            self._server = None
            try:
                self.path.unlink()
            except OSError:
                pass
        return thread is None or not thread.is_alive()

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def send_stop(path: Path | str | None = None, timeout_s: float = 1.0, *, probe: bool = False) -> bool:
    """Ask the run listening at ``path`` to stop; True when one answered that it stopped.

    With ``probe``, only ask whether someone listens (True when one does), stopping nothing.
    """
    where = Path(path) if path is not None else socket_path()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            sock.connect(str(where))
            sock.sendall(b"probe\n" if probe else STOP)
            answer = sock.recv(64)
    except OSError:
        return False
    return answer == (b"listening\n" if probe else STOPPED)


def stop_command(path: Path | str | None = None) -> list[str]:
    """The argv that runs ``deskpilot stop`` for this run with this interpreter.

    It runs this file as a script (``-S``: no site packages to scan), so the stop costs
    one bare interpreter start, not the CLI's imports: the chord-to-stop time is that.
    """
    where = Path(path) if path is not None else socket_path()
    return [sys.executable, "-S", str(Path(__file__).resolve()), "--socket", str(where)]


def main(argv: list[str] | None = None) -> int:
    """``python control_socket.py [--socket PATH]``: exit 0 when a run was stopped, 1 when none ran."""
    args = list(sys.argv[1:] if argv is None else argv)
    path = args[args.index("--socket") + 1] if "--socket" in args else None
    return 0 if send_stop(path) else 1


if __name__ == "__main__":
    sys.exit(main())

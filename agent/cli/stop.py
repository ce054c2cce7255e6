"""``deskpilot stop``: stop the run of this user that is listening on the stop socket."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agent.cli.options import EXIT_FAILED, EXIT_OK


def add_commands(sub: Any) -> None:
    """Register stop on the ``deskpilot`` subparsers."""
    p_stop = sub.add_parser(
        "stop",
        help="stop the running run (what the kill chord runs on Wayland)",
        description="Stop this user's running Deskpilot run through its local socket; exit 0 when a "
        "run was stopped, 1 when none was running.",
    )
    p_stop.add_argument("--socket", metavar="PATH", help="the run's stop socket (default: this user's)")
    p_stop.set_defaults(handler=_cmd_stop)


def _cmd_stop(args: argparse.Namespace) -> int:
    from agent.computers.control_socket import send_stop, socket_path

    if send_stop(args.socket):
        sys.stdout.write("stopped the running run\n")
        return EXIT_OK
    sys.stderr.write(f"deskpilot: no run is listening on {args.socket or socket_path()}\n")
    return EXIT_FAILED

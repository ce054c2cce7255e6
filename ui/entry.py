"""The ``deskpilot`` console script: ``tray`` starts the Qt app, everything else is the core CLI.

It lives in ``ui`` because ``agent`` must never import Qt or ``ui``.
"""

from __future__ import annotations

import sys


def run() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "tray":
        from ui.app import main

        sys.exit(main(sys.argv[2:]))
    from agent.cli import run as cli_run

    cli_run()

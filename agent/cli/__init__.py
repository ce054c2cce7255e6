"""The ``deskpilot`` command line: ``run()`` is the console-script entry, ``main()`` the testable one."""

from __future__ import annotations

from agent.cli.main import build_parser, main, run

__all__ = ["build_parser", "main", "run"]

"""``deskpilot doctor``: its options, and its findings printed with the exit code they mean."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agent.cli.options import EXIT_FAILED, EXIT_OK


def add_commands(sub: Any) -> None:
    """Register doctor on the ``deskpilot`` subparsers."""
    from agent.config import BACKENDS

    p_doc = sub.add_parser(
        "doctor",
        help="check what the next run needs: Python, torch, GPU, display, model, server",
        description="Check what the next 'deskpilot run' would use (the settings file, overridden by "
        "these options); exit 1 naming each problem.",
    )
    p_doc.add_argument("--backend", choices=list(BACKENDS), help="as for run (default: the settings file's)")
    p_doc.add_argument(
        "--model",
        metavar="ID_OR_PATH",
        help="the local model to look for, or the server's model name (default: the settings file's)",
    )
    p_doc.add_argument(
        "--base-url",
        metavar="URL",
        help="an OpenAI-compatible server to check, also with --backend local (default: the settings file's)",
    )
    p_doc.add_argument(
        "--server-model", metavar="NAME", help="the model name on that server (default: --model)"
    )
    p_doc.add_argument(
        "--api-key", metavar="KEY", help="API key for that server (default: the settings file's)"
    )
    p_doc.add_argument(
        "--scan-ports",
        metavar="PORTS",
        help="loopback ports to look for model servers on, comma-separated (default without a GPU: "
        "11434,8080,8000,1234; '' for none)",
    )
    p_doc.set_defaults(handler=_cmd_doctor)


def _cmd_doctor(args: argparse.Namespace) -> int:
    from agent.doctor import DoctorOptions, run_checks
    from agent.errors import ConfigError

    scan_ports: tuple[int, ...] | None = None
    if args.scan_ports is not None:
        try:
            scan_ports = tuple(int(p) for p in args.scan_ports.split(",") if p.strip())
        except ValueError:
            raise ConfigError(
                f"--scan-ports: {args.scan_ports!r} is not a comma-separated list of ports"
            ) from None
        if not all(0 < p < 65536 for p in scan_ports):
            raise ConfigError(f"--scan-ports: {args.scan_ports!r} holds a port outside 1..65535")
    if args.base_url is not None:
        from agent.backends.openai import OpenAIBackend

        OpenAIBackend(args.base_url, "-")  # a malformed URL is bad input, not a finding
    options = DoctorOptions(
        backend=args.backend,
        model=args.model,
        base_url=args.base_url,
        server_model=args.server_model,
        api_key=args.api_key,
        scan_ports=scan_ports,
    )
    findings = run_checks(options)
    for finding in findings:
        sys.stdout.write(finding.line() + "\n")
    problems = [f for f in findings if f.level == "fail"]
    if problems:
        sys.stderr.write(
            f"deskpilot doctor: {len(problems)} problem(s): " + "; ".join(f.topic for f in problems) + "\n"
        )
        return EXIT_FAILED
    return EXIT_OK

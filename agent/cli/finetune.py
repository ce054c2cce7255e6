"""The ``deskpilot export-finetune`` subcommand (registered by agent/cli/main.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from agent.cli.options import EXIT_OK


def add_commands(sub: Any) -> None:
    """Register export-finetune on ``sub`` (the deskpilot parser's subcommands)."""
    p_export = sub.add_parser(
        "export-finetune",
        help="write recorded runs as a LLaMA-Factory dataset for Qwen3-VL, with a LoRA config",
        description="Export the steps of recorded runs that the user approved or that succeeded as a "
        "LLaMA-Factory ShareGPT dataset (messages with <image> placeholders, images, the computer_use "
        "tool), dataset_info.json and lora_sft.yaml.",
    )
    p_export.add_argument(
        "runs",
        nargs="+",
        metavar="RUN_OR_MACRO",
        help="a run id as 'deskpilot history' lists it, 'latest', a run folder, or a macro file "
        "made with 'deskpilot macro from-run' (its run is exported)",
    )
    p_export.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="a new or empty folder to write (required)"
    )
    p_export.add_argument(
        "--all",
        action="store_true",
        dest="include_all",
        help="every step with a screenshot, not only approved or successful ones (default: off)",
    )
    p_export.add_argument(
        "--history-dir",
        type=Path,
        metavar="DIR",
        help="where runs are kept (default: the setting, else the user data folder)",
    )
    p_export.add_argument(
        "--model", metavar="ID_OR_PATH", help="the base model to fine-tune (default: the first run's model)"
    )
    p_export.set_defaults(handler=_cmd_export)


def _cmd_export(args: argparse.Namespace) -> int:
    from agent.api import Session
    from agent.config import load_settings

    settings = load_settings()
    if args.history_dir is not None:
        settings.history_dir = str(args.history_dir)
    from agent.api import history_root
    from agent.cli.options import agent_run_named
    from agent.wording import plural

    root = history_root(settings)
    notes: list[str] = []
    runs = [agent_run_named(root, name, notes) for name in args.runs]
    summary = Session().export_finetune(
        settings, runs, args.out, include_all=args.include_all, model=args.model
    )
    sys.stderr.write("".join(note + "\n" for note in notes))
    sys.stderr.write(
        f"exported {plural(summary.samples, 'step')} of {plural(summary.runs, 'run')} to {summary.out} "
        f"({plural(summary.skipped, 'step')} left out)\n"
    )
    sys.stdout.write(f"{summary.out}\n")
    return EXIT_OK

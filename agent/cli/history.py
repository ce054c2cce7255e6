"""``deskpilot history``: the past runs listed newest first, or one shown step by step."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agent.cli.options import EXIT_OK


def add_commands(sub: Any) -> None:
    """Register history (and history show) on the ``deskpilot`` subparsers."""
    dir_help = "where runs are kept (default: the user data folder, deskpilot/runs)"
    p_hist = sub.add_parser(
        "history",
        usage="deskpilot history [-h] [--history-dir DIR] [show RUN]",
        help="list past runs, newest first, or show one step by step",
        description="List past runs, newest first; 'history show RUN' shows one run step by step.",
    )
    p_hist.add_argument("--history-dir", type=Path, default=None, metavar="DIR", help=dir_help)
    p_hist.set_defaults(handler=_cmd_history)
    hist_sub = p_hist.add_subparsers(dest="history_command", metavar="[show RUN]", required=False)
    p_show = hist_sub.add_parser("show", help="show one run: its settings and every step in words")
    p_show.add_argument("run", metavar="RUN", help="a run id, a unique start of one, or 'latest'")
    # SUPPRESS keeps a --history-dir given before "show" from being reset by this default.
    p_show.add_argument("--history-dir", type=Path, default=argparse.SUPPRESS, metavar="DIR", help=dir_help)
    p_show.set_defaults(handler=_cmd_history_show)


def _history_root(args: argparse.Namespace) -> Path:
    """--history-dir, else the config file's history_dir: the folder ``deskpilot run`` writes to."""
    if args.history_dir is not None:
        return Path(args.history_dir).expanduser()
    from agent.api import history_root
    from agent.config import load_settings

    return history_root(load_settings())


def _cmd_history(args: argparse.Namespace) -> int:
    from agent.records.history import list_runs
    from agent.wording import clip, local_time

    root = _history_root(args)
    runs = list_runs(root)
    if not runs:
        sys.stdout.write(f"no runs yet in {root}\n")
        return EXIT_OK
    width = max(len(info.id) for info in runs)
    for info in runs:
        about = clip(info.task, 50) if info.task else clip(info.detail, 50)
        sys.stdout.write(
            f"{info.id:<{width}}  {local_time(info.started_at):<19}  {info.outcome:<8}"
            f"  {info.steps:>3} steps  {about}\n"
        )
    return EXIT_OK


def _cmd_history_show(args: argparse.Namespace) -> int:
    from agent.records.history import load_run
    from agent.wording import clip, describe_step, local_time

    info, steps = load_run(_history_root(args), args.run)
    ended = local_time(info.ended_at) or "-"
    facts = _model_facts_words(info.model_facts)
    outcome = info.outcome + (f": {clip(info.detail, 200)}" if info.detail else "")
    settings = ", ".join(
        f"{clip(key, 40)}={clip(json.dumps(value, ensure_ascii=False), 80)}"
        for key, value in info.settings.items()
    )
    lines = [
        f"Run {info.id}",
        f"  task:     {clip(info.task, 200)}",
        f"  model:    {clip(info.model, 120)}" + (f" ({clip(facts, 200)})" if facts else ""),
        f"  backend:  {clip(info.backend, 60)}",
        f"  started:  {local_time(info.started_at)}",
        f"  ended:    {ended}",
        f"  outcome:  {outcome}",
        f"  steps:    {info.steps}" + ("  (dry run: nothing was performed)" if info.dry_run else ""),
        f"  settings: {settings or '-'}",
    ]
    for step in steps:
        lines.append("")
        lines.extend(describe_step(step))
    sys.stdout.write("".join(line + "\n" for line in lines))
    return EXIT_OK


def _model_facts_words(facts: dict[str, str]) -> str:
    """What the backend chose, short: "precision bf16 (auto: 22.0 GB free...), on cpu, from the cache"."""
    parts: list[str] = []
    if "precision" in facts:
        reason = facts.get("precision_reason", "")
        parts.append(f"precision {facts['precision']}" + (f" ({reason})" if reason else ""))
    if "device" in facts:
        parts.append(f"on {facts['device']}")
    if "source" in facts:
        parts.append(f"from the {facts['source']}" if facts["source"] != "downloaded" else "downloaded")
    return ", ".join(parts)

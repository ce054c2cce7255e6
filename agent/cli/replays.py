"""``deskpilot replays``: the runs a task replays without the model; list, forget and pin them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.cli.options import EXIT_OK

if TYPE_CHECKING:
    from agent.config import Settings


def add_commands(sub: Any) -> None:
    """Register replays (list, forget, pin) on the ``deskpilot`` subparsers."""
    dir_help = "where runs are kept (default: the user data folder, deskpilot/runs)"
    p_rep = sub.add_parser(
        "replays",
        help="list, forget or pin the runs that tasks replay without the model",
        description="A task that succeeded before on this monitor layout replays that run without "
        "the model (deskpilot run --fresh asks the model instead). 'replays' lists those runs, newest "
        "first; 'forget RUN' stops one being replayed; 'pin RUN' makes it the one its task replays even "
        "after later successes.",
    )
    p_rep.add_argument("--history-dir", type=Path, default=None, metavar="DIR", help=dir_help)
    p_rep.set_defaults(handler=_cmd_list)
    rep_sub = p_rep.add_subparsers(dest="replays_command", metavar="{list,forget,pin}", required=False)
    p_list = rep_sub.add_parser("list", help="the replayable runs, newest first (the default)")
    p_list.add_argument("--history-dir", type=Path, default=argparse.SUPPRESS, metavar="DIR", help=dir_help)
    p_list.set_defaults(handler=_cmd_list)
    p_forget = rep_sub.add_parser("forget", help="never replay this run again (it stays in the history)")
    p_forget.add_argument("run", metavar="RUN", help="a run id or a unique start of one")
    p_forget.add_argument("--history-dir", type=Path, default=argparse.SUPPRESS, metavar="DIR", help=dir_help)
    p_forget.set_defaults(handler=_cmd_forget)
    p_pin = rep_sub.add_parser("pin", help="replay this run for its task even after later successes")
    p_pin.add_argument("run", metavar="RUN", help="a run id or a unique start of one")
    p_pin.add_argument("--unpin", action="store_true", help="take the pin off again (default: pin)")
    p_pin.add_argument("--history-dir", type=Path, default=argparse.SUPPRESS, metavar="DIR", help=dir_help)
    p_pin.set_defaults(handler=_cmd_pin)


def _settings(args: argparse.Namespace) -> Settings:
    from agent.config import load_settings

    settings = load_settings()
    if args.history_dir is not None:
        settings.history_dir = str(Path(args.history_dir).expanduser())
    return settings


def _cmd_list(args: argparse.Namespace) -> int:
    from agent.api import history_root, list_replays
    from agent.wording import clip, local_time

    settings = _settings(args)
    entries = list_replays(settings)
    if not entries:
        sys.stdout.write(f"no replays yet in {history_root(settings)}\n")
        return EXIT_OK
    width = max(len(e.run_id) for e in entries)
    for e in entries:
        pinned = "pinned" if e.pinned else ""
        values = " ".join(f"{k}={v}" for k, v in e.values.items())
        sys.stdout.write(
            f"{e.run_id:<{width}}  {local_time(e.started_at):<19}  {pinned:<6}  {e.steps:>3} steps  "
            f"{clip(e.layout.describe(), 40):<40}  {clip(e.task, 60)}"
            + (f"  ({clip(values, 60)})" if values else "")
            + "\n"
        )
    return EXIT_OK


def _cmd_forget(args: argparse.Namespace) -> int:
    from agent.api import forget_replay

    entry = forget_replay(_settings(args), args.run)
    sys.stdout.write(f"forgot the replay of run {entry.run_id}; its task asks the model next time\n")
    return EXIT_OK


def _cmd_pin(args: argparse.Namespace) -> int:
    from agent.api import pin_replay

    entry = pin_replay(_settings(args), args.run, not args.unpin)
    what = "unpinned" if args.unpin else "pinned"
    sys.stdout.write(f"{what} run {entry.run_id} for {entry.task!r}\n")
    return EXIT_OK

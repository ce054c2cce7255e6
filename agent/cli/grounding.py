"""The grounding subcommands of ``deskpilot``: locate, eval grounding (registered by agent/cli/main.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.cli.options import EXIT_FAILED, EXIT_OK, add_model_options, settings_with

if TYPE_CHECKING:
    from agent.config import Settings


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    from agent.config import REFINE_MODES, Settings

    d = Settings()
    add_model_options(parser)
    parser.add_argument(
        "--refine",
        choices=list(REFINE_MODES),
        help=f"zoom-then-ground: ask again on a crop around the first point (default: {d.refine})",
    )


def add_commands(sub: Any) -> None:
    """Register locate and eval on ``sub`` (the deskpilot parser's subcommands)."""
    p_locate = sub.add_parser(
        "locate",
        help="print the screen point (x y) of a described element; clicks nothing",
        description="Ask the model to click DESCRIPTION on a capture of the monitor, and print "
        "the screen point of that click as 'x y'. Nothing is clicked.",
    )
    p_locate.add_argument("description", help="the element, in plain words (e.g. 'the Save button')")
    p_locate.add_argument(
        "--monitor",
        type=int,
        metavar="N",
        help="mss monitor index: 1 primary, 0 all (default: the setting, 1)",
    )
    p_locate.add_argument(
        "--show",
        type=Path,
        metavar="FILE.png",
        help="save the capture with the point marked (mode 0600; default: none)",
    )
    _add_model_options(p_locate)
    p_locate.set_defaults(handler=_cmd_locate)

    p_eval = sub.add_parser(
        "eval",
        help="measure the model: 'eval grounding DATASET' on a ScreenSpot-v2 or ScreenSpot-Pro copy",
        description="Evaluate the model on a benchmark kept on this machine.",
    )
    eval_sub = p_eval.add_subparsers(dest="eval_command", metavar="grounding", required=True)
    p_ground = eval_sub.add_parser(
        "grounding",
        help="pointing accuracy on ScreenSpot-v2 or ScreenSpot-Pro (a hit is a point inside the box)",
        description="Ask the model for a click on each sample's instruction, through the agent's own "
        "prompt, parser and scaling, and count the points inside the target box: overall, per data "
        "type (text, icon) and per platform or application.",
    )
    p_ground.add_argument(
        "dataset", type=Path, help="a local ScreenSpot-v2 or ScreenSpot-Pro folder (see README)"
    )
    p_ground.add_argument("--limit", type=int, metavar="N", help="only the first N samples (default: all)")
    p_ground.add_argument(
        "--compare",
        metavar="A,B,...",
        help="run the same samples per precision (nf4,int8,bf16,...) or per model id, side by side "
        "(default: the settings' one model)",
    )
    p_ground.add_argument(
        "--out",
        type=Path,
        metavar="FILE.jsonl",
        help="one JSON line per sample and variant (0600; default: none)",
    )
    p_ground.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted --out file, skipping done samples (default: off)",
    )
    _add_model_options(p_ground)
    p_ground.set_defaults(handler=_cmd_eval_grounding)


def _settings(args: argparse.Namespace) -> Settings:
    from agent.errors import ConfigError

    if args.script and args.backend not in (None, "script"):
        raise ConfigError(f"--script replays recorded replies; it cannot go with --backend {args.backend}")
    # locate has its own --monitor; eval grounding has none.
    extra = ["monitor"] if hasattr(args, "monitor") else []
    settings = settings_with(args, [*args.model_options, *extra, "refine"])
    if args.script:
        settings.backend = "script"
    return settings


def _cmd_locate(args: argparse.Namespace) -> int:
    import threading

    from agent.api import Session
    from agent.errors import TargetNotFoundError

    settings = _settings(args)

    def say(message: str) -> None:
        sys.stderr.write(message + "\n")

    try:
        located = Session(progress=say).locate(
            settings, args.description, stop=threading.Event(), refine=args.refine, show=args.show
        )
    except TargetNotFoundError as err:
        say(f"deskpilot: not found: {err}")
        return EXIT_FAILED
    if located.refinement is not None and located.refinement.get("used"):
        say(f"refined on a {located.refinement['crop']['width']}x{located.refinement['crop']['height']} crop")
    if args.show is not None:
        say(f"saved the capture with the point marked to {args.show}")
    sys.stdout.write(f"{located.screen_xy[0]} {located.screen_xy[1]}\n")
    return EXIT_OK


def _cmd_eval_grounding(args: argparse.Namespace) -> int:
    import signal
    import threading

    from agent.api import Session

    settings = _settings(args)
    stop = threading.Event()

    def say(message: str) -> None:
        sys.stderr.write(message + "\n")

    def on_interrupt(*_: object) -> None:
        stop.set()  # the sample in flight finishes; its line is written; --resume goes on from there
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_interrupt)
    compare = [v.strip() for v in args.compare.split(",") if v.strip()] if args.compare else None
    report = Session(progress=say).eval_grounding(
        settings, args.dataset, stop=stop, limit=args.limit, compare=compare, out=args.out, resume=args.resume
    )
    sys.stdout.write(report.text())
    return EXIT_OK

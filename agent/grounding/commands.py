"""The grounding subcommands of ``deskpilot``: locate, eval grounding (registered by agent/cli.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from agent.cli import EXIT_FAILED, EXIT_OK

_MODEL_OPTIONS = ("backend", "model", "precision", "base_url", "api_key", "script", "max_pixels", "monitor")


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    from agent.config import BACKENDS, PRECISIONS, Settings

    d = Settings()
    parser.add_argument(
        "--backend", choices=list(BACKENDS), help=f"where the model runs (default: {d.backend})"
    )
    parser.add_argument(
        "--model",
        metavar="ID_OR_PATH",
        help=f"hub id, local folder or server model name (default: {d.model})",
    )
    parser.add_argument(
        "--precision", choices=list(PRECISIONS), help=f"in-process weights (default: {d.precision})"
    )
    parser.add_argument("--base-url", metavar="URL", help=f"OpenAI-compatible server (default: {d.base_url})")
    parser.add_argument("--api-key", metavar="KEY", help="API key for that server (default: none)")
    parser.add_argument(
        "--script",
        metavar="FILE",
        help="JSON Lines of recorded replies; implies --backend script (default: none)",
    )
    parser.add_argument(
        "--max-pixels", type=int, metavar="N", help=f"image pixel budget per image (default: {d.max_pixels})"
    )
    parser.add_argument(
        "--refine",
        choices=["off", "auto", "always"],
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


def _settings(args: argparse.Namespace) -> object:
    from agent.cli import _settings_with
    from agent.errors import ConfigError

    if args.script and args.backend not in (None, "script"):
        raise ConfigError(f"--script replays recorded replies; it cannot go with --backend {args.backend}")
    settings = _settings_with(args, [n for n in _MODEL_OPTIONS if hasattr(args, n)])
    if args.script:
        settings.backend = "script"
    return settings


def _cmd_locate(args: argparse.Namespace) -> int:
    import threading

    from agent.api import Session
    from agent.config import Settings
    from agent.errors import TargetNotFoundError

    settings = _settings(args)
    assert isinstance(settings, Settings)

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

"""The ``deskpilot`` command line: argument parsing and the one place errors become exit codes.

Exit codes: 0 success, 1 failed or gave up, 2 bad input (one line on stderr, never a
traceback), 3 stopped by the user.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from agent.errors import DeskpilotError, StoppedError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_STOPPED = 0, 1, 2, 3

log = logging.getLogger("deskpilot")


def _version() -> str:
    try:
        return version("deskpilot")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deskpilot", description="A local-first desktop automation agent."
    )
    parser.add_argument("--version", action="version", version=f"deskpilot {_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p_parse = sub.add_parser(
        "parse",
        help="validate model text from stdin and print its actions in screen coordinates",
        description="Read a model reply on stdin; print one JSON object per action.",
    )
    p_parse.add_argument(
        "--screen",
        metavar="WIDTHxHEIGHT[+X+Y]",
        help="the captured area in screen pixels (default: the real primary monitor)",
    )
    p_parse.add_argument(
        "--frame",
        default="rel1000",
        choices=["rel1000", "rel999", "qwen25"],
        help="the model's coordinate frame (default: rel1000, Qwen3-VL)",
    )
    p_parse.set_defaults(handler=_cmd_parse)

    p_shot = sub.add_parser("screenshot", help="save a capture of a monitor to a PNG or JPEG file")
    p_shot.add_argument("file", type=Path)
    p_shot.add_argument(
        "--monitor", type=int, default=1, help="mss monitor index: 1 primary, 0 all (default 1)"
    )
    p_shot.set_defaults(handler=_cmd_screenshot)

    p_doc = sub.add_parser("doctor", help="check Python, torch, GPU, display, models and server")
    p_doc.add_argument("--model", default=None, help="the local model to look for in the cache")
    p_doc.add_argument("--base-url", default=None, help="an OpenAI-compatible server to reach")
    p_doc.add_argument("--server-model", default=None, help="the model name on that server")
    p_doc.add_argument("--api-key", default=None, help="API key for that server")
    p_doc.set_defaults(handler=_cmd_doctor)
    return parser


def _cmd_parse(args: argparse.Namespace) -> int:
    from agent.geometry import CaptureGeometry, parse_region
    from agent.parsing import parse_reply
    from agent.scaling import ModelFrame, to_screen_action

    if args.screen:
        region = parse_region(args.screen)
    else:
        from agent.computers.screen import MssScreen
        from agent.errors import DisplayError

        try:
            region = MssScreen(1).capture_region()
        except DisplayError as err:
            raise DisplayError(
                f"{err}; or give the screen size with --screen WIDTHxHEIGHT"
            ) from None
    text = sys.stdin.read()
    reply = parse_reply(text)
    if not reply.actions:
        raise _BadInput(f"no action: {reply.no_action_reason}")
    capture = CaptureGeometry.unscaled(region)
    frame = ModelFrame.for_image(args.frame, capture.image_width, capture.image_height)
    # Scale every action before printing any, so bad input prints nothing but the error.
    lines = [
        json.dumps(to_screen_action(a, frame, capture).to_json_dict(), ensure_ascii=False)
        for a in reply.actions
    ]
    sys.stdout.write("".join(line + "\n" for line in lines))
    return EXIT_OK


def _cmd_screenshot(args: argparse.Namespace) -> int:
    from agent.computers.screen import MssScreen
    from agent.files import save_image_private

    frame = MssScreen(args.monitor).capture()
    save_image_private(frame.image, args.file)
    region = frame.region
    sys.stderr.write(
        f"saved {region.width}x{region.height} capture of monitor {args.monitor} to {args.file}\n"
    )
    return EXIT_OK


def _cmd_doctor(args: argparse.Namespace) -> int:
    from agent.backends.local import DEFAULT_MODEL
    from agent.doctor import run_checks

    findings = run_checks(args.model or DEFAULT_MODEL, args.base_url, args.server_model, args.api_key)
    for finding in findings:
        sys.stdout.write(finding.line() + "\n")
    problems = [f for f in findings if f.level == "fail"]
    if problems:
        sys.stderr.write(f"deskpilot doctor: {len(problems)} problem(s): "
                         + "; ".join(f.topic for f in problems) + "\n")
        return EXIT_FAILED
    return EXIT_OK


class _BadInput(DeskpilotError):
    pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # bitsandbytes warns at import about optional CPU kernels it can live without.
        logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return handler(args)
    except StoppedError as err:
        sys.stderr.write(f"deskpilot: stopped: {err}\n")
        return EXIT_STOPPED
    except DeskpilotError as err:
        sys.stderr.write(f"deskpilot: error: {err}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write("deskpilot: stopped by Ctrl+C\n")
        return EXIT_STOPPED


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())

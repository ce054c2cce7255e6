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


# One image token per 32x32 pixels; the numbers are what a 1920x1080 screenshot costs.
_MAX_PIXELS_HELP = (
    "image pixel budget per screenshot (default 12845056, native resolution: a 1920x1080 screen "
    "is 2040 image tokens; 1048576 shrinks it to 1344x768, 1008 tokens, about half the prefill, "
    "at some cost in reading small text)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deskpilot", description="A local-first desktop automation agent.")
    parser.add_argument("--version", action="version", version=f"deskpilot {_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p_parse = sub.add_parser(
        "parse",
        help="validate model text from stdin and print its action in screen coordinates",
        description="Read a model reply on stdin; print its action as one JSON object, as a run would "
        "carry it out (only the first tool call of a reply is).",
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
    p_parse.add_argument(
        "--max-pixels",
        type=int,
        metavar="N",
        help="the pixel budget the reply's screenshot was sent with; only the qwen25 frame depends "
        "on it (default: max_pixels from the settings file, as for run)",
    )
    p_parse.set_defaults(handler=_cmd_parse)

    p_shot = sub.add_parser("screenshot", help="save a capture of a monitor to a PNG or JPEG file")
    p_shot.add_argument("file", type=Path)
    p_shot.add_argument(
        "--monitor", type=int, default=1, help="mss monitor index: 1 primary, 0 all (default 1)"
    )
    p_shot.set_defaults(handler=_cmd_screenshot)

    p_run = sub.add_parser(
        "run",
        help="carry out a task on this desktop",
        description="Run the capture → plan → act loop for TASK. Defaults come from the config file.",
    )
    p_run.add_argument("task", help="what to do, in plain words")
    p_run.add_argument("--backend", choices=["local", "openai", "script"])
    p_run.add_argument(
        "--model", metavar="ID_OR_PATH", help="hub id or local folder (or the server's model name)"
    )
    p_run.add_argument("--precision", choices=["auto", "nf4", "int8", "bf16", "fp16", "fp32"])
    p_run.add_argument(
        "--base-url", metavar="URL", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1"
    )
    p_run.add_argument("--api-key", metavar="KEY")
    p_run.add_argument("--script", metavar="FILE", help="JSON Lines of recorded replies (--backend script)")
    p_run.add_argument("--max-steps", type=int, metavar="N")
    p_run.add_argument("--confirm", choices=["always", "risky", "never"])
    p_run.add_argument(
        "--dry-run", action="store_true", help="plan, validate and record, but perform nothing"
    )
    p_run.add_argument("--monitor", type=int, metavar="N", help="mss monitor index (1 = primary)")
    p_run.add_argument("--max-pixels", type=int, metavar="N", help=_MAX_PIXELS_HELP)
    p_run.add_argument("--history-dir", metavar="DIR")
    p_run.add_argument("--kill-hotkey", metavar="CHORD", help="e.g. ctrl+alt+k")
    p_run.set_defaults(handler=_cmd_run)

    p_doc = sub.add_parser("doctor", help="check Python, torch, GPU, display, models and server")
    p_doc.add_argument("--model", default=None, help="the local model to look for in the cache")
    p_doc.add_argument("--base-url", default=None, help="an OpenAI-compatible server to reach")
    p_doc.add_argument("--server-model", default=None, help="the model name on that server")
    p_doc.add_argument("--api-key", default=None, help="API key for that server")
    p_doc.set_defaults(handler=_cmd_doctor)

    dir_help = "where runs are kept (default: the user data folder, deskpilot/runs)"
    p_hist = sub.add_parser(
        "history",
        help="list past runs, newest first, or show one step by step",
        description="List past runs, newest first; 'history show RUN' shows one run step by step.",
    )
    p_hist.add_argument("--history-dir", type=Path, default=None, metavar="DIR", help=dir_help)
    p_hist.set_defaults(handler=_cmd_history)
    hist_sub = p_hist.add_subparsers(dest="history_command", metavar="show")
    p_show = hist_sub.add_parser("show", help="show one run: its settings and every step in words")
    p_show.add_argument("run", metavar="RUN", help="a run id, a unique start of one, or 'latest'")
    # SUPPRESS keeps a --history-dir given before "show" from being reset by this default.
    p_show.add_argument("--history-dir", type=Path, default=argparse.SUPPRESS, metavar="DIR", help=dir_help)
    p_show.set_defaults(handler=_cmd_history_show)
    return parser


def _cmd_parse(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from agent.computer_use.parsing import parse_reply
    from agent.computer_use.prompts import DEFAULT_MIN_PIXELS
    from agent.config import load_settings
    from agent.errors import ConfigError
    from agent.geometry import CaptureGeometry, parse_region
    from agent.scaling import ModelFrame, to_screen_action

    # The same budget as `run`, so a reply maps to the pixels a run would have acted on
    # (the qwen25 frame is in pixels of the image resized to that budget).
    settings = load_settings()
    if args.max_pixels is not None:
        try:
            settings.max_pixels = args.max_pixels
        except ValidationError as err:
            raise ConfigError(f"--max-pixels: {err.errors()[0]['msg']}") from None
    if args.screen:
        region = parse_region(args.screen)
    else:
        from agent.computers.screen import MssScreen
        from agent.errors import DisplayError

        try:
            region = MssScreen(1).capture_region()
        except DisplayError as err:
            raise DisplayError(f"{err}; or give the screen size with --screen WIDTHxHEIGHT") from None
    text = sys.stdin.read()
    reply = parse_reply(text)
    if not reply.actions:
        raise _BadInput(f"no action: {reply.no_action_reason}")
    capture = CaptureGeometry.unscaled(region)
    frame = ModelFrame.for_image(
        args.frame,
        capture.image_width,
        capture.image_height,
        min_pixels=DEFAULT_MIN_PIXELS,
        max_pixels=settings.max_pixels,
    )
    # Scale every action before printing any, so bad input prints nothing but the error.
    lines = [
        json.dumps(to_screen_action(a, frame, capture).to_json_dict(), ensure_ascii=False)
        for a in reply.actions
    ]
    sys.stdout.write("".join(line + "\n" for line in lines))
    if reply.ignored_calls:
        # One call per answer, as in a run: say so instead of dropping the rest silently.
        sys.stderr.write(
            f"note: {reply.ignored_calls} more tool call(s) ignored; a run carries out only the first\n"
        )
    return EXIT_OK


def _cmd_screenshot(args: argparse.Namespace) -> int:
    from agent.computers.screen import MssScreen
    from agent.records.files import save_image_private

    frame = MssScreen(args.monitor).capture()
    save_image_private(frame.image, args.file)
    region = frame.region
    sys.stderr.write(
        f"saved {region.width}x{region.height} capture of monitor {args.monitor} to {args.file}\n"
    )
    return EXIT_OK


_RUN_OVERRIDES = (
    "backend",
    "model",
    "precision",
    "base_url",
    "api_key",
    "script",
    "max_steps",
    "confirm",
    "monitor",
    "max_pixels",
    "history_dir",
    "kill_hotkey",
)


def _cmd_run(args: argparse.Namespace) -> int:
    import signal
    import threading

    from pydantic import ValidationError

    from agent.computer_use.loop import PauseGate
    from agent.config import load_settings
    from agent.errors import ConfigError
    from agent.run.hotkey import parse_hotkey
    from agent.runner import build_loop, desktop_session, make_backend
    from agent.terminal import TerminalOperator, TerminalReporter

    settings = load_settings()
    try:
        for name in _RUN_OVERRIDES:
            value = getattr(args, name)
            if value is not None:
                setattr(settings, name, value)
    except ValidationError as err:
        item = err.errors()[0]
        raise ConfigError(f"--{str(item['loc'][0]).replace('_', '-')}: {item['msg']}") from None
    parse_hotkey(settings.kill_hotkey)
    if not args.task.strip():
        raise ConfigError("the task is empty")

    stop = threading.Event()

    def say(message: str) -> None:
        sys.stderr.write(message + "\n")

    # Ctrl+C while the model loads is a plain KeyboardInterrupt (exit 3); from here on it
    # sets the same stop token as the kill hotkey, so the loop ends the same way.
    backend = make_backend(settings, progress=say)
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    pause = PauseGate()
    with desktop_session(settings, stop, pause) as desk:
        from agent.computers.windows import X11Windows

        say(f"Kill hotkey: {settings.kill_hotkey} (or Ctrl+C here, or push the pointer into a screen corner)")
        if args.dry_run:
            say("Dry run: actions are planned, checked and recorded, never performed")
        loop = build_loop(
            settings,
            backend,
            desk.computer,
            TerminalOperator(),
            stop,
            dry_run=args.dry_run,
            pause=pause,
            guard=desk.takeover,
            observers=[TerminalReporter()],
            window_title_at=X11Windows().title_at,
            task=args.task,
        )
        result = loop.run(args.task)
    if result.answer is not None:
        sys.stdout.write(result.answer + "\n")
    return result.exit_code


def _cmd_doctor(args: argparse.Namespace) -> int:
    from agent.backends.local import DEFAULT_MODEL
    from agent.doctor import run_checks

    findings = run_checks(args.model or DEFAULT_MODEL, args.base_url, args.server_model, args.api_key)
    for finding in findings:
        sys.stdout.write(finding.line() + "\n")
    problems = [f for f in findings if f.level == "fail"]
    if problems:
        sys.stderr.write(
            f"deskpilot doctor: {len(problems)} problem(s): " + "; ".join(f.topic for f in problems) + "\n"
        )
        return EXIT_FAILED
    return EXIT_OK


def _history_root(args: argparse.Namespace) -> Path:
    """--history-dir, else the config file's history_dir: the folder ``deskpilot run`` writes to."""
    if args.history_dir is not None:
        return Path(args.history_dir).expanduser()
    from agent.config import load_settings
    from agent.runner import history_root

    return history_root(load_settings())


def _cmd_history(args: argparse.Namespace) -> int:
    from agent.records.history import list_runs
    from agent.wording import clip

    root = _history_root(args)
    runs = list_runs(root)
    if not runs:
        sys.stdout.write(f"no runs yet in {root}\n")
        return EXIT_OK
    width = max(len(info.id) for info in runs)
    for info in runs:
        about = clip(info.task, 50) if info.task else clip(info.detail, 50)
        sys.stdout.write(
            f"{info.id:<{width}}  {_local_time(info.started_at):<19}  {info.outcome:<8}"
            f"  {info.steps:>3} steps  {about}\n"
        )
    return EXIT_OK


def _cmd_history_show(args: argparse.Namespace) -> int:
    from agent.records.history import describe_step, load_run
    from agent.wording import clip

    info, steps = load_run(_history_root(args), args.run)
    ended = _local_time(info.ended_at) if info.ended_at else "-"
    outcome = info.outcome + (f": {clip(info.detail, 200)}" if info.detail else "")
    settings = ", ".join(
        f"{clip(key, 40)}={clip(json.dumps(value, ensure_ascii=False), 80)}"
        for key, value in info.settings.items()
    )
    lines = [
        f"Run {info.id}",
        f"  task:     {clip(info.task, 200)}",
        f"  model:    {clip(info.model, 120)}",
        f"  backend:  {clip(info.backend, 60)}",
        f"  started:  {_local_time(info.started_at)}",
        f"  ended:    {ended}",
        f"  outcome:  {outcome}",
        f"  steps:    {info.steps}",
        f"  settings: {settings or '-'}",
    ]
    for step in steps:
        lines.append("")
        lines.extend(describe_step(step))
    sys.stdout.write("".join(line + "\n" for line in lines))
    return EXIT_OK


def _local_time(iso: str) -> str:
    """A recorded UTC time as the user's local wall-clock time; as recorded when unreadable."""
    from datetime import UTC, datetime

    from agent.wording import clip

    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return clip(iso, 32) or "?"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # records are written in UTC
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


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

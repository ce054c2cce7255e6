"""``deskpilot run`` and the commands that try its parts (parse, screenshot); and the tray's stand-in."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agent.cli.options import EXIT_OK, BadInput, add_model_options, defaults, result_exit_code, settings_with


def add_commands(sub: Any) -> None:
    """Register parse, screenshot, run and tray on the ``deskpilot`` subparsers."""
    from agent.config import CONFIRM_MODES, FRAMES, REFINE_MODES

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
        choices=list(FRAMES),
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
    p_shot.add_argument("file", type=Path, metavar="FILE", help="where to save it: .png or .jpg (mode 0600)")
    p_shot.add_argument(
        "--monitor", type=int, default=1, help="mss monitor index: 1 primary, 0 all (default 1)"
    )
    p_shot.set_defaults(handler=_cmd_screenshot)

    d = defaults()
    p_run = sub.add_parser(
        "run",
        help="carry out a task on this desktop",
        description="Run the capture → plan → act loop for TASK. Every option's default comes from "
        "the settings file (~/.config/deskpilot/config.toml or $DESKPILOT_CONFIG), else the value shown.",
    )
    p_run.add_argument("task", help="what to do, in plain words")
    add_model_options(p_run)  # their names travel as args.model_options
    p_run.add_argument(
        "--max-steps", type=int, metavar="N", help=f"give up after N steps (default: {d.max_steps})"
    )
    p_run.add_argument(
        "--confirm", choices=list(CONFIRM_MODES), help=f"when to ask before acting (default: {d.confirm})"
    )
    p_run.add_argument(
        "--dry-run", action="store_true", help="plan, validate and record, but perform nothing (default: off)"
    )
    p_run.add_argument(
        "--monitor", type=int, metavar="N", help=f"mss monitor index: 1 primary, 0 all (default: {d.monitor})"
    )
    p_run.add_argument(
        "--history-dir",
        metavar="DIR",
        help="where runs are recorded (default: the user data folder, deskpilot/runs)",
    )
    p_run.add_argument(
        "--kill-hotkey", metavar="CHORD", help=f"the chord that stops everything (default: {d.kill_hotkey})"
    )
    p_run.add_argument(
        "--narrate",
        action=argparse.BooleanOptionalAction,
        help="say each action before it happens, then its outcome; --no-narrate overrides narrate = true "
        f"in the settings file (default: the settings file's narrate, else {'on' if d.narrate else 'off'})",
    )
    p_run.add_argument(
        "--speak-to",
        type=Path,
        metavar="FILE.wav",
        help="narrate into this WAV file, not the speakers (default: none)",
    )
    p_run.add_argument(
        "--refine",
        choices=list(REFINE_MODES),
        help=f"zoom-then-ground for clicks: a second look on a crop around the point (default: {d.refine})",
    )
    p_run.add_argument(
        "--marks",
        action=argparse.BooleanOptionalAction,
        help="number the active window's clickable elements on the screenshot the model sees and list "
        "them in the prompt, so it may answer with an element's number; needs the accessibility tree; "
        "--no-marks overrides marks = true in the settings file "
        f"(default: the settings file's marks, else {'on' if d.marks else 'off'})",
    )
    p_run.add_argument(
        "--fresh",
        action="store_true",
        help="ask the model even if this task succeeded before on this monitor layout (default: replay "
        "that run without the model; see deskpilot replays)",
    )
    p_run.add_argument(
        "--vars",
        nargs="+",
        default=[],
        metavar="NAME=VALUE",
        help="values for the task's {NAME} variables: a run of the task with other values replays "
        "with these (default: none)",
    )
    p_run.set_defaults(handler=_cmd_run)

    p_tray = sub.add_parser(
        "tray",
        help="start the tray app (the main way to use Deskpilot)",
        description="Start the tray app: a tray icon (or, without a tray, a small window) with "
        "New command, Stop, Pause, History and Settings.",
    )
    p_tray.add_argument(
        "--window",
        action="store_true",
        help="show the Deskpilot window even when a tray exists (default: off)",
    )
    p_tray.set_defaults(handler=_cmd_tray)


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
        from agent.computers.selection import select_platform
        from agent.errors import DisplayError

        try:
            region = select_platform().screen(1).capture_region()
        except DisplayError as err:
            raise DisplayError(f"{err}; or give the screen size with --screen WIDTHxHEIGHT") from None
    text = sys.stdin.read()
    reply = parse_reply(text)
    if not reply.actions:
        raise BadInput(f"no action: {reply.no_action_reason}")
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
    from agent.computers.selection import select_platform
    from agent.records.files import save_image_private

    frame = select_platform().screen(args.monitor).capture()
    save_image_private(frame.image, args.file)
    region = frame.region
    sys.stderr.write(
        f"saved {region.width}x{region.height} capture of monitor {args.monitor} to {args.file}\n"
    )
    return EXIT_OK



def _cmd_run(args: argparse.Namespace) -> int:
    import signal
    import threading

    from agent.api import RunStarted, Session
    from agent.config import require_valid
    from agent.errors import ConfigError
    from agent.terminal import TerminalOperator, TerminalReporter

    if args.script and args.backend not in (None, "script"):
        raise ConfigError(f"--script replays recorded replies; it cannot go with --backend {args.backend}")
    settings = settings_with(
        args,
        (
            *args.model_options, "max_steps", "confirm", "monitor", "history_dir", "kill_hotkey", "refine",
            "marks", "narrate",
        ),
    )
    if args.script:
        settings.backend = "script"  # --script alone means: replay these replies
    require_valid(settings)
    from agent.cli.macros import parse_vars

    variables = parse_vars(args.vars)  # the task's {name}s are checked against them before a model loads
    stop = threading.Event()
    loading = threading.Event()
    loading.set()

    from agent.progress import LineProgress

    # A download's progress is one line that updates in place (plain lines when piped).
    say = LineProgress(sys.stderr)

    def on_interrupt(*_: object) -> None:
        # While the model loads, Ctrl+C interrupts the load (exit 3); once the run has
        # started it sets the same stop token as the kill hotkey, so the run ends the same way.
        stop.set()
        if loading.is_set():
            raise KeyboardInterrupt

    def started(event: object) -> None:
        if isinstance(event, RunStarted):
            loading.clear()
            say(f"Kill hotkey: {settings.kill_hotkey} (or Ctrl+C here, or push the pointer into a corner)")
            if args.dry_run:
                say("Dry run: actions are planned, checked and recorded, never performed")

    signal.signal(signal.SIGINT, on_interrupt)
    narration = None
    if settings.narrate or args.speak_to:
        from agent.access.speech import SpeechSettings, open_speech

        voice = SpeechSettings(settings.speech_rate, settings.speech_voice)
        narration = open_speech(
            args.speak_to, voice, stop, on_problem=lambda problem: say(f"deskpilot: {problem}")
        )
    try:
        result = Session(progress=say).run_task(
            settings,
            args.task,
            TerminalOperator(),
            stop=stop,
            dry_run=args.dry_run,
            observers=[started, TerminalReporter()],
            narration=narration,
            fresh=args.fresh,
            variables=variables,
        )
    finally:
        if narration is not None:
            narration.close()
    if result.answer is not None:
        sys.stdout.write(result.answer + "\n")
    return result_exit_code(result)



def _cmd_tray(args: argparse.Namespace) -> int:
    # The console script (ui.entry) starts the tray before this parser runs; agent/
    # itself never imports Qt, so from here the user is told the two ways that work.
    raise BadInput("start the tray app with `deskpilot tray` (the console script) or `python -m ui`")

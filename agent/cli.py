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
from typing import TYPE_CHECKING, Any, NoReturn

from agent.errors import DeskpilotError, HistoryError, StoppedError

if TYPE_CHECKING:
    from agent.config import Settings

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_STOPPED = 0, 1, 2, 3

log = logging.getLogger("deskpilot")


def _version() -> str:
    try:
        return version("deskpilot")
    except PackageNotFoundError:
        return "unknown"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (and exit 2) like every other bad input."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_model_options(parser: Any, *, backends: Sequence[str] | None = None, script: bool = True) -> None:
    """The model options every model-using command takes, with their defaults, written once.

    ``parser`` may be an argument group; ``backends`` narrows the choices (skills take no
    script backend); ``script`` adds ``--script``.
    """
    from agent.config import BACKENDS, PRECISIONS

    d = _defaults()
    choices = list(backends) if backends is not None else list(BACKENDS)
    parser.add_argument("--backend", choices=choices, help=f"where the model runs (default: {d.backend})")
    parser.add_argument(
        "--model",
        metavar="ID_OR_PATH",
        help=f"hub id or local folder, or the server's model name (default: {d.model})",
    )
    parser.add_argument(
        "--precision",
        choices=list(PRECISIONS),
        help=f"in-process weights; auto fits free memory (default: {d.precision})",
    )
    parser.add_argument("--base-url", metavar="URL", help=f"OpenAI-compatible server (default: {d.base_url})")
    parser.add_argument("--api-key", metavar="KEY", help="API key for that server (default: none)")
    if script:
        parser.add_argument(
            "--script",
            metavar="FILE",
            help="JSON Lines of recorded replies; implies --backend script (default: none)",
        )
    parser.add_argument("--max-pixels", type=int, metavar="N", help=_max_pixels_help(d.max_pixels))


def _defaults() -> Settings:
    from agent.config import Settings

    return Settings()


def _max_pixels_help(default: int) -> str:
    # One image token per 32x32 pixels; the numbers are what a 1920x1080 screenshot costs.
    return (
        f"image pixel budget per screenshot (default: {default}, native resolution: a 1920x1080 screen "
        "is 2040 image tokens; 1048576 shrinks it to 1344x768, 1008 tokens, about half the prefill, "
        "at some cost in reading small text)"
    )


def build_parser() -> argparse.ArgumentParser:
    from agent.access.commands import add_commands as add_access_commands
    from agent.config import BACKENDS, CONFIRM_MODES, FRAMES, REFINE_MODES

    parser = _Parser(prog="deskpilot", description="A local-first desktop automation agent.")
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

    d = _defaults()
    p_run = sub.add_parser(
        "run",
        help="carry out a task on this desktop",
        description="Run the capture → plan → act loop for TASK. Every option's default comes from "
        "the settings file (~/.config/deskpilot/config.toml or $DESKPILOT_CONFIG), else the value shown.",
    )
    p_run.add_argument("task", help="what to do, in plain words")
    add_model_options(p_run)
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
        action="store_true",
        help="say each action before it happens, then its outcome (default: off)",
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
    add_access_commands(sub)

    from agent.grounding.commands import add_commands as add_grounding_commands

    add_grounding_commands(sub)
    from agent.finetune.commands import add_commands as add_finetune_commands

    add_finetune_commands(sub)
    from agent.skills.commands import add_commands as add_skill_commands

    add_skill_commands(sub)
    from agent.macros.commands import add_commands as add_macro_commands

    add_macro_commands(sub)
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
    "refine",
)


def _settings_with(args: argparse.Namespace, names: Sequence[str]) -> Settings:
    """The settings file's values with the options given on the command line on top."""
    from pydantic import ValidationError

    from agent.config import load_settings
    from agent.errors import ConfigError

    settings = load_settings()
    try:
        for name in names:
            value = getattr(args, name)
            if value is not None:
                setattr(settings, name, value)
    except ValidationError as err:
        item = err.errors()[0]
        message = str(item["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"--{str(item['loc'][0]).replace('_', '-')}: {message}") from None
    return settings


def _cmd_run(args: argparse.Namespace) -> int:
    import signal
    import threading

    from agent.api import RunStarted, Session
    from agent.config import require_valid
    from agent.errors import ConfigError
    from agent.terminal import TerminalOperator, TerminalReporter

    if args.script and args.backend not in (None, "script"):
        raise ConfigError(f"--script replays recorded replies; it cannot go with --backend {args.backend}")
    settings = _settings_with(args, _RUN_OVERRIDES)
    if args.script:
        settings.backend = "script"  # --script alone means: replay these replies
    require_valid(settings)
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
    if args.narrate or args.speak_to:
        from agent.access.speech import SpeechSettings, open_speech

        voice = SpeechSettings(settings.speech_rate, settings.speech_voice)
        narration = open_speech(args.speak_to, voice, stop)
    try:
        result = Session(progress=say).run_task(
            settings,
            args.task,
            TerminalOperator(),
            stop=stop,
            dry_run=args.dry_run,
            observers=[started, TerminalReporter()],
            narration=narration,
        )
    finally:
        if narration is not None:
            narration.close()
    if result.answer is not None:
        sys.stdout.write(result.answer + "\n")
    return result.exit_code


def _cmd_tray(args: argparse.Namespace) -> int:
    # The console script (ui.entry) starts the tray before this parser runs; agent/
    # itself never imports Qt, so from here the user is told the two ways that work.
    raise _BadInput("start the tray app with `deskpilot tray` (the console script) or `python -m ui`")


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


class _OnceFilter(logging.Filter):
    """Drops records that a library's own handler has already printed on their way up.

    huggingface_hub (and transformers when ``CI`` is set) attach a stream handler to
    their top logger and still let records propagate to the root, so with a root
    handler too every warning would appear twice. The check runs per record, so it also
    covers handlers a lazily imported library adds after logging was set up.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        logger: logging.Logger | None = logging.getLogger(record.name)
        while logger is not None and logger is not logging.root:
            if logger.handlers:
                return False
            logger = logger.parent if logger.propagate else None
        return True


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_OnceFilter())
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, handlers=[handler])


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


class _BadInput(DeskpilotError):
    pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
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
    except HistoryError as err:
        sys.stderr.write(f"deskpilot: error: {err}\n")
        return EXIT_FAILED
    except DeskpilotError as err:
        sys.stderr.write(f"deskpilot: error: {err}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write("deskpilot: stopped by Ctrl+C\n")
        return EXIT_STOPPED
    except BrokenPipeError:
        # The reader went away (`| head -1`): it has what it wanted, so no traceback.
        from agent.terminal import silence_closed_stdout

        silence_closed_stdout()
        return EXIT_OK


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())

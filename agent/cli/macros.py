"""``deskpilot macro ...``: play, show, edit, from-run and record, registered from here."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.cli.options import EXIT_OK, add_model_options, settings_with
from agent.errors import ConfigError

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.macros.describing import Target
    from agent.macros.schema import Macro


def add_commands(sub: Any) -> None:
    """Add the ``macro`` command and its subcommands to the CLI's subparsers."""
    from agent.config import CONFIRM_MODES, Settings

    d = Settings()
    p_macro = sub.add_parser(
        "macro",
        help="record, replay, show and edit macros (a model only for targets no picture tier finds)",
        description="Macros: recorded steps with visual anchors, replayed through the same policy, "
        "confirmation and kill hotkey as a run.",
    )
    msub = p_macro.add_subparsers(dest="macro_command", metavar="SUBCOMMAND", required=True)
    add_record_command(msub)  # first: recording is where a macro starts

    p_play = msub.add_parser(
        "play",
        help="replay a macro file on this desktop",
        description="Replay FILE: each step waits for the screen to settle and for its target to "
        "appear, is found on the current screen (healing when it moved, was rescaled or restyled), "
        "then goes through the same policy, confirmation and kill hotkey as a run. No model is "
        "loaded unless a described step is found by no other tier. Exit 0 played, 1 failed, "
        "2 bad input, 3 stopped.",
    )
    p_play.add_argument("file", type=Path, metavar="FILE", help="the macro file (JSON, version 1)")
    p_play.add_argument(
        "--speed",
        default="max",
        metavar="N|max",
        help="recorded pauses divided by N; max skips them and only waits for the screen (default: max)",
    )
    p_play.add_argument("--repeat", type=int, default=1, metavar="N", help="play N times over (default: 1)")
    p_play.add_argument(
        "--vars",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a value for {NAME} in typed text; repeatable; a --data column of that name wins "
        "(default: none)",
    )
    p_play.add_argument(
        "--data",
        type=Path,
        metavar="FILE.csv",
        help="a CSV file with a header row: one replay per row, its columns as {names} (default: none)",
    )
    p_play.add_argument(
        "--confirm", choices=list(CONFIRM_MODES), help=f"when to ask before acting (default: {d.confirm})"
    )
    p_play.add_argument(
        "--dry-run",
        action="store_true",
        help="look for every step's anchor once and record, but perform nothing; a target not found "
        "fails the run, exit 1 (default: off)",
    )
    p_play.add_argument(
        "--wait",
        choices=["screen", "recorded"],
        default="screen",
        help="screen: settle and wait for each anchor to appear; recorded: replay the recorded "
        "pauses (at --speed, 1 when max) and look once (default: screen)",
    )
    p_play.add_argument(
        "--update-anchors",
        action="store_true",
        help="save the look of each target found by healing as a new variant in FILE (default: off)",
    )
    p_play.add_argument(
        "--report",
        type=Path,
        metavar="FILE.html",
        help="write a replay report: each step's recorded anchor beside where it was found (default: none)",
    )
    p_play.add_argument(
        "--monitor",
        type=int,
        metavar="N",
        help="mss monitor index, 1 primary (default: the settings' monitor; left at its default "
        f"{d.monitor}, the monitor whose origin and size match the recorded one, else {d.monitor}; a "
        "monitor other than the recorded one is said up front)",
    )
    p_play.add_argument(
        "--history-dir",
        metavar="DIR",
        help="where the replay is recorded (default: the user data folder, deskpilot/runs)",
    )
    p_play.add_argument(
        "--kill-hotkey", metavar="CHORD", help=f"the chord that stops playback (default: {d.kill_hotkey})"
    )
    models = p_play.add_argument_group(
        "model (tier d)",
        "a step whose anchor has a description (record --describe, from-run) and that no picture or "
        "text tier finds is grounded by this model, loaded only then",
    )
    models.add_argument(
        "--no-model",
        action="store_true",
        help="never load or ask a model: such a step fails as not found (default: ask the model)",
    )
    add_model_options(models, backends=("local", "openai"), script=False)
    p_play.set_defaults(handler=_cmd_play)

    p_show = msub.add_parser(
        "show",
        help="list a macro's steps in words, numbered",
        description="Print FILE's steps one per line, numbered as 'macro edit' takes them, each with "
        "its pause, its anchor's size and the text and description it keeps.",
    )
    p_show.add_argument("file", type=Path, metavar="FILE", help="the macro file")
    p_show.set_defaults(handler=_cmd_show)

    p_edit = msub.add_parser(
        "edit",
        help="delete, move or insert steps and waits, or change a step's text",
        description="Change FILE in place (0600); step numbers are those 'macro show' prints.",
    )
    p_edit.add_argument("file", type=Path, metavar="FILE", help="the macro file, rewritten in place (0600)")
    esub = p_edit.add_subparsers(dest="edit_command", metavar="EDIT", required=True)
    e = esub.add_parser("delete", help="delete step N")
    e.add_argument("number", type=int, metavar="N", help="the step's number as 'macro show' lists it")
    e = esub.add_parser("move", help="move step N so it becomes step TO")
    e.add_argument("number", type=int, metavar="N", help="the step to move")
    e.add_argument("to", type=int, metavar="TO", help="its new number")
    e = esub.add_parser(
        "insert-wait", help="insert a wait of SECONDS before step N (N = count+1: at the end)"
    )
    e.add_argument("number", type=int, metavar="N", help="the new step's number")
    e.add_argument("seconds", type=float, metavar="SECONDS", help="how long to wait (0..60)")
    e = esub.add_parser("insert", help="insert a key, type or wait step, given as JSON, before step N")
    e.add_argument("number", type=int, metavar="N", help="the new step's number")
    e.add_argument(
        "action",
        metavar="JSON",
        help='e.g. \'{"action": "key", "keys": ["ctrl", "s"]}\', \'{"action": "type", "text": "hi"}\' '
        'or \'{"action": "wait", "time": 2}\'',
    )
    e = esub.add_parser("set-text", help="change the text a type step types")
    e.add_argument("number", type=int, metavar="N", help="the type step")
    e.add_argument(
        "text",
        metavar="TEXT",
        help="the new text; {name} is filled from --vars or --data, {{ and }} type a brace; a line "
        "break must be a real one (in bash: $'hello\\n'); a typed \\n is two characters",
    )
    p_edit.set_defaults(handler=_cmd_edit)

    p_from = msub.add_parser(
        "from-run",
        help="turn a recorded agent run into a macro (replayable without the model)",
        description="Write the actions RUN performed as a macro: each pointer step's anchor is cut "
        "from that step's screenshot, on the monitor the run was on; the model's own names of its "
        "targets become their descriptions.",
    )
    p_from.add_argument(
        "run", metavar="RUN", help="a run id as 'deskpilot history' lists it, a unique start, or 'latest'"
    )
    p_from.add_argument("file", type=Path, metavar="FILE", help="the macro file to write (0600)")
    p_from.add_argument(
        "--history-dir",
        type=Path,
        metavar="DIR",
        help="where runs are kept (default: the user data folder, deskpilot/runs)",
    )
    p_from.set_defaults(handler=_cmd_from_run)


# -- play -------------------------------------------------------------------------------


def parse_speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        raise ConfigError(f"--speed: expected a number or 'max', got {text!r}") from None
    if not 0 < speed <= 1000:
        raise ConfigError(f"--speed: expected a number in (0, 1000] or 'max', got {text!r}")
    return speed


def parse_vars(items: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            raise ConfigError(f"--vars: expected NAME=VALUE, got {item!r}")
        values[name] = value
    return values


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file with a header, each as {column: value}."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames:
                raise ConfigError(f"--data: {path} has no header row")
            bad = [name for name in reader.fieldnames if not name.isidentifier()]
            if bad:
                raise ConfigError(f"--data: column {bad[0]!r} in {path} is not a usable {{name}}")
            rows = [{k: v for k, v in row.items() if k is not None} for row in reader]
    except FileNotFoundError:
        raise ConfigError(f"--data: no file {path}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ConfigError(f"--data: cannot read {path}: {err}") from None
    if not rows:
        raise ConfigError(f"--data: {path} has a header but no rows")
    return rows


def _cmd_play(args: argparse.Namespace) -> int:
    import signal
    import threading

    from agent.api import RunFinished, RunStarted, Session
    from agent.config import Settings
    from agent.macros.playback import DataFile
    from agent.macros.player import PlaySettings
    from agent.terminal import TerminalOperator, TerminalReporter

    speed = parse_speed(args.speed)
    if args.repeat < 1:
        raise ConfigError(f"--repeat: expected at least 1, got {args.repeat}")
    values = parse_vars(args.vars)
    data: DataFile | None = None
    rows = [values]
    if args.data:
        file_rows = read_rows(args.data)
        data = DataFile(args.data, list(file_rows[0]))
        rows = [{**values, **row} for row in file_rows]
    settings = settings_with(args, ("confirm", "monitor", "history_dir", "kill_hotkey", *args.model_options))
    # Neither --monitor nor a monitor in the settings: play where the macro was recorded.
    find_monitor = args.monitor is None and settings.monitor == Settings().monitor
    if args.wait == "recorded" and speed is None:
        speed = 1.0  # "replay the recorded pauses" at the recorded pace
    play = PlaySettings(speed=speed, wait=args.wait, repeat=args.repeat, dry_run=args.dry_run)
    stop = threading.Event()

    def say(message: str) -> None:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()

    def started(event: object) -> None:
        if isinstance(event, RunStarted):
            say(f"Kill hotkey: {settings.kill_hotkey} (or Ctrl+C here)")
            if args.dry_run:
                say("Dry run: anchors are looked for and steps recorded, nothing is performed")

    steps = TerminalReporter()

    def report(event: object) -> None:
        # The player's detail already counts the steps in words ("played 1 step").
        if isinstance(event, RunFinished):
            say(f"run {event.result.outcome}: {event.result.detail}")
        else:
            steps(event)  # type: ignore[arg-type]

    signal.signal(signal.SIGINT, lambda *_: stop.set())
    result = Session(progress=say).play_macro(
        settings,
        args.file,
        TerminalOperator(),
        stop=stop,
        play=play,
        rows=rows,
        report=args.report,
        update_anchors=args.update_anchors,
        observers=[started, report],
        model=not args.no_model,
        data=data,
        find_monitor=find_monitor,
    )
    return result.exit_code


# -- show, edit, from-run ---------------------------------------------------------------


def _cmd_show(args: argparse.Namespace) -> int:
    from agent.macros.schema import describe_macro_step, load_macro
    from agent.wording import clip, plural

    macro = load_macro(args.file)
    m = macro.monitor
    origin = f"made from run {macro.run_id}" if macro.source == "run" and macro.run_id else macro.source
    lines = [
        f"Macro {clip(macro.name, 80) or args.file.name} ({plural(len(macro.steps), 'step')}, {origin}; "
        f"monitor {m.width}x{m.height} at ({m.left}, {m.top}), scale {m.scale:g})"
    ]
    lines += [describe_macro_step(i, step) for i, step in enumerate(macro.steps, start=1)]
    sys.stdout.write("".join(line + "\n" for line in lines))
    return EXIT_OK


def _cmd_edit(args: argparse.Namespace) -> int:
    from agent.macros import editing
    from agent.macros.schema import load_macro, save_macro

    macro = load_macro(args.file)
    match args.edit_command:
        case "delete":
            macro = editing.delete_step(macro, args.number)
        case "move":
            macro = editing.move_step(macro, args.number, args.to)
        case "insert-wait":
            macro = editing.insert_wait(macro, args.number, args.seconds)
        case "insert":
            try:
                action = json.loads(args.action)
            except json.JSONDecodeError:
                raise ConfigError(f"insert: {args.action!r} is not JSON") from None
            if not isinstance(action, dict):
                raise ConfigError("insert: the step must be a JSON object with an 'action'")
            macro = editing.insert_step(macro, args.number, action)
        case "set-text":
            macro = editing.set_text(macro, args.number, args.text)
    save_macro(macro, args.file)
    from agent.wording import plural

    sys.stderr.write(f"saved {args.file} ({plural(len(macro.steps), 'step')})\n")
    return EXIT_OK


def _cmd_from_run(args: argparse.Namespace) -> int:
    from agent.api import history_root
    from agent.config import load_settings
    from agent.macros.from_run import macro_from_run
    from agent.macros.schema import save_macro

    root = Path(args.history_dir).expanduser() if args.history_dir else history_root(load_settings())

    def say(line: str) -> None:
        sys.stderr.write(line + "\n")

    from agent.access.ocr import RapidReader

    macro = macro_from_run(root, args.run, progress=say, reader=RapidReader())
    save_macro(macro, args.file)
    from agent.wording import plural

    anchored = sum(1 for s in macro.steps if s.anchor is not None)
    sys.stderr.write(f"saved {args.file}: {plural(len(macro.steps), 'step')}, {anchored} with anchors\n")
    return EXIT_OK


def add_record_command(msub: Any) -> None:
    from agent.config import Settings

    d = Settings()
    p_rec = msub.add_parser(
        "record",
        help="record your mouse and keyboard into a macro, until the kill hotkey or Ctrl+C",
        description="Record real input into FILE: clicks, drags, scrolls, key chords and typed text, "
        "each pointer step with a visual anchor and the text at its point (offline OCR). "
        "The kill hotkey ends recording and is not recorded.",
    )
    p_rec.add_argument("file", type=Path, metavar="FILE", help="the macro file to write (0600)")
    p_rec.add_argument(
        "--monitor",
        type=int,
        metavar="N",
        help=f"mss monitor index to anchor on: 1 primary (default: {d.monitor})",
    )
    p_rec.add_argument(
        "--kill-hotkey", metavar="CHORD", help=f"the chord that ends recording (default: {d.kill_hotkey})"
    )
    models = p_rec.add_argument_group(
        "describing (--describe)",
        "after recording, the model names each pointer step's target in a short phrase, which replay's "
        "model tier (d) grounds when no picture or text tier finds the anchor",
    )
    models.add_argument(
        "--describe",
        action="store_true",
        help="describe each pointer step's target with the model once recording ends; the model "
        "options are checked before recording starts (default: off)",
    )
    add_model_options(models, backends=("local", "openai"), script=False)
    p_rec.set_defaults(handler=_cmd_record)


def _cmd_record(args: argparse.Namespace) -> int:
    import signal
    import threading

    from agent.api import record_macro
    from agent.config import require_valid

    given = [name for name in args.model_options if getattr(args, name) is not None]
    if given and not args.describe:
        # Said now: the user would otherwise record for minutes believing a model is involved.
        raise ConfigError(f"--{given[0].replace('_', '-')} is for --describe; add --describe or leave it out")
    settings = settings_with(args, ("monitor", "kill_hotkey", *args.model_options))
    if args.describe:
        require_valid(settings)  # before recording: not after the user spent minutes on it
    stop = threading.Event()
    interrupted = threading.Event()

    def on_interrupt(*_: object) -> None:
        interrupted.set()
        stop.set()

    def recording() -> None:
        sys.stderr.write(f"recording: press {settings.kill_hotkey} (or Ctrl+C here) to stop\n")
        sys.stderr.flush()

    def say(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    signal.signal(signal.SIGINT, on_interrupt)
    # The macro is saved before any model is involved: describing may fail.
    saved = record_macro(
        settings, args.file, stop, on_recording=recording, progress=say, interrupted=interrupted
    )
    from agent.wording import plural

    injected = plural(saved.injected, "event")
    ignored = f" ({injected} Deskpilot injected were left out)" if saved.injected else ""
    if not saved.written:
        say(f"nothing was recorded{ignored}; {args.file} not written")
        return 1
    say(f"saved {saved.path}: {plural(saved.steps, 'step')}{ignored}")
    if not args.describe or not saved.targets:
        return EXIT_OK
    return _describe(settings, saved.macro, saved.targets, saved.path, say)


def _describe(
    settings: Settings, macro: Macro, targets: Sequence[Target], path: Path, say: Callable[[str], None]
) -> int:
    """Describe the recorded targets and save them; on failure the macro stays saved, in one line, exit 1."""
    import signal
    import threading

    from agent.api import Session
    from agent.errors import DeskpilotError
    from agent.macros.describing import TargetDescriber, describe_steps
    from agent.macros.schema import save_macro

    stop = threading.Event()  # Ctrl+C now stops describing, not the recording (it is over)
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        backend = Session(progress=say).backend(settings, cancel=stop)
        done = describe_steps(macro, targets, TargetDescriber(backend, settings.max_pixels), stop, say)
    except DeskpilotError as err:
        # The steps described before the failure keep theirs; the recording is never lost.
        done = sum(1 for s in macro.steps if s.anchor is not None and s.anchor.description)
        if done:
            save_macro(macro, path)
        kept = f"with {done} of {len(targets)} descriptions" if done else "without descriptions"
        say(f"could not describe the steps ({err}); {path} is saved {kept}")
        return 1
    save_macro(macro, path)
    say(f"saved {path} with {done} of {len(targets)} pointer steps described")
    return EXIT_OK

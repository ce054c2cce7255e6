"""The accessibility subcommands of ``deskpilot``: read, click and describe."""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.cli.options import EXIT_FAILED, EXIT_OK, add_model_options, result_exit_code, settings_with

if TYPE_CHECKING:
    from agent.access.speech import ThreadedSpeech
    from agent.computers.base import CaptureTarget
    from agent.config import Settings


def _add_target(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--region", metavar="WxH+X+Y", help="only this rectangle of the desktop (default: the whole monitor)"
    )
    where.add_argument(
        "--window",
        action="store_true",
        help="only the active window, else the window under the pointer (default: off)",
    )
    where.add_argument(
        "--monitor", type=int, default=1, metavar="N", help="mss monitor index: 1 primary, 0 all (default: 1)"
    )


def _add_speech(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--speak", action="store_true", help="also say it aloud, offline (default: off)")
    parser.add_argument(
        "--speak-to",
        type=Path,
        metavar="FILE.wav",
        help="write all that would be spoken into one WAV file instead of the speakers (default: none)",
    )


def add_commands(sub: Any) -> None:
    """Register read, click and describe on the ``deskpilot`` subparsers (an argparse _SubParsersAction)."""
    p_read = sub.add_parser(
        "read",
        help="read the text on screen in reading order (offline OCR, no model)",
        description="Print the text on screen, one line per line, in reading order, through offline "
        "OCR; no model is loaded. With --speak each line is spoken as soon as it is read.",
    )
    _add_target(p_read)
    _add_speech(p_read)
    p_read.add_argument(
        "--verbose",
        action="store_true",
        help="start each line with its source: [tree] (the accessibility tree) or [OCR] (default: off)",
    )
    p_read.set_defaults(handler=_cmd_read)

    from agent.config import CONFIRM_MODES, Settings
    from agent.effects import CONFIRM_TIMEOUT_S

    d = Settings()
    p_click = sub.add_parser(
        "click",
        help="click the element or text NAME (accessibility tree, then offline OCR; through the policy "
        "and confirmation)",
        description="Find NAME on screen (case, spacing and small OCR errors tolerated): the accessibility "
        "tree is asked first, then OCR, then the model, and the output says which found it. Click its "
        "centre through the guarded executor. Several matches are listed, numbered in reading order, and "
        "nothing is clicked (exit 1) unless --pick chooses one. A click or press the tree found is "
        f"confirmed by its effect (an event from its application within {CONFIRM_TIMEOUT_S:g} s, or the "
        "element changed) and the result line says which; with none seen, a --no-pointer press or a "
        "click on an element the tree calls disabled fails (exit 1), never retried.",
    )
    p_click.add_argument("name", metavar="NAME", help="the text to click, e.g. OK or 'Save as'")
    p_click.add_argument(
        "--pick",
        type=int,
        metavar="N",
        help="click the Nth match in reading order (default: only one may match)",
    )
    kind = p_click.add_mutually_exclusive_group()
    kind.add_argument(
        "--double", action="store_true", help="double-click instead (default: single left click)"
    )
    kind.add_argument("--right", action="store_true", help="right-click instead (default: single left click)")
    kind.add_argument(
        "--no-pointer",
        action="store_true",
        help="perform the element's own action through the accessibility tree; the pointer does not "
        "move (default: click it)",
    )
    p_click.add_argument(
        "--confirm", choices=list(CONFIRM_MODES), help=f"when to ask before clicking (default: {d.confirm})"
    )
    p_click.add_argument(
        "--monitor", type=int, metavar="N", help=f"mss monitor index: 1 primary (default: {d.monitor})"
    )
    p_click.add_argument(
        "--dry-run",
        action="store_true",
        help="find, check and record the click, but do not click (default: off)",
    )
    p_click.add_argument(
        "--history-dir", metavar="DIR", help="where the click is recorded (default: the user data folder)"
    )
    p_click.add_argument(
        "--model-fallback",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="when OCR finds no such text, ask the settings' model to point at it; the click is "
        "then confirmed first (default: on)",
    )
    _add_speech(p_click)
    p_click.set_defaults(handler=_cmd_click)

    p_desc = sub.add_parser(
        "describe",
        help="describe the screen (or answer a question about it) with the model",
        description="Capture the screen once and have the model describe it concisely, or answer "
        "--question; --chat then answers follow-up questions typed on stdin until an empty line. "
        "A blank screen is refused without asking the model. Model options as for run; their "
        "defaults come from the settings file.",
    )
    _add_target(p_desc)
    p_desc.add_argument(
        "--question", metavar="TEXT", help="ask this instead of a description (default: none)"
    )
    p_desc.add_argument(
        "--chat",
        action="store_true",
        help="then read follow-up questions from stdin, one a line, until an empty line (default: off)",
    )
    p_desc.add_argument(
        "--no-ocr-check",
        action="store_true",
        help="do not check quoted text against OCR of the screen (default: check)",
    )
    _add_speech(p_desc)
    add_model_options(p_desc)
    p_desc.set_defaults(handler=_cmd_describe)


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _cmd_click(args: argparse.Namespace) -> int:
    import signal

    from agent.access.clicking import Button, ClickRequest
    from agent.api import Session, click_by_name
    from agent.config import require_valid
    from agent.terminal import TerminalOperator

    settings = settings_with(args, ("confirm", "monitor", "history_dir"))
    require_valid(settings)
    button: Button = "double" if args.double else "right" if args.right else "left"
    request = ClickRequest(args.name, args.pick, button, no_pointer=args.no_pointer)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())  # Ctrl+C is the kill hotkey's twin
    speech = _speech(args, stop)
    try:
        outcome = click_by_name(
            settings,
            request,
            TerminalOperator(),
            stop=stop,
            speech=speech,
            on_line=_say,
            on_list=_out,
            dry_run=args.dry_run,
            # The model, only if OCR finds nothing, and only when the fallback is on.
            session=Session(progress=_say) if args.model_fallback else None,
        )
    finally:
        if speech is not None:
            speech.close()
    result = outcome.result
    if result.outcome != "success":
        _say(f"deskpilot: {result.outcome}: {result.detail}")
    return result_exit_code(result)


def _cmd_describe(args: argparse.Namespace) -> int:
    import signal

    from agent.access.targets import TargetChoice, resolve
    from agent.config import require_valid

    settings = settings_with(args, args.model_options)
    if args.script:
        settings.backend = "script"
    require_valid(settings)
    if args.question is not None and not args.question.strip():
        raise _bad("--question is empty")
    target = resolve(TargetChoice(args.region, args.window, args.monitor))
    stop = threading.Event()

    def interrupted(*_: object) -> None:
        stop.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupted)
    speech = _speech(args, stop)
    try:
        with _hotkeys(stop, speech):
            return _converse(args, settings, target, stop, speech)
    finally:
        if speech is not None:
            speech.close()


def _converse(
    args: argparse.Namespace,
    settings: Settings,
    target: CaptureTarget,
    stop: threading.Event,
    speech: ThreadedSpeech | None,
) -> int:
    from agent.access.describe import BLANK
    from agent.api import Session, describe_screen

    description = describe_screen(
        Session(progress=_say), settings, target, stop=stop, check_quotes=not args.no_ocr_check
    )
    if description is None:
        _say(f"deskpilot: {BLANK}; nothing to describe (the model was not asked)")
        if speech is not None:
            speech.say(BLANK.capitalize())
        return EXIT_FAILED
    question: str | None = args.question
    while True:
        _say("asking the model…")

        def stream(text: str) -> None:
            sys.stdout.write(text)
            sys.stdout.flush()

        reply = description.ask(question, stream)
        sys.stdout.write("\n")
        for note in reply.notes:
            _out(note)
        if speech is not None:
            speech.say(reply.text)
            for note in reply.notes:
                speech.say(note)
        if not args.chat:
            return EXIT_OK
        _say("question (an empty line ends):")
        line = sys.stdin.readline()
        if not line.strip():
            return EXIT_OK
        question = line.strip()


def _bad(message: str) -> Exception:
    from agent.errors import ConfigError

    return ConfigError(message)


@contextlib.contextmanager
def _hotkeys(stop: threading.Event, speech: ThreadedSpeech | None) -> Iterator[None]:
    """The kill hotkey (stops the command and its speech) and the quiet hotkey (silences speech)."""
    from agent.computers.selection import select_platform
    from agent.config import load_settings
    from agent.run.hotkey import KillSwitch

    settings = load_settings()
    watching = select_platform().input_watching()
    switches = [KillSwitch(settings.kill_hotkey, stop.set, watching)]
    if speech is not None:
        switches.append(KillSwitch(settings.quiet_hotkey, speech.stop, watching))
    started: list[KillSwitch] = []
    try:
        for switch in switches:
            switch.start()
            started.append(switch)
        yield
    finally:
        for switch in started:
            switch.stop()


def _speech(args: argparse.Namespace, stop: threading.Event) -> ThreadedSpeech | None:
    if not (args.speak or args.speak_to):
        return None
    from agent.access.speech import SpeechSettings, open_speech
    from agent.config import load_settings

    settings = load_settings()
    voice = SpeechSettings(settings.speech_rate, settings.speech_voice)
    return open_speech(args.speak_to, voice, stop, on_problem=lambda problem: _say(f"deskpilot: {problem}"))


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _cmd_read(args: argparse.Namespace) -> int:
    import signal

    from agent.access.ocr import RapidReader
    from agent.access.reading import BLANK, capture, read_frame
    from agent.access.targets import TargetChoice, resolve
    from agent.access.tree_reading import OCR, read_with_tree, tree_window
    from agent.api import open_accessible_tree
    from agent.errors import StoppedError
    from agent.geometry import Region
    from agent.wiring import check_display

    started = time.perf_counter()
    target = resolve(TargetChoice(args.region, args.window, args.monitor))
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())  # Ctrl+C is the kill hotkey's twin
    speech = _speech(args, stop)

    def out(line: str, source: str = OCR) -> None:
        _out(f"[{source}] {line}" if args.verbose else line)

    try:
        with _hotkeys(stop, speech):
            area = target if isinstance(target, Region) else check_display(target)
            # The active window's tree when it has text there: exact, in page or position order.
            window = tree_window(open_accessible_tree(), area)
            if window is not None:
                _say(f"reading {window.title!r} from the accessibility tree…")
                rest = None if args.window else (lambda: capture(target))  # OCR for what lies outside it
                result = read_with_tree(window, area, rest, RapidReader, out, speech, started, stop)
            else:
                if speech is not None:
                    speech.say("Reading")  # at once: OCR takes a second or two before the first line
                frame = capture(target)
                region = frame.region
                _say(f"reading {region.width}x{region.height}+{region.left}+{region.top}…")
                result = read_frame(frame, RapidReader(), out, speech, started, stop)
            if stop.is_set():
                raise StoppedError("stopped while reading")
        if result.blank:
            _say(f"deskpilot: {BLANK}; nothing to read")
            if speech is not None:
                speech.say(f"Nothing to read: {BLANK}")
            return EXIT_FAILED
        if not result.lines:
            _say("deskpilot: no text found")
            if speech is not None:
                speech.say("No text found")
            return EXIT_FAILED
        return EXIT_OK
    finally:
        if speech is not None:
            speech.close()

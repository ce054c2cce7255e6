"""The ``deskpilot`` command line: argument parsing and the one place errors become exit codes.

Exit codes: 0 success, 1 failed or gave up, 2 bad input (one line on stderr, never a
traceback), 3 stopped by the user.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import PackageNotFoundError, version

from agent.cli.options import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, EXIT_STOPPED, Parser
from agent.errors import DeskpilotError, DisplayError, HistoryError, StoppedError, UnsupportedDesktopError

# Every command group, in the order ``deskpilot --help`` lists them: each module of this
# package named here registers its subcommands with ``add_commands(sub)``. Imported only
# when the parser is built, so importing the CLI loads no feature.
COMMAND_GROUPS: tuple[str, ...] = (
    "run",
    "doctor",
    "history",
    "access",
    "grounding",
    "finetune",
    "skills",
    "macros",
    "stop",
)


def _version() -> str:
    try:
        return version("deskpilot")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="deskpilot", description="A local-first desktop automation agent.")
    parser.add_argument("--version", action="version", version=f"deskpilot {_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    from agent.computers.selection import OVERRIDES

    parser.add_argument(
        "--platform",
        choices=OVERRIDES,
        help="the desktop backend, over what the session says (default: chosen from the session; "
        "also DESKPILOT_PLATFORM)",
    )
    parser.add_argument(
        "--no-kill-chord",
        action="store_true",
        help="run even where no kill chord can be installed (a wlroots compositor without sway IPC): "
        "Wayland shows no app the keyboard, so then only `deskpilot stop` (bind a key to it yourself) "
        "or Ctrl+C stops a run",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in COMMAND_GROUPS:
        importlib.import_module(f"agent.cli.{group}").add_commands(sub)
    return parser


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


def _captures_or_acts(args: argparse.Namespace) -> bool:
    """Whether the command captures the screen or acts on it: those need a desktop Deskpilot can drive."""
    if args.command == "macro":
        return getattr(args, "macro_command", None) in ("play", "record")
    if args.command == "skill":  # on image files it needs no desktop
        return bool(args.region or args.window or args.monitor is not None)
    return args.command in ("run", "screenshot", "read", "click", "describe", "locate")


def _refuse_an_undrivable_desktop() -> None:
    """A desktop Deskpilot cannot drive (Wayland with no backend) is refused here, before any model loads.

    Having no display at all is left to the command's own checks, so the command says
    what is wrong in its usual order (a broken macro file before a missing display).
    """
    from agent.computers.selection import select_platform

    try:
        select_platform()
    except UnsupportedDesktopError:
        raise
    except DisplayError:
        pass


@contextlib.contextmanager
def _global_options(args: argparse.Namespace) -> Iterator[None]:
    """The platform options become the variables the selection point reads (children inherit them).

    Restored afterwards, so a caller that runs ``main`` in process (the tray, tests) is
    left as it was.
    """
    from agent.computers.selection import NO_KILL_CHORD_VARIABLE, PLATFORM_VARIABLE

    wanted = {
        PLATFORM_VARIABLE: args.platform or None,
        NO_KILL_CHORD_VARIABLE: "1" if args.no_kill_chord else None,
    }
    before = {name: os.environ.get(name) for name in wanted}
    for name, value in wanted.items():
        if value is not None:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run its command, and turn what it raised into the exit code."""
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
    with _global_options(args):
        return _run(handler, args)


def _run(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run the command; what it raised becomes one line on stderr and the exit code."""
    try:
        if _captures_or_acts(args):
            _refuse_an_undrivable_desktop()
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

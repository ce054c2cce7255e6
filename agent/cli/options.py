"""What every ``deskpilot`` command shares: the exit-code table, the parser, the model options."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from agent.errors import (
    BackendError,
    DeskpilotError,
    HistoryError,
    StoppedError,
    TargetNotFoundError,
)

if TYPE_CHECKING:
    from pathlib import Path

    from agent.config import Settings
    from agent.run.events import RunResult

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_STOPPED = 0, 1, 2, 3

# The one exit-code table: an error's code is that of the first class it is an instance of,
# whether a command raised it before any run or a run ended on it, so the same condition
# exits the same way from every command. "Failed" (1) is for what the user's input could not
# cause or fix by rewording it: the model (missing, unreachable, failing), the history disk.
EXIT_CODES: tuple[tuple[type[DeskpilotError], int], ...] = (
    (StoppedError, EXIT_STOPPED),  # the kill hotkey, Stop, a corner of the screen
    (HistoryError, EXIT_FAILED),  # the input was fine; the machine could not keep the record
    (BackendError, EXIT_FAILED),  # the model is not here, its server does not answer, or it failed
    (TargetNotFoundError, EXIT_FAILED),  # the model pointed nowhere
    (DeskpilotError, EXIT_BAD_INPUT),  # options, files, settings, macros, the display: fix and retry
)


def exit_code_for(err: DeskpilotError) -> int:
    """The table's code for ``err``."""
    return next(code for kind, code in EXIT_CODES if isinstance(err, kind))


def result_exit_code(result: RunResult) -> int:
    """A finished run's code: the table's for the error that ended it, else its outcome's."""
    return exit_code_for(result.error) if result.error is not None else result.exit_code


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (and exit 2) like every other bad input."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class BadInput(DeskpilotError):
    """A command's own check refused its input: one line and exit 2, like any DeskpilotError."""


def add_model_options(
    parser: Any, *, backends: Sequence[str] | None = None, script: bool = True
) -> tuple[str, ...]:
    """The model options every model-using command takes, with their defaults, written once.

    ``parser`` may be an argument group; ``backends`` narrows the choices (skills take no
    script backend); ``script`` adds ``--script``. Returns the Settings field names of the
    options added, and also leaves them in the parsed arguments as ``model_options``, so
    a command hands exactly these to ``settings_with`` without a list of its own.
    """
    from agent.config import BACKENDS, PRECISIONS

    d = defaults()
    choices = list(backends) if backends is not None else list(BACKENDS)
    added = [
        parser.add_argument(
            "--backend", choices=choices, help=f"where the model runs (default: {d.backend})"
        ),
        parser.add_argument(
            "--model",
            metavar="ID_OR_PATH",
            help=f"hub id or local folder, or the server's model name (default: {d.model})",
        ),
        parser.add_argument(
            "--precision",
            choices=list(PRECISIONS),
            help=f"in-process weights; auto fits free memory (default: {d.precision})",
        ),
        parser.add_argument(
            "--base-url", metavar="URL", help=f"OpenAI-compatible server (default: {d.base_url})"
        ),
        parser.add_argument("--api-key", metavar="KEY", help="API key for that server (default: none)"),
    ]
    if script:
        added.append(
            parser.add_argument(
                "--script",
                metavar="FILE",
                help="JSON Lines of recorded replies; implies --backend script (default: none)",
            )
        )
    added.append(
        parser.add_argument("--max-pixels", type=int, metavar="N", help=max_pixels_help(d.max_pixels))
    )
    names = tuple(str(action.dest) for action in added)
    parser.set_defaults(model_options=names)  # an argument group shares its parser's defaults
    return names


def defaults() -> Settings:
    """Every setting's default, as the help texts show them."""
    from agent.config import Settings

    return Settings()


def max_pixels_help(default: int) -> str:
    # One image token per 32x32 pixels; the numbers are what a 1920x1080 screenshot costs.
    return (
        f"image pixel budget per screenshot (default: {default}, native resolution: a 1920x1080 screen "
        "is 2040 image tokens; 1048576 shrinks it to 1344x768, 1008 tokens, about half the prefill, "
        "at some cost in reading small text)"
    )


def settings_with(args: argparse.Namespace, names: Sequence[str]) -> Settings:
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


def agent_run_named(root: Path, name: str, notes: list[str]) -> str:
    """``name``, or for 'latest' the newest agent run's id (clicks and replays skipped).

    Which run 'latest' picked is added to ``notes``, for the command to say once it has
    succeeded: bad input stays one line.
    """
    from agent.records.history import LATEST, latest_agent_run
    from agent.wording import clip

    if name != LATEST:
        return name
    info = latest_agent_run(root)
    notes.append(f'using run {info.id} ("{clip(info.task, 60)}")')
    return info.id

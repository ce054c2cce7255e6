"""What every ``deskpilot`` command shares: exit codes, the parser, the model options and their settings."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from agent.errors import DeskpilotError

if TYPE_CHECKING:
    from agent.config import Settings

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_STOPPED = 0, 1, 2, 3


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

"""The skill unit: a small declarative value (prompts, output type, validator, options, defaults)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from agent.errors import ConfigError

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
# What a skill produces; it decides the file suffix and how the result is shown.
OutputType = Literal["html", "drawio", "text", "json", "markdown"]


class OutputProblem(ValueError):
    """The model's output breaks the skill's contract; the message is told to the model on retry."""


@dataclass(frozen=True)
class SkillOption:
    """A ``--NAME VALUE`` option of a skill; ``choices`` empty means free text."""

    name: str
    help: str
    default: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class SkillContext:
    """What a validator may know besides the text: the options in force and how many images were sent."""

    options: Mapping[str, str] = field(default_factory=dict)
    image_count: int = 1
    lang: Lang = "en"


@dataclass(frozen=True)
class Validated:
    """The model's output after validation: the text to save, and its structured form when it has one.

    ``text`` is always cut out of the model's own output (fences and prose removed),
    never written by Deskpilot; ``data`` is that text parsed; ``markdown`` is ``data``
    laid out again (the quiz), word for word from the model.
    """

    text: str
    data: Any = None
    markdown: str | None = None


Validator = Callable[[str, SkillContext], Validated]


@dataclass(frozen=True)
class Skill:
    """One screen skill. Adding one is one file in ``agent/skills/catalog/`` defining ``SKILL``."""

    name: str
    summary: str
    # str.format templates; the options are their fields.
    prompts: Mapping[Lang, str]
    output: OutputType
    validate: Validator
    options: tuple[SkillOption, ...] = ()
    max_new_tokens: int = 1024
    # "many": every --image goes into one request (the article); "one": exactly one image.
    images: Literal["one", "many"] = "one"

    @property
    def suffix(self) -> str:
        return {"html": ".html", "drawio": ".drawio", "text": ".txt", "json": ".json", "markdown": ".md"}[
            self.output
        ]

    def resolve(self, given: Mapping[str, str | None]) -> dict[str, str]:
        """The option values in force: the given ones checked against the choices, else the defaults."""
        known = {o.name for o in self.options}
        for name, value in given.items():
            if value is not None and name not in known:
                flag = "--" + name.replace("_", "-")
                raise ConfigError(f"skill {self.name} takes no {flag} option")
        resolved: dict[str, str] = {}
        for option in self.options:
            value = given.get(option.name)
            value = option.default if value is None else value.strip()
            if option.choices and value not in option.choices:
                flag = "--" + option.name.replace("_", "-")
                raise ConfigError(f"{flag}: {value!r} is not one of {', '.join(option.choices)}")
            if not value:
                raise ConfigError(f"--{option.name.replace('_', '-')} must not be empty")
            resolved[option.name] = value
        return resolved

    def prompt(self, lang: Lang, options: Mapping[str, str]) -> str:
        return self.prompts[lang].format(**options)


def default_lang(environ: Mapping[str, str] | None = None) -> Lang:
    """The user's language from the locale variables: Chinese for zh_*, else English."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(name, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"

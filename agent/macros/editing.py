"""Editing a macro's step list: delete, move, insert steps and waits, change a step's text (pure)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from agent.errors import ConfigError
from agent.macros.schema import Macro, MacroStep, check_wait
from agent.validation import one_line
from agent.wording import plural


def _index(macro: Macro, number: int, *, insert: bool = False) -> int:
    """Step ``number`` (1-based) as a list index; for an insert, one past the end is allowed."""
    last = len(macro.steps) + (1 if insert else 0)
    if not 1 <= number <= last:
        raise ConfigError(f"no step {number}: the macro has {plural(len(macro.steps), 'step')}")
    return number - 1


def _edited(macro: Macro, steps: list[MacroStep]) -> Macro:
    return macro.model_copy(update={"steps": steps, "source": "edited"})


def delete_step(macro: Macro, number: int) -> Macro:
    steps = list(macro.steps)
    del steps[_index(macro, number)]
    return _edited(macro, steps)


def move_step(macro: Macro, number: int, to: int) -> Macro:
    steps = list(macro.steps)
    step = steps.pop(_index(macro, number))
    _index(macro, to)
    steps.insert(to - 1, step)
    return _edited(macro, steps)


def insert_step(macro: Macro, number: int, action: dict[str, Any]) -> Macro:
    """Insert ``action`` (flat form, e.g. {"action": "key", "keys": ["enter"]}) as step ``number``."""
    try:
        step = MacroStep(action=action)
    except ValidationError as err:
        # The step's own reason ("key.keys: unknown key 'notakey'"), not pydantic's footer.
        raise ConfigError(f"not a step: {one_line(err).removeprefix('action: ')}") from None
    if step.needs_anchor:
        raise ConfigError("a pointer step needs an anchor from a recording; insert keys, text or waits")
    steps = list(macro.steps)
    steps.insert(_index(macro, number, insert=True), step)
    return _edited(macro, steps)


def insert_wait(macro: Macro, number: int, seconds: float) -> Macro:
    return insert_step(macro, number, {"action": "wait", "time": check_wait(seconds)})


def set_text(macro: Macro, number: int, text: str) -> Macro:
    index = _index(macro, number)
    step = macro.steps[index]
    if step.name != "type":
        raise ConfigError(f"step {number} is a {step.name} step; only type steps have text")
    if not text:
        raise ConfigError("the new text is empty")
    steps = list(macro.steps)
    steps[index] = step.model_copy(update={"action": {**step.action, "text": text}})
    MacroStep.model_validate(steps[index].model_dump())  # the limits still hold
    return _edited(macro, steps)

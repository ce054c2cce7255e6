"""Which recorded run a task replays: task templates with ``{name}`` variables, the layout, the rule.

The rule (README, "Replaying a task"): a run is replayed only when it finished with
success (and did not end by answering a question: an answer reads the screen of its
moment), on the same monitor layout (``store.Layout``), for the same task: the same
words, ignoring case and spacing, where ``{name}`` variables may take other values. A
task whose words point at the current state of the screen ("the newest window", "the
last email") is never replayed unless the user pinned a run of it. The pinned run wins,
else the newest one. ``--fresh`` asks the model whatever the index holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from agent.errors import ConfigError
from agent.replays.store import Layout, ReplayEntry, same_task

_VARIABLE = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
_WORD = re.compile(r"[^\W\d_]+")

# Words that make a task mean whatever the screen holds now: the same words next time
# mean another window, mail or file, which a replay of the old run would get wrong.
CURRENT_STATE_WORDS = frozenset(
    {
        "newest", "latest", "last", "recent", "recently", "current", "currently", "now", "today",
        "yesterday", "tomorrow", "tonight", "unread", "selected", "focused", "active", "this",
        "these", "here", "next", "previous", "first",
    }
)  # fmt: skip


def variable_names(template: str) -> list[str]:
    """The ``{name}`` variables of a task, in order, each once."""
    names: list[str] = []
    for match in _VARIABLE.finditer(template):
        name = match.group(1)
        if name is not None and name not in names:
            names.append(name)
    return names


def fill(template: str, values: Mapping[str, str]) -> str:
    """The task with its variables' values in (``{{``/``}}``: a brace); the caller checked the names."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return match.group(0)[0] if name is None else values[name]

    return _VARIABLE.sub(value, template)


def check_variables(task: str, values: Mapping[str, str]) -> None:
    """Every ``{name}`` of the task has a value and every value a ``{name}``; ConfigError if not."""
    names = variable_names(task)
    missing = [n for n in names if n not in values]
    if missing:
        raise ConfigError(f"the task has {{{missing[0]}}} but no value for it (--vars {missing[0]}=...)")
    unused = [n for n in values if n not in names]
    if unused:
        raise ConfigError(f"--vars {unused[0]}: the task has no {{{unused[0]}}} to fill")


def values_for(template: str, task: str) -> dict[str, str] | None:
    """The values that make ``template`` read as ``task`` (None: it cannot); values keep their case."""
    names = variable_names(template)
    if not names:
        return {} if same_task(template, task) else None
    pattern: list[str] = []
    seen: set[str] = set()
    position = 0
    for match in _VARIABLE.finditer(template):
        pattern.append(_loose(template[position : match.start()]))
        name = match.group(1)
        if name is None:
            pattern.append(re.escape(match.group(0)[0]))
        elif name in seen:
            pattern.append(f"(?P={name})")  # the same variable twice: the same value twice
        else:
            seen.add(name)
            pattern.append(f"(?P<{name}>.+?)")
        position = match.end()
    pattern.append(_loose(template[position:]))
    found = re.fullmatch(r"\s*" + "".join(pattern) + r"\s*\.?\s*", task, re.IGNORECASE | re.DOTALL)
    if found is None:
        return None
    return {name: str(found.group(name)) for name in names}


def _loose(literal: str) -> str:
    """A literal stretch of a template as a pattern: any run of spaces matches any other."""
    parts = re.split(r"(\s+)", literal)
    return "".join(r"\s+" if part.isspace() else re.escape(part) for part in parts if part)


def current_state_word(template: str) -> str | None:
    """A word of the task (outside its variables) that points at the current screen; None when none."""
    fixed = _VARIABLE.sub(" ", template)
    for word in _WORD.findall(fixed.casefold()):
        if word in CURRENT_STATE_WORDS:
            return str(word)
    return None


@dataclass(frozen=True)
class Choice:
    """The run to replay and the values to replay it with."""

    entry: ReplayEntry
    values: dict[str, str]


@dataclass(frozen=True)
class NoReplay:
    """Why the model is asked although a run of the task succeeded before ("" : no such run)."""

    reason: str = ""


def choose(
    entries: Sequence[ReplayEntry], task: str, values: Mapping[str, str], layout: Layout
) -> Choice | NoReplay:
    """The run ``task`` replays under the rule above (``entries`` newest first), or why none.

    ``task`` is the task as given: with ``values`` (``--vars``) it is a template and
    must be an entry's template; without, it is plain text that an entry's template
    may match with other values.
    """
    matched: list[tuple[ReplayEntry, dict[str, str]]] = []
    for entry in entries:
        if values:
            if same_task(entry.task, task) and set(variable_names(entry.task)) == set(values):
                matched.append((entry, dict(values)))
            continue
        found = values_for(entry.task, task)
        if found is not None:
            matched.append((entry, found))
    if not matched:
        return NoReplay()
    here = [(e, v) for e, v in matched if e.layout == layout]
    if not here:
        return NoReplay(f"it succeeded before on another monitor layout ({matched[0][0].layout.describe()})")
    pinned = [(e, v) for e, v in here if e.pinned]
    entry, chosen = (pinned or here)[0]
    word = current_state_word(entry.task)
    if word is not None and not entry.pinned:
        return NoReplay(
            f"{word!r} points at what is on the screen now, so an old run may do the wrong thing "
            f"(deskpilot replays pin {entry.run_id} to replay it anyway)"
        )
    return Choice(entry, chosen)

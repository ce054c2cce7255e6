"""Finding the skills: every module in ``agent/skills/catalog/`` that defines ``SKILL``."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from agent.errors import ConfigError
from agent.skills import catalog
from agent.skills.unit import Skill


@cache
def skills() -> dict[str, Skill]:
    """Every shipped skill by name, sorted; a module without ``SKILL`` is skipped, a clash is a bug."""
    found: dict[str, Skill] = {}
    for info in pkgutil.iter_modules(catalog.__path__):
        module = importlib.import_module(f"{catalog.__name__}.{info.name}")
        skill = getattr(module, "SKILL", None)
        if not isinstance(skill, Skill):
            continue
        if skill.name in found:
            raise RuntimeError(f"two skills are named {skill.name!r}")
        found[skill.name] = skill
    return dict(sorted(found.items()))


def get_skill(name: str) -> Skill:
    known = skills()
    if name not in known:
        raise ConfigError(f"no skill {name!r}; the skills are: {', '.join(known)} (deskpilot skill --list)")
    return known[name]

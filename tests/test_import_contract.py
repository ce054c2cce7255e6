"""The import rules of the run-core design, checked over every import: top-level, lazy and TYPE_CHECKING.

Each rule is a pure function over (importing module, imported module) pairs, so the
same walk that checks the tree also proves, on a made-up violation, that it would fail.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

Edge = tuple[str, str]  # (module doing the import, module imported)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, is_package: bool = False) -> Iterator[str]:
    """Every module ``source`` imports anywhere in its body (functions and TYPE_CHECKING included)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield target
            for alias in node.names:  # "from agent import api" imports agent.api
                yield f"{target}.{alias.name}"


def edges(folder: str) -> list[Edge]:
    found: list[Edge] = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        module = module_name(path)
        for target in imports_of(path.read_text(encoding="utf-8"), module, path.name == "__init__.py"):
            found.append((module, target))
    return found


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(all_edges: list[Edge]) -> list[str]:
    """Every edge that breaks a rule, in words."""
    problems: list[str] = []
    for source, target in all_edges:
        if within(source, "agent"):
            if within(target, "ui") or within(target, "PySide6") or target.startswith("PyQt"):
                problems.append(f"rule 1: {source} imports {target} (agent/ never imports Qt or ui)")
            if within(target, "agent.testing") and not within(source, "agent.testing"):
                problems.append(f"rule 6: {source} imports {target} (agent.testing is for tests and scripts)")
        if within(source, "ui") and within(target, "agent"):
            allowed = target == "agent" or within(target, "agent.api") or (source == "ui.entry" and within(target, "agent.cli"))
            if not allowed:
                problems.append(f"rule 2: {source} imports {target} (ui/ imports only agent.api)")
        if within(source, "agent.run"):
            for banned in ("agent.computer_use", "agent.backends", "agent.config"):
                if within(target, banned):
                    problems.append(f"rule 3: {source} imports {target} (the run core knows no model or settings)")
        if within(source, "agent.computers") and within(target, "agent.run"):
            problems.append(f"rule 4: {source} imports {target} (computers never reach into the run core)")
        if source == "agent.imaging" and target.split(".")[0] not in ("PIL", "numpy", "__future__", "typing", "math", "dataclasses", "collections"):
            problems.append(f"rule 5: agent.imaging imports {target} (pure image maths: PIL and numpy only)")
    return problems


def test_the_tree_keeps_every_import_rule() -> None:
    assert violations(edges("agent") + edges("ui")) == []


def test_the_walk_finds_lazy_and_type_checking_imports() -> None:
    source = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from agent.config import Settings\n"
        "def later():\n    import agent.backends.local\n    from . import executor\n"
    )
    found = set(imports_of(source, "agent.run.harness"))
    assert {"agent.config", "agent.backends.local", "agent.run.executor"} <= found


@pytest.mark.parametrize(
    ("edge", "rule"),
    [
        (("agent.loop", "PySide6.QtCore"), "rule 1"),
        (("agent.api", "ui.overlay"), "rule 1"),
        (("ui.overlay", "agent.actions"), "rule 2"),
        (("ui.app", "agent.cli"), "rule 2"),
        (("agent.run.executor", "agent.config"), "rule 3"),
        (("agent.run.capture", "agent.computer_use.planner"), "rule 3"),
        (("agent.run.harness", "agent.backends.base"), "rule 3"),
        (("agent.computers.desktop", "agent.run.settle"), "rule 4"),
        (("agent.imaging", "agent.computers.screen"), "rule 5"),
        (("agent.api", "agent.testing.fake"), "rule 6"),
    ],
)
def test_each_rule_fails_on_a_violation(edge: Edge, rule: str) -> None:
    problems = violations([edge])
    assert len(problems) == 1 and problems[0].startswith(rule)


def test_allowed_edges_pass() -> None:
    assert violations([
        ("ui.overlay", "agent.api"),
        ("ui.entry", "agent.cli"),
        ("agent.api", "agent.run.executor"),
        ("agent.computer_use.loop", "agent.run.executor"),
        ("agent.imaging", "PIL.Image"),
        ("agent.testing.fake", "agent.computers.base"),
    ]) == []

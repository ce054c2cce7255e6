"""The import rules of the run-core design, checked over every import: top-level, lazy and TYPE_CHECKING.

Each rule is a pure function over (importing module, imported module) pairs, so the
same walk that checks the tree also proves, on a made-up violation, that it would fail.
Rules 1-9 and 11 look at one edge at a time; rule 10 (no import cycle) looks at all of them.
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


# The feature packages: the facade and the CLI sit above them, so they import neither.
FEATURES = (
    "agent.macros",
    "agent.access",
    "agent.skills",
    "agent.grounding",
    "agent.finetune",
    "agent.computer_use",
    "agent.run",
    "agent.replays",
)

# The desktop libraries: only the X11 platform folder may import them (agent/testing
# needs none: its fakes stand in for them), so a Wayland backend is a sibling folder.
X_LIBRARIES = ("Xlib", "pynput", "mss", "pyautogui")
# Each desktop library and the platform folders that alone may import it: pywayland
# for the Wayland backends that speak the protocols themselves, jeepney for D-Bus, gi
# for GStreamer's PipeWire frames (GNOME) and the accessibility tree.
DESKTOP_LIBRARIES: dict[str, tuple[str, ...]] = {
    **{library: ("agent.computers.x11",) for library in X_LIBRARIES},
    "pywayland": ("agent.computers.wlroots", "agent.computers.kde"),
    "jeepney": ("agent.computers.gnome", "agent.computers.kde"),
    "gi": ("agent.computers.gnome", "agent.computers.atspi"),
}


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
        if within(source, "agent.computers") and any(within(target, feature) for feature in FEATURES):
            # A backend sits below every feature (the run core is one): what a backend and a
            # feature share (agent.effects, agent.keys) lives at the top of agent/, not in a feature.
            problems.append(f"rule 4: {source} imports {target} (computers never reach into the run core or a feature)")
        if source == "agent.imaging" and target.split(".")[0] not in ("PIL", "numpy", "__future__", "typing", "math", "dataclasses", "collections"):
            problems.append(f"rule 5: agent.imaging imports {target} (pure image maths: PIL and numpy only)")
        if any(within(source, feature) for feature in FEATURES) and (within(target, "agent.api") or within(target, "agent.cli")):
            problems.append(f"rule 7: {source} imports {target} (a feature never imports the facade or the CLI)")
        if within(source, "agent.api") and within(target, "agent.cli"):
            problems.append(f"rule 8: {source} imports {target} (the facade never imports the CLI above it)")
        if within(source, "agent.backends") and within(target, "agent.config"):
            problems.append(f"rule 9: {source} imports {target} (a backend knows no settings file)")
        for library, folders in DESKTOP_LIBRARIES.items():
            if (
                within(source, "agent")
                and not any(within(source, folder) for folder in folders)
                and within(target, library)
            ):
                problems.append(f"rule 11: {source} imports {target} (only {', '.join(folders)} import {library})")
    return problems


def module_edges(all_edges: list[Edge], modules: set[str]) -> list[Edge]:
    """The edges between modules of ``modules``: an imported name that is no module counts as its module.

    ``from agent.api import Session`` walks as agent.api and agent.api.Session; both become
    agent.api. Imports of anything outside ``modules`` (the standard library, PIL) drop out.
    """
    found: list[Edge] = []
    for source, target in all_edges:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != source:
            found.append((source, target))
    return found


def cycles(all_edges: list[Edge]) -> list[list[str]]:
    """Every group of modules that import each other round a circle (Tarjan's strongly connected components)."""
    graph: dict[str, set[str]] = {}
    for source, target in all_edges:
        graph.setdefault(source, set()).add(target)
        graph.setdefault(target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:  # recursion depth is bounded by the module count (a few hundred)
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def agent_modules() -> set[str]:
    return {module_name(path) for path in (ROOT / "agent").rglob("*.py")}


def test_the_tree_keeps_every_import_rule() -> None:
    assert violations(edges("agent") + edges("ui")) == []


def test_no_import_cycle_among_agent_modules() -> None:
    """Rule 10, counting lazy and TYPE_CHECKING imports: Python tolerates those circles, the layers do not."""
    all_edges = module_edges(edges("agent"), agent_modules())
    assert cycles(all_edges) == []


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
        (("agent.computers.x11.desktop", "agent.run.settle"), "rule 4"),
        (("agent.computers.atspi.tree", "agent.access.effects"), "rule 4"),
        (("agent.computers.kde.desktop", "agent.macros.schema"), "rule 4"),
        (("agent.imaging", "agent.computers.x11.screen"), "rule 5"),
        (("agent.api", "agent.testing.fake"), "rule 6"),
        (("agent.macros.player", "agent.api"), "rule 7"),
        (("agent.access.clicking", "agent.cli.options"), "rule 7"),
        (("agent.run.harness", "agent.api"), "rule 7"),
        (("agent.grounding.grounder", "agent.cli"), "rule 7"),
        (("agent.api", "agent.cli.options"), "rule 8"),
        (("agent.backends.local", "agent.config"), "rule 9"),
        (("agent.run.hotkey", "pynput.keyboard"), "rule 11"),
        (("agent.computers.selection", "Xlib.display"), "rule 11"),
        (("agent.macros.recorder", "mss"), "rule 11"),
        (("agent.testing.fake", "pyautogui"), "rule 11"),
        (("agent.computers.selection", "pywayland.client"), "rule 11"),
        (("agent.computers.wlroots.screen", "mss"), "rule 11"),
        (("agent.computers.x11.screen", "pywayland"), "rule 11"),
        (("agent.computers.selection", "jeepney"), "rule 11"),
        (("agent.computers.atspi.bus", "jeepney.io.threading"), "rule 11"),
        (("agent.run.capture", "gi.repository"), "rule 11"),
        (("agent.computers.selection", "jeepney"), "rule 11"),
        (("agent.computers.wlroots.screen", "jeepney.io.blocking"), "rule 11"),
        (("agent.computers.kde.seat", "mss"), "rule 11"),
    ],
)
def test_each_rule_fails_on_a_violation(edge: Edge, rule: str) -> None:
    problems = violations([edge])
    assert len(problems) == 1 and problems[0].startswith(rule)


def test_allowed_edges_pass() -> None:
    assert violations([
        ("ui.overlay", "agent.api"),
        ("ui.entry", "agent.cli"),
        ("agent.cli.macros", "agent.api"),
        ("agent.cli.macros", "agent.macros.schema"),
        ("agent.config", "agent.backends.base"),
        ("agent.api", "agent.macros.schema"),
        ("agent.api", "agent.run.executor"),
        ("agent.computer_use.loop", "agent.run.executor"),
        ("agent.imaging", "PIL.Image"),
        ("agent.testing.fake", "agent.computers.base"),
        ("agent.computers.x11.listeners", "pynput.keyboard"),
        ("agent.computers.x11.marker", "Xlib.display"),
        ("agent.computers.gnome.mutter", "jeepney.io.threading"),
        ("agent.computers.gnome.stream", "gi.repository"),
        ("agent.computers.atspi.tree", "gi.repository"),
        ("agent.computers.x11.screen", "mss"),
        ("agent.computers.wlroots.connection", "pywayland.client"),
        ("agent.computers.platform", "agent.computers.base"),
        ("agent.computers.kde.seat", "pywayland.client.display"),
        ("agent.computers.kde.screenshot", "jeepney.io.blocking"),
    ]) == []


MODULES = {"agent", "agent.api", "agent.cli", "agent.cli.main", "agent.macros", "agent.macros.playback", "agent.run.executor"}


def test_an_imported_name_counts_as_its_module() -> None:
    walked = list(imports_of("from agent import api\nfrom agent.api import Session\n", "agent.cli.main"))
    assert set(module_edges([("agent.cli.main", t) for t in walked], MODULES)) == {
        ("agent.cli.main", "agent"),
        ("agent.cli.main", "agent.api"),
    }
    assert module_edges([("agent.api", "PIL.Image"), ("agent.api", "agent.api.Session")], MODULES) == []


@pytest.mark.parametrize(
    "circle",
    [
        [("agent.api", "agent.macros.playback"), ("agent.macros.playback", "agent.api")],
        [("agent.cli.main", "agent.api"), ("agent.api", "agent.run.executor"), ("agent.run.executor", "agent.cli.main")],
    ],
)
def test_rule_10_fails_on_a_circle(circle: list[Edge]) -> None:
    # A circle closed by a lazy import is still a circle: the walk sees function bodies too.
    found = cycles(circle + [("agent.cli.main", "agent.macros"), ("agent.macros", "agent")])
    assert found == [sorted({source for source, _ in circle})]


def test_rule_10_finds_a_circle_closed_by_a_lazy_import() -> None:
    lazy = "def later():\n    from agent.cli import main\n"
    walked = [("agent.api", t) for t in imports_of(lazy, "agent.api")]
    all_edges = module_edges([("agent.cli.main", "agent.api"), *walked], MODULES)
    assert cycles(all_edges) == [["agent.api", "agent.cli.main"]]


def test_rule_10_passes_a_tree_without_circles() -> None:
    assert cycles([("agent.cli.main", "agent.api"), ("agent.api", "agent.run.executor"), ("agent.cli.main", "agent.run.executor")]) == []

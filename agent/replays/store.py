"""The replay index: which successful runs may be replayed for which task, on which monitor layout.

One JSON file, ``replays.json`` in the history folder (mode 0600: it holds task text
and typed values), written atomically. An entry names a run in the history; a run
pruned since is skipped when replays are looked up and dropped at the next write.
Forgetting removes the entry (the run stays in the history); pinning makes a run the
one replayed for its task even if later runs of it succeeded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import ConfigError
from agent.records.files import write_private_atomic
from agent.validation import one_line

INDEX_FILE = "replays.json"
_SPACE = re.compile(r"\s+")


class Layout(BaseModel):
    """What "this monitor layout" means: every monitor's origin and size, the one acted on, its scale.

    Two layouts are the same when all of it is equal: a monitor added, moved or
    resized, another monitor chosen or another scale (captured pixels per input unit,
    the HiDPI factor) makes the recorded screens a different size or place, so a run
    recorded there is not replayed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    monitors: tuple[tuple[int, int, int, int], ...]  # every monitor: left, top, width, height
    monitor: int = Field(ge=0)  # the settings' monitor index (1 primary, 0 all)
    scale: float = Field(gt=0)  # captured pixels per input unit on that monitor

    def describe(self) -> str:
        sizes = " + ".join(f"{w}x{h}" for _, _, w, h in self.monitors)
        return f"{sizes}, monitor {self.monitor}, scale {self.scale:g}"


class ReplayEntry(BaseModel):
    """One replayable run: the task as a template, the values it ran with, where it ran."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    task: str  # the task as given: ``{name}`` marks a variable
    values: dict[str, str] = Field(default_factory=dict)  # the variables' values this run used
    layout: Layout
    started_at: str  # the run's start (ISO 8601, UTC)
    steps: int = 0  # actions the run performed
    pinned: bool = False


class ReplayIndex(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    entries: list[ReplayEntry] = Field(default_factory=list)


def normal(text: str) -> str:
    """Task text as compared: spacing collapsed, case folded, a full stop at the end dropped."""
    return _SPACE.sub(" ", text).strip().rstrip(".").strip().casefold()


def same_task(a: str, b: str) -> bool:
    return normal(a) == normal(b)


def index_path(root: Path) -> Path:
    return root / INDEX_FILE


def load_index(root: Path) -> ReplayIndex:
    """The index under history folder ``root``; an empty one when there is none yet."""
    path = index_path(root)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return ReplayIndex()
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from None
    try:
        return ReplayIndex.model_validate(json.loads(raw))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ConfigError(f"{path} is not a replay index: it is not valid JSON") from None
    except ValidationError as err:
        raise ConfigError(f"{path} is not a valid replay index: {one_line(err)}") from None


def save_index(root: Path, index: ReplayIndex) -> None:
    """Write the index atomically, mode 0600, keeping only entries whose run is still in the history."""
    index.entries = [e for e in index.entries if (root / e.run_id).is_dir()]
    path = index_path(root)
    data = (index.model_dump_json(indent=1) + "\n").encode("utf-8")
    try:
        write_private_atomic(path, data)
    except OSError as err:
        raise ConfigError(f"cannot write {path}: {err.strerror}") from None


def add_entry(root: Path, entry: ReplayEntry) -> None:
    """Keep ``entry`` (a run that just succeeded); a pin on another run of its task stays."""
    index = load_index(root)
    index.entries = [e for e in index.entries if e.run_id != entry.run_id] + [entry]
    save_index(root, index)


def live_entries(root: Path) -> list[ReplayEntry]:
    """The entries whose run is still in the history, newest first."""
    entries = [e for e in load_index(root).entries if (root / e.run_id).is_dir()]
    return sorted(entries, key=lambda e: (e.started_at, e.run_id), reverse=True)


def find_entry(entries: Sequence[ReplayEntry], name: str) -> ReplayEntry:
    """The entry ``name`` means: a run id or a unique start of one; ConfigError (one line) when none."""
    exact = [e for e in entries if e.run_id == name]
    matches = exact or [e for e in entries if name and e.run_id.startswith(name)]
    if not matches:
        raise ConfigError(f"no replay {name!r} (deskpilot replays list shows them)")
    if len(matches) > 1:
        raise ConfigError(f"{name!r} is the start of {len(matches)} replays; give more of the id")
    return matches[0]


def forget(root: Path, name: str) -> ReplayEntry:
    """Remove replay ``name`` from the index (the run stays in the history)."""
    entry = find_entry(live_entries(root), name)
    index = load_index(root)
    index.entries = [e for e in index.entries if e.run_id != entry.run_id]
    save_index(root, index)
    return entry


def pin(root: Path, name: str, pinned: bool = True) -> ReplayEntry:
    """Make replay ``name`` the one replayed for its task (and layout); other pins of that task go."""
    entry = find_entry(live_entries(root), name)
    index = load_index(root)
    for other in index.entries:
        if other.run_id == entry.run_id:
            other.pinned = pinned
        elif pinned and other.layout == entry.layout and same_task(other.task, entry.task):
            other.pinned = False  # one pinned run per task and layout: the newest pin wins
    save_index(root, index)
    return entry.model_copy(update={"pinned": pinned})

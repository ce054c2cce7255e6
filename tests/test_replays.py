"""Which run a task replays (agent/replays/matching.py) and the replay index (agent/replays/store.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.replays.matching import Choice, NoReplay, check_variables, choose, current_state_word, values_for
from agent.replays.store import Layout, ReplayEntry, add_entry, forget, index_path, live_entries, pin

HERE = Layout(monitors=((0, 0, 1920, 1080),), monitor=1, scale=1.0)


@pytest.mark.parametrize(
    ("template", "task", "expected"),
    [
        ("open the invoice", "Open  the invoice.", {}),
        ("open the invoice", "open the invoices", None),
        ("rename {file} to {new}", "rename a.txt to B.txt", {"file": "a.txt", "new": "B.txt"}),
        ("rename {file} to {new}", "RENAME my file.txt to b", {"file": "my file.txt", "new": "b"}),
        ("rename {file} to {new}", "rename a.txt", None),
        ("copy {x} and {x}", "copy 1 and 1", {"x": "1"}),
        ("copy {x} and {x}", "copy 1 and 2", None),
        ("type {{literal}} {v}", "type {literal} 5", {"v": "5"}),
    ],
)
def test_a_template_matches_a_task_with_the_values_it_names(
    template: str, task: str, expected: dict[str, str] | None
) -> None:
    assert values_for(template, task) == expected


@pytest.mark.parametrize(
    ("task", "word"),
    [
        ("close the newest window", "newest"),
        ("reply to the last email", "last"),
        ("Save THIS file", "this"),
        ("rename {file} to {new}", None),
        ("open the invoice and save it", None),
        ("open {latest}", None),  # a variable's name is the user's value, not a word of the task
    ],
)
def test_words_that_point_at_the_current_screen(task: str, word: str | None) -> None:
    assert current_state_word(task) == word


@pytest.mark.parametrize(
    ("task", "values", "fragment"),
    [
        ("rename {file} to {new}", {"file": "a"}, "the task has {new} but no value"),
        ("open the invoice", {"file": "a"}, "--vars file: the task has no {file}"),
    ],
)
def test_variables_and_the_task_must_agree(task: str, values: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace("{", r"\{").replace("}", r"\}")):
        check_variables(task, values)


def entry(run_id: str, task: str, *, layout: Layout = HERE, pinned: bool = False, **values: str) -> ReplayEntry:
    return ReplayEntry(run_id=run_id, task=task, values=values, layout=layout, started_at=run_id, pinned=pinned)


def test_the_newest_run_on_this_layout_wins_unless_another_is_pinned() -> None:
    elsewhere = Layout(monitors=((0, 0, 2560, 1440),), monitor=1, scale=1.0)
    entries = [entry("3", "open the invoice", layout=elsewhere), entry("2", "open the invoice"),
               entry("1", "open the invoice")]
    chosen = choose(entries, "open the invoice", {}, HERE)
    assert isinstance(chosen, Choice) and chosen.entry.run_id == "2"
    entries[2].pinned = True
    chosen = choose(entries, "open the invoice", {}, HERE)
    assert isinstance(chosen, Choice) and chosen.entry.run_id == "1"
    other = choose(entries[:1], "open the invoice", {}, HERE)
    assert isinstance(other, NoReplay) and "another monitor layout (2560x1440" in other.reason
    assert choose(entries, "open the receipt", {}, HERE) == NoReplay()


def test_a_scale_or_another_monitor_is_another_layout() -> None:
    hidpi = Layout(monitors=HERE.monitors, monitor=1, scale=2.0)
    two = Layout(monitors=((0, 0, 1920, 1080), (1920, 0, 1920, 1080)), monitor=1, scale=1.0)
    for layout in (hidpi, two):
        assert isinstance(choose([entry("1", "open the invoice")], "open the invoice", {}, layout), NoReplay)


def test_a_current_state_task_replays_only_when_pinned() -> None:
    refused = choose([entry("1", "close the newest window")], "close the newest window", {}, HERE)
    assert isinstance(refused, NoReplay) and "'newest'" in refused.reason and "replays pin 1" in refused.reason
    pinned = choose([entry("1", "close the newest window", pinned=True)], "close the newest window", {}, HERE)
    assert isinstance(pinned, Choice)


def test_vars_replay_a_template_and_plain_text_fills_it() -> None:
    entries = [entry("1", "rename {file} to {new}", file="a", new="b")]
    by_vars = choose(entries, "rename {file} to {new}", {"file": "c", "new": "d"}, HERE)
    assert isinstance(by_vars, Choice) and by_vars.values == {"file": "c", "new": "d"}
    by_text = choose(entries, "rename x.txt to y.txt", {}, HERE)
    assert isinstance(by_text, Choice) and by_text.values == {"file": "x.txt", "new": "y.txt"}
    assert isinstance(choose(entries, "rename {file} to {other}", {"file": "c", "other": "d"}, HERE), NoReplay)


def test_the_index_is_private_and_forget_and_pin_name_runs_by_a_unique_start(tmp_path: Path) -> None:
    for run_id in ("20261202-1", "20261202-2", "20261203-1"):
        (tmp_path / run_id).mkdir()
        add_entry(tmp_path, entry(run_id, "open the invoice"))
    assert oct(index_path(tmp_path).stat().st_mode & 0o777) == "0o600"
    assert [e.run_id for e in live_entries(tmp_path)] == ["20261203-1", "20261202-2", "20261202-1"]
    with pytest.raises(ConfigError, match="start of 2 replays"):
        pin(tmp_path, "20261202")
    pin(tmp_path, "20261202-1")
    pin(tmp_path, "20261202-2")  # one pin per task and layout: the newest pin wins
    assert [e.run_id for e in live_entries(tmp_path) if e.pinned] == ["20261202-2"]
    assert forget(tmp_path, "20261203").run_id == "20261203-1"
    (tmp_path / "20261202-1").rmdir()  # pruned from the history: no longer a replay
    assert [e.run_id for e in live_entries(tmp_path)] == ["20261202-2"]
    with pytest.raises(ConfigError, match="no replay 'nope'"):
        forget(tmp_path, "nope")


def test_a_corrupt_index_is_one_line(tmp_path: Path) -> None:
    index_path(tmp_path).write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a replay index: it is not valid JSON"):
        live_entries(tmp_path)

"""Key names: canonical set, aliases, chords written as one string, unknown keys."""

from __future__ import annotations

import pytest

from agent.keys import KEY_NAMES, UnknownKeyError, normalize_key, normalize_keys, split_chord


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("control", "ctrl"), ("Ctrl", "ctrl"), ("ctrl_l", "ctrl"), ("return", "enter"),
        ("Enter", "enter"), ("esc", "escape"), ("cmd", "super"), ("super", "super"),
        ("win", "super"), ("Meta", "super"), ("command", "super"), ("option", "alt"),
        ("PgUp", "pageup"), ("page_down", "pagedown"), ("del", "delete"), ("ArrowLeft", "left"),
        ("F5", "f5"), ("A", "a"), ("<", "<"), ("space", "space"), ("Print", "printscreen"),
    ],
)
def test_aliases_normalise(alias: str, canonical: str) -> None:
    assert normalize_key(alias) == canonical
    assert canonical in KEY_NAMES


@pytest.mark.parametrize("name", ["hyper", "ü", "ctrl alt", "", "f25", "launch_rockets"])
def test_unknown_keys_raise(name: str) -> None:
    with pytest.raises(UnknownKeyError):
        normalize_key(name)


@pytest.mark.parametrize(
    ("chord", "parts"),
    [("ctrl+c", ["ctrl", "c"]), ("ctrl++", ["ctrl", "+"]), ("+", ["+"]), ("ctrl + shift + t", ["ctrl", "shift", "t"])],
)
def test_split_chord(chord: str, parts: list[str]) -> None:
    assert split_chord(chord) == parts


def test_normalize_keys_flattens_chords() -> None:
    assert normalize_keys(["Control+Alt+Delete"]) == ("ctrl", "alt", "delete")

"""The GNOME kill chord's keybinding: the accelerator spelling and what it writes to and takes out of dconf."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.computers.gnome import keybinding
from agent.computers.gnome.keybinding import BINDING_PATH, RELOCATABLE, GnomeBinding, accelerator
from agent.computers.platform import InputWatch
from agent.errors import DisplayError


@pytest.mark.parametrize(
    ("keys", "spelled"),
    [
        (("ctrl", "alt", "k"), "<Control><Alt>k"),
        (("ctrl", "shift", "f12"), "<Control><Shift>F12"),
        (("super", "escape"), "<Super>Escape"),
        (("alt", "K"), "<Alt>k"),
    ],
)
def test_accelerator(keys: tuple[str, ...], spelled: str) -> None:
    assert accelerator(keys) == spelled


@pytest.mark.parametrize("keys", [("ctrl", "alt"), ("ctrl", "a", "b"), ("ctrl", "é")])
def test_an_unbindable_chord_is_refused(keys: tuple[str, ...]) -> None:
    with pytest.raises(DisplayError):
        accelerator(keys)


class FakeDconf:
    """gsettings over a dict: the list key as GVariant text, the relocatable keys by name."""

    def __init__(self, listed: str) -> None:
        self.values: dict[tuple[str, str], str] = {(keybinding.SCHEMA, keybinding.LIST_KEY): listed}
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, *args: str) -> str:
        self.calls.append(args)
        if args[0] == "get":
            return self.values[(args[1], args[2])]
        if args[0] == "set":
            self.values[(args[1], args[2])] = args[3]
        elif args[0] == "reset-recursively":
            self.values = {k: v for k, v in self.values.items() if k[0] != args[1]}
        return ""


def test_install_adds_its_path_after_its_keys_and_remove_takes_only_it_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mine = "/org/gnome/settings-daemon/plugins/media-keys/custom-keybindings/custom0/"
    dconf = FakeDconf(f"['{mine}']")
    monkeypatch.setattr(keybinding, "_gsettings", dconf)
    binding = GnomeBinding(("ctrl", "alt", "k"), ["/usr/bin/python3", "-S", "/x/control socket.py"])
    binding.install()
    assert dconf.values[(RELOCATABLE, "binding")] == "'<Control><Alt>k'"
    assert dconf.values[(RELOCATABLE, "command")] == "'/usr/bin/python3 -S \\'/x/control socket.py\\''"
    assert dconf.values[(keybinding.SCHEMA, keybinding.LIST_KEY)] == f"['{mine}', '{BINDING_PATH}']"
    # gsd grabs when the list names the path: the binding's keys are written before it.
    written = [c[2] for c in dconf.calls if c[0] == "set"]
    assert written.index(keybinding.LIST_KEY) == len(written) - 1
    binding.remove()
    assert dconf.values == {(keybinding.SCHEMA, keybinding.LIST_KEY): f"['{mine}']"}


def test_a_path_left_by_a_killed_run_is_reused_and_then_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    dconf = FakeDconf(f"['{BINDING_PATH}']")
    monkeypatch.setattr(keybinding, "_gsettings", dconf)
    binding = GnomeBinding(("ctrl", "alt", "k"), ["deskpilot", "stop"])
    binding.install()
    assert dconf.values[(keybinding.SCHEMA, keybinding.LIST_KEY)] == f"['{BINDING_PATH}']"
    binding.remove()
    assert dconf.values[(keybinding.SCHEMA, keybinding.LIST_KEY)] == "@as []"


def _watch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, why: str | None, optional: bool) -> InputWatch:
    from agent.computers.gnome.platform import GnomeInputWatching

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setattr(keybinding, "unavailable_reason", lambda: why)
    return GnomeInputWatching(chord_optional=optional).watch_chord(("ctrl", "alt", "k"), lambda: None, what="kill")


def test_without_gsd_media_keys_a_run_refuses_and_says_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    watch = _watch(monkeypatch, tmp_path, "gsd-media-keys (gnome-settings-daemon) is not running", False)
    with pytest.raises(DisplayError, match="gsd-media-keys .* is not running.*--no-kill-chord"):
        watch.start()
    assert not watch.is_alive()


def test_with_no_kill_chord_only_the_stop_socket_listens(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    dconf = FakeDconf("@as []")
    monkeypatch.setattr(keybinding, "_gsettings", dconf)
    watch = _watch(monkeypatch, tmp_path, "gnome-shell is not running", True)
    watch.start()
    try:
        assert watch.is_alive()
        assert dconf.calls == []  # nothing written to dconf
    finally:
        assert watch.stop()


def test_a_binding_that_cannot_be_written_stops_the_listener(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def broken(*args: str) -> str:
        raise DisplayError("gsettings set failed: no dconf")

    monkeypatch.setattr(keybinding, "_gsettings", broken)
    watch = _watch(monkeypatch, tmp_path, None, False)
    with pytest.raises(DisplayError, match="no dconf"):
        watch.start()
    assert not watch.is_alive()

"""The kill chord on GNOME: a custom keybinding running ``deskpilot stop``, set through gsettings for a run.

What fires GNOME's custom keybindings (GNOME 43, measured on a headless gnome-shell):
gsd-media-keys (gnome-settings-daemon) reads them from dconf
(``org.gnome.settings-daemon.plugins.media-keys custom-keybindings`` and one
relocatable ``custom-keybinding`` per path), asks gnome-shell to grab each
accelerator (``org.gnome.Shell.GrabAccelerators``, which the shell allows only to
gsd's own bus names), and spawns the command when the shell reports the key. So the
chord needs both on the session bus; plain mutter (no shell, no gsd) cannot fire it.
"""

from __future__ import annotations

import ast
import logging
import shlex
import shutil
import subprocess
from collections.abc import Sequence

from agent.errors import DisplayError

log = logging.getLogger(__name__)

SCHEMA = "org.gnome.settings-daemon.plugins.media-keys"
LIST_KEY = "custom-keybindings"
BINDING_PATH = "/org/gnome/settings-daemon/plugins/media-keys/custom-keybindings/deskpilot-stop/"
RELOCATABLE = f"{SCHEMA}.custom-keybinding:{BINDING_PATH}"
# Who must be on the session bus for a custom keybinding to fire.
MEDIA_KEYS_NAME = "org.gnome.SettingsDaemon.MediaKeys"
SHELL_NAME = "org.gnome.Shell"
_GSETTINGS_TIMEOUT_S = 5.0

_MODIFIERS = {"ctrl": "<Control>", "alt": "<Alt>", "shift": "<Shift>", "super": "<Super>"}
_NAMED = {
    "enter": "Return", "tab": "Tab", "space": "space", "backspace": "BackSpace", "delete": "Delete",
    "escape": "Escape", "insert": "Insert", "home": "Home", "end": "End", "pageup": "Page_Up",
    "pagedown": "Page_Down", "up": "Up", "down": "Down", "left": "Left", "right": "Right",
    "pause": "Pause", "printscreen": "Print", "menu": "Menu",
} | {f"f{n}": f"F{n}" for n in range(1, 25)}


def accelerator(keys: Sequence[str]) -> str:
    """A canonical chord ("ctrl", "alt", "k") in GTK's accelerator spelling ("<Control><Alt>k")."""
    mods = "".join(_MODIFIERS[k] for k in keys if k in _MODIFIERS)
    rest = [k for k in keys if k not in _MODIFIERS]
    if len(rest) != 1:
        raise DisplayError(f"the chord {'+'.join(keys)} needs exactly one key besides modifiers on GNOME")
    key = rest[0]
    if key in _NAMED:
        return mods + _NAMED[key]
    if len(key) == 1 and key.isascii() and key.isalnum():
        return mods + key.lower()
    raise DisplayError(f"the key {key!r} cannot be bound as a GNOME shortcut by Deskpilot")


def _quote(text: str) -> str:
    """A GVariant string literal (gsettings parses its values as GVariant text)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _gsettings(*args: str) -> str:
    try:
        done = subprocess.run(["gsettings", *args], capture_output=True, text=True,
                              timeout=_GSETTINGS_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise DisplayError(f"gsettings {args[0]} failed: {err}") from None
    if done.returncode != 0:
        raise DisplayError(f"gsettings {' '.join(args[:3])} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def bound_paths() -> list[str]:
    """The custom keybindings' paths now in dconf (the user's and, during a run, ours)."""
    text = _gsettings("get", SCHEMA, LIST_KEY).removeprefix("@as").strip()
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise DisplayError(f"cannot read GNOME's custom keybindings: {text!r}") from None
    return [str(p) for p in value]


def _write_list(paths: list[str]) -> None:
    value = "[" + ", ".join(_quote(p) for p in paths) + "]" if paths else "@as []"
    _gsettings("set", SCHEMA, LIST_KEY, value)


def unavailable_reason() -> str | None:
    """Why no custom keybinding would fire in this session (checked before installing), or None."""
    from agent.computers.gnome.mutter import name_has_owner

    if shutil.which("gsettings") is None:
        return "gsettings is missing (apt-get install libglib2.0-bin)"
    needed = ((MEDIA_KEYS_NAME, "gsd-media-keys (gnome-settings-daemon)"), (SHELL_NAME, "gnome-shell"))
    for name, what in needed:
        if not name_has_owner(name):
            return f"{what} is not running, and it is what runs GNOME's custom keybindings"
    return None


class GnomeBinding:
    """Our custom keybinding: written for a run, removed after it (also after a failed run).

    After ``kill -9`` it stays in dconf (it survives a logout too); pressing it then runs
    a ``deskpilot stop`` that finds nobody listening (exit 1), and the next run reuses
    the same path, so none pile up. ``remove`` takes it out by hand.
    """

    def __init__(self, keys: Sequence[str], argv: Sequence[str]) -> None:
        self.accelerator = accelerator(keys)
        self._command = shlex.join(argv)  # gsd parses it like a shell line (g_shell_parse_argv)
        self.installed = False

    def install(self) -> None:
        # The binding's own keys first, the list last: gsd grabs when the list names the path.
        _gsettings("set", RELOCATABLE, "name", _quote("Deskpilot: stop the run"))
        _gsettings("set", RELOCATABLE, "command", _quote(self._command))
        _gsettings("set", RELOCATABLE, "binding", _quote(self.accelerator))
        self.installed = True
        paths = bound_paths()
        if BINDING_PATH not in paths:
            _write_list([*paths, BINDING_PATH])

    def remove(self) -> None:
        if not self.installed:
            return
        # Read again: the user may have added a shortcut of their own during the run.
        paths = bound_paths()
        if BINDING_PATH in paths:
            _write_list([p for p in paths if p != BINDING_PATH])
        _gsettings("reset-recursively", RELOCATABLE)
        self.installed = False

"""The kill chord on KDE: a global shortcut registered with KWin's kglobalaccel for the run, removed after.

Wayland shows an application no global keys, but KDE's own shortcut service does: the
chord is registered under the component "deskpilot" and kglobalaccel signals
``globalShortcutPressed`` to this process over D-Bus, with no helper process in between.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from agent.errors import ConfigError, DisplayError
from agent.keys import UnknownKeyError, normalize_key

log = logging.getLogger(__name__)

SERVICE = "org.kde.kglobalaccel"
PATH = "/kglobalaccel"
INTERFACE = "org.kde.KGlobalAccel"
COMPONENT_INTERFACE = "org.kde.kglobalaccel.Component"
COMPONENT = "deskpilot"
SET_PRESENT, NO_AUTOLOADING = 2, 4
STOP_TIMEOUT_S = 2.0

# Qt::KeyboardModifier and Qt::Key values: kglobalaccel speaks QKeySequence ints.
_QT_MODIFIERS = {"shift": 0x02000000, "ctrl": 0x04000000, "alt": 0x08000000, "super": 0x10000000}
_QT_NAMED = {
    "escape": 0x01000000, "tab": 0x01000001, "backspace": 0x01000003, "enter": 0x01000004,
    "insert": 0x01000006, "delete": 0x01000007, "pause": 0x01000008, "printscreen": 0x01000009,
    "home": 0x01000010, "end": 0x01000011, "left": 0x01000012, "up": 0x01000013, "right": 0x01000014,
    "down": 0x01000015, "pageup": 0x01000016, "pagedown": 0x01000017, "capslock": 0x01000024,
    "numlock": 0x01000025, "scrolllock": 0x01000026, "menu": 0x01000055, "space": 0x20,
} | {f"f{n}": 0x01000030 + n - 1 for n in range(1, 25)}


def qt_key(keys: Sequence[str]) -> int:
    """One QKeySequence int for a canonical chord: modifiers ORed onto one key."""
    combined, main = 0, None
    for name in keys:
        try:
            key = normalize_key(name)
        except UnknownKeyError:
            raise ConfigError(f"unknown key {name!r} in a hotkey") from None
        if key in _QT_MODIFIERS:
            combined |= _QT_MODIFIERS[key]
        elif main is not None:
            raise ConfigError("a KDE global shortcut has one key besides its modifiers")
        elif key in _QT_NAMED:
            main = _QT_NAMED[key]
        elif len(key) == 1 and key.isascii():
            main = ord(key.upper())  # Qt::Key_A..Z, digits and punctuation are their ASCII codes
        else:
            raise ConfigError(f"the key {key!r} cannot be a KDE global shortcut")
    if main is None:
        raise ConfigError("a hotkey needs a key besides its modifiers")
    return combined | main


class KGlobalAccelChord:
    """One chord registered with kglobalaccel while started; ``on_chord`` runs on a listening thread."""

    def __init__(self, environ: Mapping[str, str], keys: Sequence[str], on_chord: Callable[[], None],
                 what: str) -> None:
        self._environ = dict(environ)
        self._key = qt_key(keys)
        self._chord = "+".join(keys)
        self._on_chord = on_chord
        self._what = what
        # One action per watch, so two runs (or a run and a test) never share one.
        self._action = [COMPONENT, f"{what.replace(' ', '-')}-{os.getpid()}-{id(self):x}", "Deskpilot", what]
        self._control: Any = None
        self._signals: Any = None
        self._thread: threading.Thread | None = None

    def _call(self, method: str, signature: str, *args: Any) -> Any:
        from jeepney import DBusAddress, new_method_call

        address = DBusAddress(PATH, bus_name=SERVICE, interface=INTERFACE)
        message = new_method_call(address, method, signature, args)
        return self._control.send_and_get_reply(message, timeout=5)

    def start(self) -> None:
        from jeepney import MatchRule, message_bus
        from jeepney.io.blocking import Proxy

        from agent.computers.kde.screenshot import open_session_bus

        if self.is_alive():
            return
        # Two connections: a blocking jeepney connection must not be read by two threads,
        # and the listener reads its own until stop() shuts it down.
        self._control = open_session_bus(self._environ)
        self._signals = open_session_bus(self._environ)
        try:
            self._call("doRegister", "as", self._action)
            flags = SET_PRESENT | NO_AUTOLOADING
            granted = self._call("setShortcut", "asaiu", self._action, [self._key], flags)
            if list(granted.body[0]) != [self._key]:
                raise DisplayError(f"the {self._what} {self._chord} is already a KDE shortcut of something "
                                   "else: pick another chord (kill_hotkey in the settings)")
            component = self._call("getComponent", "s", COMPONENT).body[0]
            rule = MatchRule(type="signal", interface=COMPONENT_INTERFACE, member="globalShortcutPressed",
                             path=component)
            Proxy(message_bus, self._signals).AddMatch(rule)
        except DisplayError:
            self._close()
            raise
        except Exception as err:
            self._close()
            raise DisplayError(f"cannot register the {self._what} with KDE's shortcuts: {err}") from None
        queue = self._signals.filter(rule, bufsize=64).queue
        self._thread = threading.Thread(target=self._listen, args=(queue,), name=f"kde {self._what}",
                                        daemon=True)
        self._thread.start()

    def _listen(self, queue: Any) -> None:
        while True:
            try:
                message = self._signals.recv_until_filtered(queue)
            except Exception:
                return  # the connection was shut down by stop(), or KWin went away
            if len(message.body) >= 2 and message.body[1] == self._action[1]:
                try:
                    self._on_chord()
                except Exception:
                    log.exception("the %s handler failed", self._what)

    def _close(self) -> None:
        """Remove the shortcut (it must not outlive the run) and close the control connection."""
        if self._control is None:
            return
        try:
            self._call("unRegister", "as", self._action)
        except Exception as err:
            log.warning("could not remove the KDE shortcut of the %s: %s", self._what, err)
        self._control.close()
        self._control = None

    def stop(self) -> bool:
        self._close()
        if self._signals is None:
            return True
        try:
            self._signals.sock.shutdown(socket.SHUT_RDWR)  # wakes the listening thread
        except OSError:
            pass
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_S)
        ended = self._thread is None or not self._thread.is_alive()
        if ended:
            self._signals.close()
            self._signals = None
        return ended

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

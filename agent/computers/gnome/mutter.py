"""One Mutter RemoteDesktop session, linked to a ScreenCast of the primary monitor, over D-Bus (jeepney).

Mutter's own API (``org.gnome.Mutter.RemoteDesktop`` and ``.ScreenCast``, what
gnome-remote-desktop uses) asks for no consent, so it is gated on what it really
offers: the ``Version`` property and the session's method list. One session serves
the whole run: its stream is where absolute pointer motion is addressed, its
clipboard is how Unicode is typed, and a fresh session would lose its first key again.
"""

from __future__ import annotations

import logging
import queue
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.computers.gnome.repaint import InputClock
from agent.errors import DisplayError, UnsupportedDesktopError

if TYPE_CHECKING:
    from jeepney.io.threading import DBusRouter
    from jeepney.low_level import Message

log = logging.getLogger(__name__)

RD_NAME = "org.gnome.Mutter.RemoteDesktop"
SC_NAME = "org.gnome.Mutter.ScreenCast"
RD_PATH = "/org/gnome/Mutter/RemoteDesktop"
SC_PATH = "/org/gnome/Mutter/ScreenCast"
RD_SESSION = RD_NAME + ".Session"
SC_SESSION = SC_NAME + ".Session"
SC_STREAM = SC_NAME + ".Stream"

# What this backend calls on a session; a Mutter without one of them is not driven.
REQUIRED_METHODS = frozenset(
    {
        "Start",
        "Stop",
        "NotifyPointerMotionAbsolute",
        "NotifyPointerButton",
        "NotifyPointerAxisDiscrete",
        "NotifyKeyboardKeycode",
        "NotifyKeyboardKeysym",
        "EnableClipboard",
        "SetSelection",
        "SelectionWrite",
        "SelectionWriteDone",
        "SelectionRead",
    }
)
# Version 1 is mutter 43-45's; later versions kept these methods (and added EIS).
MIN_VERSION = 1
# Keyboard + pointer (the touchscreen bit is not needed).
DEVICE_KEYBOARD, DEVICE_POINTER = 1, 2
CURSOR_EMBEDDED = 1  # the pointer drawn into the frames, as the model expects to see it
API_CHANGED = "Mutter's RemoteDesktop API is not the one Deskpilot drives ({why})"
_CALL_TIMEOUT_S = 5.0
_STREAM_TIMEOUT_S = 5.0


def _call(router: DBusRouter, path: str, interface: str, method: str, signature: str | None = None,
          body: tuple[Any, ...] = (), *, destination: str = RD_NAME, who: str = "Mutter") -> tuple[Any, ...]:
    from jeepney import DBusAddress, new_method_call
    from jeepney.wrappers import DBusErrorResponse, unwrap_msg

    address = DBusAddress(path, bus_name=destination, interface=interface)
    message = new_method_call(address, method, signature, body)
    reply = router.send_and_get_reply(message, timeout=_CALL_TIMEOUT_S)
    try:
        return tuple(unwrap_msg(reply))
    except DBusErrorResponse as err:
        raise DisplayError(f"{who} refused {method}: {err.name}: {' '.join(map(str, err.data))}") from None


def _property(router: DBusRouter, destination: str, path: str, interface: str, name: str) -> Any:
    (value,) = _call(router, path, "org.freedesktop.DBus.Properties", "Get", "ss", (interface, name),
                     destination=destination)
    return value[1]  # (signature, value)


def _methods(router: DBusRouter, destination: str, path: str, interface: str) -> set[str]:
    (xml,) = _call(router, path, "org.freedesktop.DBus.Introspectable", "Introspect", destination=destination)
    for node in ET.fromstring(xml).iter("interface"):
        if node.get("name") == interface:
            return {m.get("name", "") for m in node.iter("method")}
    return set()


def mutter_on_bus() -> bool:
    """Whether ``org.gnome.Mutter.RemoteDesktop`` has an owner on the session bus (False when unreachable)."""
    return name_has_owner(RD_NAME)


def ask_bus(method: str, signature: str = "", args: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
    """The reply of one call to the session bus itself; None when the bus is unreachable."""
    try:
        from jeepney import DBusAddress, new_method_call
        from jeepney.io.blocking import open_dbus_connection
    except ImportError:
        return None
    bus = DBusAddress(
        "/org/freedesktop/DBus", bus_name="org.freedesktop.DBus", interface="org.freedesktop.DBus"
    )
    try:
        with open_dbus_connection(bus="SESSION") as conn:
            reply = conn.send_and_get_reply(new_method_call(bus, method, signature, args), timeout=2.0)
    except Exception:  # noqa: BLE001 - no bus, a refused auth, a timeout: all mean "not here"
        return None
    return tuple(reply.body)


def name_has_owner(name: str) -> bool:
    """Whether ``name`` has an owner on the session bus (False when the bus is unreachable)."""
    body = ask_bus("NameHasOwner", "s", (name,))
    return bool(body and body[0])


def mutter_problem(router: DBusRouter) -> str | None:
    """Why Mutter's API cannot be driven here (absent, another version, methods missing), or None.

    The method list is a session's: one is created and introspected (about 5 ms). It is
    never started, so it adds no device to the seat; Mutter refuses to Stop it ("Session
    not started") and drops it when this connection closes.
    """
    try:
        version = int(_property(router, RD_NAME, RD_PATH, RD_NAME, "Version"))
    except DisplayError as err:
        return f"no {RD_NAME}: {err}"
    if version < MIN_VERSION:
        return f"RemoteDesktop version {version}, {MIN_VERSION} or later is driven"
    try:
        (rd_session,) = _call(router, RD_PATH, RD_NAME, "CreateSession")
        missing = REQUIRED_METHODS - _methods(router, RD_NAME, rd_session, RD_SESSION)
    except DisplayError as err:
        return str(err)
    if missing:
        return f"its session lacks {', '.join(sorted(missing))}"
    return None


def _add_match(router: DBusRouter, rule: Any) -> None:
    from jeepney.bus_messages import message_bus
    from jeepney.io.threading import Proxy

    Proxy(message_bus, router, timeout=_CALL_TIMEOUT_S).AddMatch(rule)


@dataclass(frozen=True)
class Transfer:
    """Someone asked for our clipboard content (``SelectionTransfer``)."""

    mime_type: str
    serial: int


class MutterSession(InputClock):
    """The run's RemoteDesktop + ScreenCast session: input calls, the stream node, clipboard signals.

    ``open`` gates the API, creates both sessions, starts them and waits for the
    PipeWire node. Calls may come from any thread (jeepney's router serialises them).
    """

    has_clipboard = True  # Unicode is typed through it
    fd: int | None = None  # the stream is reached on the default PipeWire socket

    def __init__(self, router: DBusRouter, rd_session: str, stream: str) -> None:
        super().__init__()
        self._router = router
        self.rd_session = rd_session
        self.stream = stream
        self.node = 0
        self.area = (0, 0, 0, 0)  # the monitor's left, top, width, height on the desktop
        # Called on the signal thread: who serves our clipboard content, who tracks its owner.
        self.on_transfer: Callable[[Transfer], None] | None = None
        self.on_owner_changed: Callable[[dict[str, Any]], None] | None = None
        self.closed = threading.Event()
        self._filters: list[Any] = []

    # -- setup -----------------------------------------------------------------
    @classmethod
    def open(cls) -> MutterSession:
        try:
            from jeepney.io.threading import DBusRouter, open_dbus_connection
        except ImportError as err:
            raise DisplayError(f"cannot load the D-Bus library: {err} (pip install jeepney)") from None
        try:
            router = DBusRouter(open_dbus_connection(bus="SESSION", enable_fds=True))
        except Exception as err:  # noqa: BLE001 - jeepney raises OSError, KeyError or its own errors
            raise DisplayError(f"cannot reach the session D-Bus: {err}") from None
        try:
            session = cls._create(router)
        except BaseException:
            router.close()
            raise
        return session

    @classmethod
    def _create(cls, router: DBusRouter) -> MutterSession:
        from jeepney import MatchRule

        problem = mutter_problem(router)  # checked again: DESKPILOT_GNOME_BACKEND=mutter skips the probe
        if problem is not None:
            raise UnsupportedDesktopError(API_CHANGED.format(why=problem))
        (rd_session,) = _call(router, RD_PATH, RD_NAME, "CreateSession")
        session_id = _property(router, RD_NAME, rd_session, RD_SESSION, "SessionId")
        (sc_session,) = _call(router, SC_PATH, SC_NAME, "CreateSession", "a{sv}",
                              ({"remote-desktop-session-id": ("s", session_id)},), destination=SC_NAME)
        (stream,) = _call(router, sc_session, SC_SESSION, "RecordMonitor", "sa{sv}",
                          ("", {"cursor-mode": ("u", CURSOR_EMBEDDED)}), destination=SC_NAME)
        self = cls(router, rd_session, stream)
        added = MatchRule(type="signal", interface=SC_STREAM, member="PipeWireStreamAdded", path=stream)
        _add_match(router, added)
        with router.filter(added) as nodes:
            _call(router, rd_session, RD_SESSION, "Start")  # starts the linked screen cast too
            try:
                signal: Message = nodes.get(timeout=_STREAM_TIMEOUT_S)
            except queue.Empty:
                self.close()
                raise DisplayError(
                    f"Mutter's screen cast gave no PipeWire stream in {_STREAM_TIMEOUT_S:g} s"
                ) from None
        self.node = int(signal.body[0])
        parameters = _property(router, SC_NAME, stream, SC_STREAM, "Parameters")
        left, top = parameters.get("position", ("(ii)", (0, 0)))[1]
        width, height = parameters["size"][1]
        self.area = (int(left), int(top), int(width), int(height))
        self._listen()
        return self

    def _listen(self) -> None:
        """Route the session's clipboard and Closed signals into queues, on a thread of ours."""
        from jeepney import MatchRule

        rules = {
            "SelectionTransfer": MatchRule(type="signal", interface=RD_SESSION, member="SelectionTransfer",
                                           path=self.rd_session),
            "SelectionOwnerChanged": MatchRule(type="signal", interface=RD_SESSION,
                                               member="SelectionOwnerChanged", path=self.rd_session),
            "Closed": MatchRule(type="signal", interface=RD_SESSION, member="Closed", path=self.rd_session),
        }
        merged: queue.Queue[Message] = queue.Queue()
        for rule in rules.values():
            _add_match(self._router, rule)
            self._filters.append(self._router.filter(rule, queue=merged, bufsize=1 << 16))

        def route() -> None:
            while not self.closed.is_set():
                try:
                    message = merged.get(timeout=0.5)  # bounded, so the thread sees close()
                except queue.Empty:
                    continue
                member = message.header.fields.get(3)  # HeaderFields.member
                try:
                    if member == "SelectionTransfer" and self.on_transfer is not None:
                        self.on_transfer(Transfer(str(message.body[0]), int(message.body[1])))
                    elif member == "SelectionOwnerChanged" and self.on_owner_changed is not None:
                        self.on_owner_changed({k: v[1] for k, v in message.body[0].items()})
                except Exception:  # an escaping error would end the thread and every later paste
                    log.exception("handling Mutter's %s failed", member)
                if member == "Closed":
                    self.closed.set()

        threading.Thread(target=route, name="mutter-signals", daemon=True).start()

    # -- input -----------------------------------------------------------------
    def _notify(self, method: str, signature: str, *args: Any) -> None:
        if self.closed.is_set():
            raise DisplayError("the GNOME remote desktop session was closed (by Mutter or the user)")
        _call(self._router, self.rd_session, RD_SESSION, method, signature, args)
        self._took()

    def motion(self, x: float, y: float) -> None:
        self._notify("NotifyPointerMotionAbsolute", "sdd", self.stream, float(x), float(y))
        self._moved(x, y)

    def button(self, evdev_button: int, pressed: bool) -> None:
        self._notify("NotifyPointerButton", "ib", evdev_button, pressed)
        self._pressed(evdev_button, pressed)

    def scroll_steps(self, axis: int, steps: int) -> None:
        """Wheel clicks: axis 0 vertical, 1 horizontal; positive steps go down or right."""
        self._notify("NotifyPointerAxisDiscrete", "ui", axis, steps)

    def keycode(self, evdev_code: int, pressed: bool) -> None:
        self._notify("NotifyKeyboardKeycode", "ub", evdev_code, pressed)

    def keysym(self, keysym: int, pressed: bool) -> None:
        self._notify("NotifyKeyboardKeysym", "ub", keysym, pressed)

    # -- clipboard -------------------------------------------------------------
    def enable_clipboard(self) -> None:
        self._notify("EnableClipboard", "a{sv}", {})

    def disable_clipboard(self) -> None:
        self._notify("DisableClipboard", "")

    def set_selection(self, mime_types: list[str]) -> None:
        self._notify("SetSelection", "a{sv}", {"mime-types": ("as", mime_types)})

    def write_selection(self, serial: int, data: bytes) -> None:
        """Serve one transfer: the fd Mutter hands over gets ``data``, then the transfer is closed."""
        import os

        (fd,) = _call(self._router, self.rd_session, RD_SESSION, "SelectionWrite", "u", (serial,))
        raw = fd.to_raw_fd()
        ok = True
        try:
            os.set_blocking(raw, True)
            view = memoryview(data)
            while view:
                view = view[os.write(raw, view):]
        except OSError:
            ok = False
        finally:
            os.close(raw)
        _call(self._router, self.rd_session, RD_SESSION, "SelectionWriteDone", "ub", (serial, ok))

    def read_selection(self, mime_type: str, timeout_s: float) -> bytes:
        """The current owner's content as ``mime_type`` (blocking read, bounded by ``timeout_s``)."""
        import os
        import select

        (fd,) = _call(self._router, self.rd_session, RD_SESSION, "SelectionRead", "s", (mime_type,))
        raw = fd.to_raw_fd()
        chunks: list[bytes] = []
        try:
            while True:
                ready, _, _ = select.select([raw], [], [], timeout_s)
                if not ready:
                    raise DisplayError(f"the clipboard owner sent no {mime_type} in {timeout_s:g} s")
                chunk = os.read(raw, 1 << 16)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
        finally:
            os.close(raw)

    # -- teardown --------------------------------------------------------------
    def close(self) -> None:
        if not self.closed.is_set():
            try:
                _call(self._router, self.rd_session, RD_SESSION, "Stop")
            except Exception as err:  # noqa: BLE001 - closing must not fail the run's end
                log.debug("stopping the remote desktop session: %s", err)
        self.closed.set()
        for handle in self._filters:
            handle.close()
        self._router.close()

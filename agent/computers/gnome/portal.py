"""The xdg-desktop-portal fallback: one RemoteDesktop + ScreenCast session, after the user's consent.

Where Mutter's own API is missing or changed (a sandbox, a newer or older GNOME),
the portal (``org.freedesktop.portal.Desktop``) offers the same input and the same
PipeWire stream, behind a consent dialog. It exposes what ``GnomeComputer`` uses of
``MutterSession`` (``motion``, ``button``, ``scroll_steps``, ``keycode``, ``keysym``,
``area``, ``node``, ``closed``) plus the PipeWire fd the stream is read through.

Limits of the portal that Debian 12 and Ubuntu 22.04-24.04 ship (RemoteDesktop v1):
- the dialog comes on **every** start: "Remote desktop sessions cannot persist" in
  xdg-desktop-portal 1.16, and a ScreenCast restore token is refused on a session
  that also does RemoteDesktop, which this one must (absolute motion is addressed on
  its own stream). So no token is stored: it would save no dialog;
- no clipboard (that came with v2), so text outside the keyboard layout cannot be
  typed here (``GnomeComputer`` refuses it whole, before typing any of it).

Each portal call answers with a Request object whose ``Response`` signal carries the
result: the match is added on the Request's path (known beforehand from our
``handle_token``) before the call, so the answer cannot be missed.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent.computers.gnome.mutter import _add_match, _call, _property
from agent.computers.gnome.repaint import InputClock
from agent.errors import ActionError, DisplayError

if TYPE_CHECKING:
    from jeepney.io.threading import DBusRouter
    from jeepney.low_level import Message

log = logging.getLogger(__name__)

PORTAL_NAME = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"
PORTAL_RD = "org.freedesktop.portal.RemoteDesktop"
PORTAL_SC = "org.freedesktop.portal.ScreenCast"
REQUEST = "org.freedesktop.portal.Request"
SESSION = "org.freedesktop.portal.Session"
WHO = "the desktop portal"

DEVICE_KEYBOARD, DEVICE_POINTER = 1, 2
SOURCE_MONITOR = 1
CURSOR_EMBEDDED = 2  # the portal's cursor modes: 1 hidden, 2 embedded, 4 metadata
# Response codes: 0 granted, 1 the user cancelled, 2 ended another way (closed, failed).
RESPONSE_CANCELLED = 1
# A person answers the dialog; past this the session is closed (the dialog with it).
CONSENT_TIMEOUT_S = 180.0
_CALL_TIMEOUT_S = 10.0

# Said before the dialog appears (the user must act) and by doctor.
NOTICE = (
    "GNOME via the desktop portal: a consent dialog will ask you to allow remote interaction; "
    "Deskpilot cannot type characters outside your keyboard layout here"
)
ASK = (
    "in the \"Remote desktop\" dialog, switch on \"Allow remote interaction\" and press Share "
    "(the portal asks again on every run)"
)
DECLINED = (
    "the remote desktop dialog was {how}: Deskpilot did nothing (run again and press Share to allow it)"
)
NO_UNICODE = (
    "GNOME's desktop portal has no clipboard, so Deskpilot cannot type {chars} (outside the keyboard "
    "layout) here; nothing of this text was typed"
)
VIEW_ONLY = (
    "the screen was shared without \"Allow remote interaction\": Deskpilot cannot click or type, "
    "so it did nothing (run again and switch it on in the dialog)"
)


def portal_problem(router: DBusRouter) -> str | None:
    """Why the portal cannot drive this desktop (its interfaces, devices or sources), or None."""
    try:
        (xml,) = _call(router, PORTAL_PATH, "org.freedesktop.DBus.Introspectable", "Introspect",
                       destination=PORTAL_NAME, who=WHO)
    except DisplayError as err:
        return f"no {PORTAL_NAME}: {err}"
    offered = {node.get("name") for node in ET.fromstring(xml).iter("interface")}
    missing = sorted({PORTAL_RD, PORTAL_SC} - offered)
    if missing:
        return f"the desktop portal lacks {', '.join(missing)} (install xdg-desktop-portal-gnome)"
    try:
        devices = int(_property(router, PORTAL_NAME, PORTAL_PATH, PORTAL_RD, "AvailableDeviceTypes"))
        sources = int(_property(router, PORTAL_NAME, PORTAL_PATH, PORTAL_SC, "AvailableSourceTypes"))
    except DisplayError as err:
        return str(err)
    if devices & (DEVICE_KEYBOARD | DEVICE_POINTER) != DEVICE_KEYBOARD | DEVICE_POINTER:
        return f"the desktop portal offers no keyboard and pointer (device types {devices})"
    if not sources & SOURCE_MONITOR:
        return f"the desktop portal cannot cast a monitor (source types {sources})"
    return None


def portal_on_bus() -> bool:
    """Whether the desktop portal runs or can be started on the session bus (False when unreachable)."""
    from agent.computers.gnome.mutter import ask_bus, name_has_owner

    if name_has_owner(PORTAL_NAME):
        return True
    body = ask_bus("ListActivatableNames")
    return body is not None and len(body) > 0 and PORTAL_NAME in body[0]


class PortalSession(InputClock):
    """The run's portal session: input calls on the stream it was granted, the PipeWire fd and node."""

    has_clipboard = False  # RemoteDesktop v1 has none

    def __init__(self, router: DBusRouter, handle: str) -> None:
        super().__init__()
        self._router = router
        self.handle = handle
        self.node = 0
        self.fd: int | None = None  # OpenPipeWireRemote's: the only way to reach the granted stream
        self.area = (0, 0, 0, 0)
        self.closed = threading.Event()
        self._sender = router.unique_name[1:].replace(".", "_")  # how the portal names our requests
        self._filters: list[Any] = []

    @classmethod
    def open(cls, router: DBusRouter) -> PortalSession:
        """Create, select and start a session: the dialog shows during this call. DisplayError if refused.

        The session owns ``router`` from here: ``close`` closes it, also when opening fails.
        """
        self = cls(router, "")
        try:
            created = self._request(PORTAL_RD, "CreateSession", "", (),
                                    {"session_handle_token": ("s", "deskpilot" + secrets.token_hex(4))})
            self.handle = str(created["session_handle"])
            self._select_and_start()
        except BaseException:
            self.close()
            raise
        return self

    def _request(self, interface: str, method: str, signature: str, args: tuple[Any, ...],
                 options: dict[str, Any], timeout_s: float = _CALL_TIMEOUT_S) -> dict[str, Any]:
        """Call ``method``, wait for its Request's Response; its results (variants unwrapped)."""
        from jeepney import MatchRule

        token = "deskpilot" + secrets.token_hex(4)
        path = f"/org/freedesktop/portal/desktop/request/{self._sender}/{token}"
        rule = MatchRule(type="signal", interface=REQUEST, member="Response", path=path)
        _add_match(self._router, rule)
        with self._router.filter(rule) as responses:
            _call(self._router, PORTAL_PATH, interface, method, signature + "a{sv}",
                  (*args, {**options, "handle_token": ("s", token)}), destination=PORTAL_NAME, who=WHO)
            try:
                message: Message = responses.get(timeout=timeout_s)
            except queue.Empty:
                raise DisplayError(f"{WHO} did not answer {method} in {timeout_s:g} s") from None
        code, results = message.body
        if code == RESPONSE_CANCELLED:
            raise DisplayError(DECLINED.format(how="cancelled"))
        if code != 0:
            raise DisplayError(DECLINED.format(how="closed" if method == "Start" else f"refused ({method})"))
        return {key: value[1] for key, value in results.items()}

    def _select_and_start(self) -> None:
        self._request(PORTAL_RD, "SelectDevices", "o", (self.handle,),
                      {"types": ("u", DEVICE_KEYBOARD | DEVICE_POINTER)})
        self._request(PORTAL_SC, "SelectSources", "o", (self.handle,),
                      {"types": ("u", SOURCE_MONITOR), "multiple": ("b", False),
                       "cursor_mode": ("u", CURSOR_EMBEDDED)})
        log.warning("%s", ASK)
        started = self._request(PORTAL_RD, "Start", "os", (self.handle, ""), {}, timeout_s=CONSENT_TIMEOUT_S)
        devices = int(started.get("devices", 0))
        if devices & (DEVICE_KEYBOARD | DEVICE_POINTER) != DEVICE_KEYBOARD | DEVICE_POINTER:
            raise DisplayError(VIEW_ONLY)
        streams = started.get("streams") or []
        if not streams:
            raise DisplayError(f"{WHO} granted no screen cast stream")
        node, properties = streams[0]
        left, top = properties.get("position", ("(ii)", (0, 0)))[1]
        width, height = properties["size"][1]
        self.node = int(node)
        self.area = (int(left), int(top), int(width), int(height))
        (fd,) = _call(self._router, PORTAL_PATH, PORTAL_SC, "OpenPipeWireRemote", "oa{sv}", (self.handle, {}),
                      destination=PORTAL_NAME, who=WHO)
        self.fd = fd.to_raw_fd()
        self._listen()

    def _listen(self) -> None:
        """Mark the session closed when the portal (or the user, from the shell's indicator) ends it."""
        from jeepney import MatchRule

        rule = MatchRule(type="signal", interface=SESSION, member="Closed", path=self.handle)
        _add_match(self._router, rule)
        closed: queue.Queue[Message] = queue.Queue()
        self._filters.append(self._router.filter(rule, queue=closed))

        def wait() -> None:
            while not self.closed.is_set():
                try:
                    closed.get(timeout=0.5)  # bounded, so the thread sees close()
                except queue.Empty:
                    continue
                self.closed.set()

        threading.Thread(target=wait, name="portal-session", daemon=True).start()

    # -- input (the same surface as MutterSession) ------------------------------
    def _notify(self, method: str, signature: str, *args: Any) -> None:
        if self.closed.is_set():
            raise DisplayError("the GNOME remote desktop session was closed (by the portal or the user)")
        _call(self._router, PORTAL_PATH, PORTAL_RD, method, "oa{sv}" + signature, (self.handle, {}, *args),
              destination=PORTAL_NAME, who=WHO)
        self._took()

    def motion(self, x: float, y: float) -> None:
        self._notify("NotifyPointerMotionAbsolute", "udd", self.node, float(x), float(y))
        self._moved(x, y)

    def button(self, evdev_button: int, pressed: bool) -> None:
        self._notify("NotifyPointerButton", "iu", evdev_button, int(pressed))
        self._pressed(evdev_button, pressed)

    def scroll_steps(self, axis: int, steps: int) -> None:
        """Wheel clicks: axis 0 vertical, 1 horizontal; positive steps go down or right."""
        self._notify("NotifyPointerAxisDiscrete", "ui", axis, steps)

    def keycode(self, evdev_code: int, pressed: bool) -> None:
        self._notify("NotifyKeyboardKeycode", "iu", evdev_code, int(pressed))

    def keysym(self, keysym: int, pressed: bool) -> None:
        self._notify("NotifyKeyboardKeysym", "iu", keysym, int(pressed))

    # -- teardown --------------------------------------------------------------
    def close(self) -> None:
        import os

        if not self.closed.is_set() and self.handle:
            try:
                _call(self._router, self.handle, SESSION, "Close", destination=PORTAL_NAME, who=WHO)
            except Exception as err:  # noqa: BLE001 - closing must not fail the run's end
                log.debug("closing the portal session: %s", err)
        self.closed.set()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        for handle in self._filters:
            handle.close()
        self._router.close()


def open_portal_session() -> PortalSession:
    """A started portal session on a connection of its own (the dialog shows meanwhile)."""
    try:
        from jeepney.io.threading import DBusRouter, open_dbus_connection
    except ImportError as err:
        raise DisplayError(f"cannot load the D-Bus library: {err} (pip install jeepney)") from None
    try:
        router = DBusRouter(open_dbus_connection(bus="SESSION", enable_fds=True))
    except Exception as err:  # noqa: BLE001 - jeepney raises OSError, KeyError or its own errors
        raise DisplayError(f"cannot reach the session D-Bus: {err}") from None
    return PortalSession.open(router)


def refuse_untypeable(text: str, typeable: Callable[[str], bool]) -> None:
    """ActionError naming the characters of ``text`` the keyboard layout cannot type (none: returns)."""
    chars = "".join(dict.fromkeys(ch for ch in text if ch not in "\n\t\r" and not typeable(ch)))
    if chars:
        shown = chars if len(chars) <= 12 else chars[:12] + "..."
        raise ActionError(NO_UNICODE.format(chars=repr(shown)))


class NoPaste:
    """The portal's clipboard: there is none, so text that needs one is refused whole, in one line."""

    def __init__(self) -> None:
        self.cancel = threading.Event()

    def paste(self, text: str, press_paste: Callable[[], None]) -> None:
        from agent.computers.gnome.keys import typeable

        refuse_untypeable(text, typeable)
        raise ActionError("GNOME's desktop portal has no clipboard: Deskpilot cannot paste here")

"""Screen capture through KWin's ``org.kde.KWin.ScreenShot2`` D-Bus interface: raw pixels through a pipe."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agent.errors import DisplayError
from agent.geometry import Region

if TYPE_CHECKING:
    from PIL.Image import Image

SERVICE = "org.kde.KWin"
PATH = "/org/kde/KWin/ScreenShot2"
INTERFACE = "org.kde.KWin.ScreenShot2"
TIMEOUT_S = 10.0
# QImage::Format values KWin sends, as PIL raw modes of their little-endian bytes.
_FORMATS = {4: ("RGB", "BGRX"), 5: ("RGB", "BGRX"), 6: ("RGB", "BGRX")}  # RGB32, ARGB32, ARGB32_Premultiplied
NOT_ALLOWED = (
    "KWin refused the screenshot: Deskpilot's desktop entry is missing or names another Python "
    "(run scripts/install.sh, which writes ~/.local/share/applications/deskpilot.desktop)"
)


def open_session_bus(environ: Mapping[str, str]) -> Any:
    """A jeepney connection to this session's bus (fd passing on)."""
    try:
        from jeepney.io.blocking import open_dbus_connection
    except ImportError as err:
        raise DisplayError(f"the KDE backend needs jeepney ({err}): pip install jeepney") from None
    address = environ.get("DBUS_SESSION_BUS_ADDRESS")
    if not address:
        raise DisplayError("DBUS_SESSION_BUS_ADDRESS is not set, so KWin cannot be reached")
    try:
        return open_dbus_connection(bus=address, enable_fds=True)
    except Exception as err:
        raise DisplayError(f"cannot connect to the session bus: {err}") from None


class KWinScreenShot:
    """One-shot captures of a screen (by connector name), an area, or the whole workspace."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._connection = open_session_bus(environ)
        self._lock = threading.Lock()

    def screen(self, name: str) -> Image:
        return self._capture("CaptureScreen", "sa{sv}h", (name,))

    def area(self, region: Region) -> Image:
        box = (region.left, region.top, region.width, region.height)
        return self._capture("CaptureArea", "iiuua{sv}h", box)

    def workspace(self) -> Image:
        return self._capture("CaptureWorkspace", "a{sv}h", ())

    def _capture(self, method: str, signature: str, args: tuple[Any, ...]) -> Image:
        from jeepney import DBusAddress, new_method_call
        from jeepney.wrappers import DBusErrorResponse
        from PIL import Image as PILImage

        address = DBusAddress(PATH, bus_name=SERVICE, interface=INTERFACE)
        # The pointer is left out: the model should see the screen, and the position is known.
        options = {"include-cursor": ("b", False), "native-resolution": ("b", True)}
        read_end, write_end = os.pipe()
        chunks: list[bytes] = []

        def drain() -> None:
            # KWin writes from its own thread, possibly before its reply: read at once,
            # or a full pipe would stall it.
            with os.fdopen(read_end, "rb") as pipe:
                while data := pipe.read(1 << 20):
                    chunks.append(data)

        reader = threading.Thread(target=drain, name="kwin-screenshot", daemon=True)
        reader.start()
        try:
            message = new_method_call(address, method, signature, (*args, options, write_end))
            with self._lock:
                reply = self._connection.send_and_get_reply(message, timeout=TIMEOUT_S)
            results = dict(reply.body[0]) if reply.body else {}
        except DBusErrorResponse as err:
            raise DisplayError(NOT_ALLOWED if "NoAuthorized" in err.name or "Denied" in err.name
                               else f"KWin's screenshot failed: {err.name}: {err.data}") from None
        except Exception as err:
            raise DisplayError(f"KWin's screenshot failed: {err}") from None
        finally:
            os.close(write_end)  # ours; KWin holds its own duplicate until it is done writing
        reader.join(TIMEOUT_S)
        if reader.is_alive():
            raise DisplayError(f"KWin sent no image within {TIMEOUT_S:g} s")
        values = {key: value for key, (_sig, value) in results.items()}
        width, height, stride = int(values["width"]), int(values["height"]), int(values["stride"])
        mode, raw = _FORMATS.get(int(values.get("format", 5)), ("", ""))
        if not mode or values.get("type", "raw") != "raw":
            raise DisplayError(f"KWin sent an image in a format Deskpilot does not read: {values}")
        data = b"".join(chunks)
        if len(data) < stride * height:
            raise DisplayError(f"KWin sent {len(data)} bytes for a {width}x{height} image")
        return PILImage.frombuffer(mode, (width, height), data, "raw", raw, stride, 1)

    def close(self) -> None:
        self._connection.close()

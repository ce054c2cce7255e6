"""What a read or describe looks at: a region, the window under the pointer, or a monitor."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from agent.errors import ConfigError, DisplayError
from agent.geometry import Region, parse_region

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TargetChoice:
    """The options as given: at most one of region and window; the monitor otherwise."""

    region: str | None = None
    window: bool = False
    monitor: int = 1


def window_region() -> Region:
    """The active window (``_NET_ACTIVE_WINDOW``), else the top-level window under the pointer."""
    try:
        from Xlib import X, display
    except ImportError as err:
        raise DisplayError(f"cannot look windows up: {err}") from None
    try:
        conn = display.Display()
    except Exception as err:
        raise DisplayError(f"cannot open the display: {err}") from None
    try:
        root = conn.screen().root
        window: Any = None
        active = root.get_full_property(conn.intern_atom("_NET_ACTIVE_WINDOW"), X.AnyPropertyType)
        if active is not None and active.value and active.value[0]:
            window = conn.create_resource_object("window", int(active.value[0]))
        else:
            pointer = root.query_pointer()
            window = pointer.child or None
        if window is None:
            raise DisplayError("no window is active or under the pointer")
        geometry = window.get_geometry()
        origin = window.translate_coords(root, 0, 0)
        # translate_coords gives the root's origin in the window's frame: negate it.
        return Region(-origin.x, -origin.y, geometry.width, geometry.height)
    except DisplayError:
        raise
    except Exception as err:  # the window can vanish between two requests
        raise DisplayError(f"cannot read the window's geometry: {err}") from None
    finally:
        conn.close()


def resolve(choice: TargetChoice) -> int | Region:
    """The capture target the options name; bad input raises ConfigError before anything is captured."""
    if choice.region and choice.window:
        raise ConfigError("give --region or --window, not both")
    if choice.region:
        try:
            return parse_region(choice.region)
        except ConfigError as err:
            raise ConfigError(f"--region: {err}") from None
    if choice.window:
        return window_region()
    if choice.monitor < 0:
        raise ConfigError(f"--monitor: {choice.monitor} is not a monitor index (1 is the primary, 0 all)")
    return choice.monitor

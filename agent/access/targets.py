"""What a read or describe looks at: a region, the window under the pointer, or a monitor."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.errors import ConfigError
from agent.geometry import Region, parse_region

if TYPE_CHECKING:
    from agent.computers.platform import Platform

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TargetChoice:
    """The options as given: at most one of region and window; the monitor otherwise."""

    region: str | None = None
    window: bool = False
    monitor: int = 1


def resolve(choice: TargetChoice, platform: Platform | None = None) -> int | Region:
    """The capture target the options name; bad input raises ConfigError before anything is captured.

    ``--window`` asks ``platform`` (default: this session's) for the active window.
    """
    if choice.region and choice.window:
        raise ConfigError("give --region or --window, not both")
    if choice.region:
        try:
            return parse_region(choice.region)
        except ConfigError as err:
            raise ConfigError(f"--region: {err}") from None
    if choice.window:
        from agent.computers.selection import select_platform

        return (platform if platform is not None else select_platform()).active_window_region()
    if choice.monitor < 0:
        raise ConfigError(f"--monitor: {choice.monitor} is not a monitor index (1 is the primary, 0 all)")
    return choice.monitor

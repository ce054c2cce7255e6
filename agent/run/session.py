"""A run's desktop session: the real computer, the kill hotkey and takeover detection, together."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.run.ports import PauseGate

if TYPE_CHECKING:
    from agent.computers.base import CaptureTarget
    from agent.computers.desktop import DesktopComputer
    from agent.run.hotkey import KillSwitch
    from agent.run.takeover import TakeoverDetector


@dataclass
class Desktop:
    """The real computer with its kill switch and takeover detector running."""

    computer: DesktopComputer
    kill: KillSwitch
    takeover: TakeoverDetector


@contextlib.contextmanager
def desktop_session(
    target: CaptureTarget, kill_hotkey: str, stop: threading.Event, pause: PauseGate
) -> Iterator[Desktop]:
    """Start the real computer, the kill hotkey and takeover detection; stop them all on exit.

    The kill hotkey sets ``stop``; real user input requests a pause through ``pause``.
    """
    from agent.computers.desktop import DesktopComputer
    from agent.run.hotkey import KillSwitch, parse_hotkey
    from agent.run.takeover import TakeoverDetector

    keys = parse_hotkey(kill_hotkey)
    computer = DesktopComputer(target, cancel=stop)
    kill = KillSwitch(kill_hotkey, stop.set)
    takeover = TakeoverDetector(lambda what: pause.request(f"user input detected ({what})"), ignore_keys=keys)
    kill.start()
    try:
        takeover.start()
        try:
            yield Desktop(computer, kill, takeover)
        finally:
            takeover.stop()
    finally:
        kill.stop()

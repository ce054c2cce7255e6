"""A run's desktop session: the real computer under the acting mark, the kill hotkey, takeover detection."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.run.ports import PauseGate

if TYPE_CHECKING:
    from agent.computers.base import CaptureTarget
    from agent.computers.marker import MarkedComputer
    from agent.computers.platform import DesktopInput, Platform
    from agent.run.hotkey import KillSwitch
    from agent.run.takeover import TakeoverDetector

_log = logging.getLogger(__name__)


@dataclass
class Desktop:
    """The real computer with its kill switch and takeover detector running.

    ``computer`` performs every action under the acting mark, so a macro recorder
    running meanwhile never takes Deskpilot's input for the user's, whichever source acts.
    """

    computer: MarkedComputer
    desktop: DesktopInput  # the same desktop unmarked: for reading it (the pointer), never for acting
    kill: KillSwitch
    takeover: TakeoverDetector

    def pointer_at(self) -> tuple[int, int]:
        """Where the pointer is now, in screen coordinates (the policy judges pointless clicks by it)."""
        return self.desktop.cursor_position()


@contextlib.contextmanager
def desktop_session(
    platform: Platform, target: CaptureTarget, kill_hotkey: str, stop: threading.Event, pause: PauseGate
) -> Iterator[Desktop]:
    """Start the platform's computer, the kill hotkey and takeover detection; stop them all on exit.

    The platform is chosen by the caller (``agent.wiring``), never here. The kill hotkey
    sets ``stop``; real user input requests a pause through ``pause``. The acting mark
    is set here, not by each source, so no source can forget it.
    """
    from agent.computers.marker import MarkedComputer
    from agent.computers.platform import MISSING_WORDS, Capability
    from agent.run.hotkey import KillSwitch, parse_hotkey
    from agent.run.takeover import TakeoverDetector

    keys = parse_hotkey(kill_hotkey)
    computer = platform.computer(target, cancel=stop)
    watching = platform.input_watching()
    kill = KillSwitch(kill_hotkey, stop.set, watching)
    # Where the user's input cannot be seen (Wayland), takeover detection has nothing to
    # watch: the run goes on without it (doctor says so) rather than refusing to start.
    sees_input = platform.capabilities.can(Capability.RECORD_INPUT)
    if not sees_input:
        _log.info("takeover detection is off: %s", MISSING_WORDS[Capability.RECORD_INPUT])
    takeover = TakeoverDetector(
        lambda what: pause.request(f"user input detected ({what})"),
        watching=watching if sees_input else None,
        ignore_keys=keys,
    )
    kill.start()
    try:
        takeover.start()
        try:
            mark = platform.acting_mark()
            try:
                yield Desktop(MarkedComputer(computer, mark), computer, kill, takeover)
            finally:
                mark.close()
        finally:
            takeover.stop()
    finally:
        kill.stop()

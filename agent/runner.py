"""Builds a run from settings: backend, computer, policy, kill switch, takeover, history.

Shared by ``deskpilot run`` and the tray app so both get the same safety wiring.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agent.backends.base import Backend
from agent.computer_use.loop import (
    ActingGuard,
    AgentLoop,
    LoopSettings,
    NoGuard,
    Observer,
    Operator,
    PauseGate,
)
from agent.computer_use.planner import Planner
from agent.computer_use.prompts import PromptSettings
from agent.computers.base import Computer
from agent.config import Settings
from agent.errors import ConfigError
from agent.geometry import parse_region
from agent.records.schema import RunInfo
from agent.run.policy import Policy, PolicyConfig, parse_confirm_mode
from agent.scaling import FrameKind

if TYPE_CHECKING:
    from agent.computers.desktop import DesktopComputer
    from agent.run.hotkey import KillSwitch
    from agent.run.takeover import TakeoverDetector

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


def make_backend(settings: Settings, progress: Progress | None = None) -> Backend:
    """The model backend the settings name; a model that fails to load raises BackendError."""
    if settings.backend == "script":
        from agent.backends.scripted import ScriptedBackend

        if not settings.script:
            raise ConfigError("--backend script needs --script FILE (a JSON Lines file of replies)")
        return ScriptedBackend.from_file(Path(settings.script))
    if settings.backend == "openai":
        from agent.backends.openai import OpenAIBackend

        return OpenAIBackend(settings.base_url, settings.model, api_key=settings.api_key or None)
    from agent.backends.local import LocalBackend, LocalSettings
    from agent.backends.precision import parse_precision

    return LocalBackend(
        LocalSettings(model=settings.model, precision=parse_precision(settings.precision)), progress=progress
    )


def history_root(settings: Settings) -> Path:
    if settings.history_dir:
        return Path(settings.history_dir).expanduser()
    from agent.records.history import default_history_dir

    return default_history_dir()


@dataclass
class Desktop:
    """The real computer with its kill switch and takeover detector running."""

    computer: DesktopComputer
    kill: KillSwitch
    takeover: TakeoverDetector


@contextlib.contextmanager
def desktop_session(settings: Settings, stop: threading.Event, pause: PauseGate) -> Iterator[Desktop]:
    """Start the real computer, the kill hotkey and takeover detection; stop them all on exit."""
    from agent.computers.desktop import DesktopComputer
    from agent.run.hotkey import KillSwitch, parse_hotkey
    from agent.run.takeover import TakeoverDetector

    keys = parse_hotkey(settings.kill_hotkey)
    computer = DesktopComputer(settings.monitor, cancel=stop)
    kill = KillSwitch(settings.kill_hotkey, stop.set)
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


def build_loop(
    settings: Settings,
    backend: Backend,
    computer: Computer,
    operator: Operator,
    stop: threading.Event,
    *,
    dry_run: bool = False,
    pause: PauseGate | None = None,
    guard: ActingGuard | None = None,
    observers: Sequence[Observer] = (),
    window_title_at: Callable[[int, int], str | None] | None = None,
    task: str = "",
) -> AgentLoop:
    from agent.records.history import RunRecorder, prune_runs

    policy = Policy(
        PolicyConfig(
            confirm=parse_confirm_mode(settings.confirm),
            denied_chords=tuple(settings.denied_chords),
            risky_regions=tuple(parse_region(r) for r in settings.risky_regions),
            risky_windows=tuple(settings.risky_windows),
        ),
        window_title_at=window_title_at,
        extra_denied=(settings.kill_hotkey,),
    )
    planner = Planner(
        backend,
        frame_kind=FrameKind(settings.frame),
        settings=PromptSettings(max_pixels=settings.max_pixels, screenshots=settings.screenshots_in_prompt),
    )
    info = RunInfo(
        id="",
        task=task,
        backend=settings.backend,
        model=settings.script if settings.backend == "script" else settings.model,
        settings={k: v for k, v in settings.model_dump().items() if k != "api_key"},
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    root = history_root(settings)
    # Keep one slot for the run about to start.
    prune_runs(root, max(0, settings.history_keep_runs - 1) if settings.history_keep_runs else 0)
    recorder = RunRecorder.start(root, info)
    return AgentLoop(
        computer=computer,
        planner=planner,
        policy=policy,
        operator=operator,
        stop=stop,
        settings=LoopSettings(
            max_steps=settings.max_steps, dry_run=dry_run, confirm_timeout_s=settings.confirm_timeout_s
        ),
        recorder=recorder,
        observers=observers,
        pause=pause or PauseGate(),
        guard=guard or NoGuard(),
    )

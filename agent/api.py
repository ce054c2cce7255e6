"""The public API of Deskpilot: what the tray app (and any other front end) may use.

``ui/`` imports nothing else from ``agent`` (an import-contract test checks), and the
CLI starts its runs through the same ``Session.run_task``, so a run is wired once: the
settings checked, the display and monitor checked and the history folder made
*before* a model is loaded, then the backend (cached per session), the desktop
session (kill hotkey, takeover detection), the policy, the recorder and the loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.actions import ScreenAction
from agent.computer_use.events import ModelText, Planned
from agent.computer_use.loop import AgentLoop, LoopSettings
from agent.computer_use.planner import Planner
from agent.computer_use.prompts import PromptSettings
from agent.computers.base import Computer, Frame
from agent.config import (
    BACKENDS,
    CONFIRM_MODES,
    DEFAULT_MODEL,
    FRAMES,
    PRECISIONS,
    FieldProblem,
    Settings,
    check_settings,
    default_config_path,
    load_settings,
    require_valid,
    save_settings,
)
from agent.errors import ConfigError, DeskpilotError, DisplayError, StoppedError
from agent.geometry import Region, parse_region
from agent.macros.commands import describe_macro_step
from agent.macros.editing import delete_step, move_step
from agent.macros.player import PlaySettings
from agent.macros.schema import Macro, load_macro, save_macro
from agent.records.history import (
    default_history_dir,
    ensure_history_root,
    list_runs,
    load_run,
    prune_runs,
)
from agent.records.schema import RunInfo, StepRecord
from agent.run.events import (
    ActionDecided,
    ActionDone,
    Captured,
    Observer,
    Paused,
    Resumed,
    RunEvent,
    RunFinished,
    RunResult,
    RunStarted,
    StepFinished,
    StepStarted,
)
from agent.run.policy import Policy, PolicyConfig, Verdict, parse_confirm_mode
from agent.run.ports import ConfirmQuestion, ConfirmResult, Operator, PauseGate
from agent.run.settle import wait_until_settled
from agent.scaling import FrameKind
from agent.wording import clip, describe_action, describe_record, describe_step, local_time

if TYPE_CHECKING:
    from agent.backends.base import Backend

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
ComputerWrapper = Callable[[Computer], Computer]

__all__ = [
    "BACKENDS",
    "CONFIRM_MODES",
    "DEFAULT_MODEL",
    "FRAMES",
    "PRECISIONS",
    "ActionDecided",
    "ActionDone",
    "Captured",
    "Computer",
    "ConfigError",
    "ConfirmQuestion",
    "ConfirmResult",
    "DeskpilotError",
    "DisplayError",
    "FieldProblem",
    "Frame",
    "ModelText",
    "Observer",
    "Operator",
    "PauseGate",
    "Paused",
    "Planned",
    "Macro",
    "PlaySettings",
    "Region",
    "Resumed",
    "RunEvent",
    "RunFinished",
    "RunInfo",
    "RunResult",
    "RunStarted",
    "ScreenAction",
    "Session",
    "Settings",
    "StepFinished",
    "StepRecord",
    "StepStarted",
    "StoppedError",
    "Verdict",
    "check_settings",
    "clip",
    "default_history_dir",
    "default_config_path",
    "delete_step",
    "describe_macro_step",
    "describe_action",
    "describe_record",
    "describe_step",
    "history_root",
    "list_runs",
    "load_macro",
    "load_run",
    "load_settings",
    "local_time",
    "move_step",
    "parse_region",
    "save_macro",
    "save_settings",
    "wait_until_settled",
]


def history_root(settings: Settings) -> Path:
    """The folder runs are recorded in: the setting, else the user data folder."""
    if settings.history_dir:
        return Path(settings.history_dir).expanduser()
    return default_history_dir()


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


def check_display(monitor: int) -> Region:
    """The region of ``monitor`` on this display; DisplayError (one line) when either is missing."""
    from agent.computers.screen import MssScreen

    return MssScreen(monitor).capture_region()


def make_policy(settings: Settings, window_title_at: Callable[[int, int], str | None] | None) -> Policy:
    return Policy(
        PolicyConfig(
            confirm=parse_confirm_mode(settings.confirm),
            denied_chords=tuple(settings.denied_chords),
            risky_regions=tuple(parse_region(r) for r in settings.risky_regions),
            risky_windows=tuple(settings.risky_windows),
        ),
        window_title_at=window_title_at,
        extra_denied=(settings.kill_hotkey,),
    )


def _model_facts(backend: Backend) -> dict[str, Any]:
    """What the backend says about the model it runs (the precision ``auto`` chose, say)."""
    report = getattr(backend, "report", None)
    if report is None:
        return {}
    facts: dict[str, Any] = {}
    for key in ("precision", "device", "attention"):
        value = getattr(report, key, None)
        if value is not None:
            facts[key] = str(value)
    return facts


class Session:
    """One front end's session: it keeps the loaded model between runs and starts runs."""

    def __init__(self, progress: Progress | None = None) -> None:
        self._progress = progress
        self._backends: dict[tuple[str, ...], Backend] = {}

    def backend(self, settings: Settings) -> Backend:
        """The backend for ``settings``, loaded once per session (one loaded model at a time)."""
        if settings.backend == "script":  # replies are consumed: a fresh one every run
            return make_backend(settings, self._progress)
        key = (settings.backend, settings.model, settings.precision, settings.base_url, settings.api_key)
        if key not in self._backends:
            self._backends.clear()  # models are large: drop the old one first
            self._backends[key] = make_backend(settings, self._progress)
        return self._backends[key]

    def run_task(
        self,
        settings: Settings,
        task: str,
        operator: Operator,
        *,
        stop: threading.Event,
        pause: PauseGate | None = None,
        dry_run: bool = False,
        observers: Sequence[Observer] = (),
        wrap_computer: ComputerWrapper | None = None,
    ) -> RunResult:
        """Carry out ``task`` on this desktop with the model the settings name.

        Everything that can be checked without a model is checked first, so bad input
        fails in a second with one line: the settings, the task, the display and the
        monitor, the history folder. Then the backend loads (or comes from the cache),
        and the run starts under the kill hotkey and takeover detection.
        """
        from agent.computers.windows import X11Windows
        from agent.records.history import RunRecorder
        from agent.run.session import desktop_session

        require_valid(settings)
        if not task.strip():
            raise ConfigError("the task is empty")
        check_display(settings.monitor)
        root = history_root(settings)
        ensure_history_root(root)
        backend = self.backend(settings)
        pause = pause or PauseGate()
        with desktop_session(settings.monitor, settings.kill_hotkey, stop, pause) as desk:
            computer: Computer = wrap_computer(desk.computer) if wrap_computer else desk.computer
            planner = Planner(
                backend,
                frame_kind=FrameKind(settings.frame),
                settings=PromptSettings(
                    max_pixels=settings.max_pixels, screenshots=settings.screenshots_in_prompt
                ),
            )
            # Keep one slot for the run about to start.
            prune_runs(root, max(0, settings.history_keep_runs - 1) if settings.history_keep_runs else 0)
            recorder = RunRecorder.start(
                root,
                RunInfo(
                    id="",
                    task=task,
                    backend=settings.backend,
                    model=settings.script if settings.backend == "script" else settings.model,
                    settings={k: v for k, v in settings.model_dump().items() if k != "api_key"},
                    started_at=datetime.now(UTC).isoformat(timespec="seconds"),
                    dry_run=dry_run,
                    model_facts=_model_facts(backend),
                ),
            )
            loop = AgentLoop.on(
                computer,
                planner,
                make_policy(settings, X11Windows().title_at),
                operator,
                stop,
                settings=LoopSettings(
                    max_steps=settings.max_steps,
                    dry_run=dry_run,
                    confirm_timeout_s=settings.confirm_timeout_s,
                ),
                recorder=recorder,
                observers=observers,
                guard=desk.takeover,
                pause=pause,
            )
            return loop.run(task)

    def play_macro(
        self,
        settings: Settings,
        path: Path,
        operator: Operator,
        *,
        stop: threading.Event,
        play: PlaySettings,
        rows: Sequence[dict[str, str]] = ({},),
        pause: PauseGate | None = None,
        report: Path | None = None,
        update_anchors: bool = False,
        observers: Sequence[Observer] = (),
        wrap_computer: ComputerWrapper | None = None,
    ) -> RunResult:
        """Replay the macro in ``path`` on this desktop: no model, the same guarded core as a task."""
        from agent.macros.playback import play_macro

        return play_macro(
            settings,
            path,
            operator,
            stop=stop,
            play=play,
            rows=rows,
            pause=pause,
            report=report,
            update_anchors=update_anchors,
            observers=observers,
            say=self._progress,
            wrap_computer=wrap_computer,
        )

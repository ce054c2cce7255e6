"""Building a guarded run once: every source that acts (task, macro replay, click by name) gets it here."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.computers.base import Computer
from agent.config import Settings, require_valid
from agent.errors import ConfigError
from agent.geometry import Region, parse_region
from agent.records.history import default_history_dir, ensure_history_root
from agent.records.schema import RunInfo
from agent.run.policy import Policy, PolicyConfig, parse_confirm_mode
from agent.run.ports import Operator, PauseGate

if TYPE_CHECKING:
    from agent.backends.base import Backend
    from agent.computers.platform import Platform
    from agent.ports import AccessibleTree, Speech
    from agent.records.history import RunRecorder
    from agent.run.capture import Capture
    from agent.run.events import Observer
    from agent.run.executor import GuardedExecutor
    from agent.run.harness import RunHarness

Progress = Callable[[str], None]
ComputerWrapper = Callable[[Computer], Computer]


def history_root(settings: Settings) -> Path:
    """The folder runs are recorded in: the setting, else the user data folder."""
    if settings.history_dir:
        return Path(settings.history_dir).expanduser()
    return default_history_dir()


def make_backend(
    settings: Settings, progress: Progress | None = None, cancel: threading.Event | None = None
) -> Backend:
    """The model backend the settings name; a model that fails to load raises BackendError.

    ``cancel`` (the run's stop token) ends a model download at its next chunk.
    """
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
        LocalSettings(model=settings.model, precision=parse_precision(settings.precision)),
        progress=progress,
        cancel=cancel,
    )


def current_platform(platform: Platform | None = None) -> Platform:
    """``platform`` when the caller has one (tests pass a fake), else this session's (the selection point)."""
    if platform is not None:
        return platform
    from agent.computers.selection import select_platform

    return select_platform()


def check_display(monitor: int, platform: Platform | None = None) -> Region:
    """The region of ``monitor`` on this display; DisplayError (one line) when either is missing.

    UnsupportedDesktopError (a DisplayError) when this session has no backend (Wayland).
    """
    return current_platform(platform).screen(monitor).capture_region()


def make_policy(
    settings: Settings,
    window_title_at: Callable[[int, int], str | None] | None,
    pointer_at: Callable[[], tuple[int, int]] | None,
    *,
    pointer_remembered: bool = False,
) -> Policy:
    """The policy the settings describe; ``pointer_at`` lets it judge clicks that come without a point.

    ``pointer_remembered``: the desktop cannot read the pointer, so ``pointer_at`` is where
    Deskpilot last put it (the policy's words say so).
    """
    return Policy(
        PolicyConfig(
            confirm=parse_confirm_mode(settings.confirm),
            denied_chords=tuple(settings.denied_chords),
            risky_regions=tuple(parse_region(r) for r in settings.risky_regions),
            risky_windows=tuple(settings.risky_windows),
        ),
        window_title_at=window_title_at,
        extra_denied=(settings.kill_hotkey,),
        pointer_at=pointer_at,
        pointer_remembered=pointer_remembered,
    )


def model_facts(backend: Backend) -> dict[str, str]:
    """What the backend says about the model it runs: where from, the precision ``auto`` chose and why."""
    info = getattr(backend, "info", None)
    facts = info.to_json_dict() if info is not None and hasattr(info, "to_json_dict") else {}
    return {str(key): str(value) for key, value in facts.items()}


def recorded_settings(settings: Settings) -> dict[str, Any]:
    """The settings as a run's history keeps them: all of them but the API key."""
    return {k: v for k, v in settings.model_dump().items() if k != "api_key"}


@dataclass(frozen=True)
class CheckedRun:
    """Settings whose run may start: valid, their monitor on this display, the history folder made."""

    settings: Settings
    monitor: Region  # the settings' monitor, as the display has it now
    history: Path
    platform: Platform  # the desktop the run acts on, selected once for the whole run


def check_run(settings: Settings, platform: Platform | None = None) -> CheckedRun:
    """Everything a guarded run checks before a model loads or the desktop is touched.

    ConfigError or DisplayError, one line each: the settings, the display and monitor,
    the history folder. A source checks its own input (the task, the macro, the name)
    between ``require_valid`` and this, so the first problem the user sees is the same.
    The platform is selected here, once per run (``platform`` overrides it: tests pass
    a ``FakePlatform``), and everything the run builds uses it.
    """
    require_valid(settings)
    chosen = current_platform(platform)
    region = check_display(settings.monitor, chosen)
    root = history_root(settings)
    ensure_history_root(root)
    return CheckedRun(settings, region, root, chosen)


@dataclass(frozen=True)
class RunSpec:
    """What a run's history header says about it."""

    task: str
    backend: str
    model: str
    settings: dict[str, Any]
    dry_run: bool = False
    model_facts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GuardedRun:
    """The run core built around the real desktop: a source runs inside ``guarded_run``'s block."""

    computer: Computer  # acting mark applied, then the caller's wrapper
    capture: Capture
    harness: RunHarness
    executor: GuardedExecutor
    recorder: RunRecorder  # the history of this run (its folder holds a replay's evidence)


@contextlib.contextmanager
def guarded_run(
    checked: CheckedRun,
    spec: RunSpec,
    operator: Operator,
    *,
    stop: threading.Event,
    pause: PauseGate | None = None,
    observers: Sequence[Observer] = (),
    wrap_computer: ComputerWrapper | None = None,
    narration: Speech | None = None,
    tree: AccessibleTree | None = None,
) -> Iterator[GuardedRun]:
    """The one way a source gets a desktop to act on: everything that keeps the user safe, built once.

    In order: the desktop session (kill hotkey, takeover detection, the acting mark),
    the caller's computer wrapper (the tray hides its overlay around grabs), old runs
    pruned to make room, the run's recorder, the harness, the guarded executor with a
    policy that knows the window titles and the pointer, and the capture service. With
    ``narration``, each action is spoken before it happens and the words are kept in
    the step's record. With the desktop's accessibility ``tree``, narration names each
    target ("Clicking the Save button") and settling waits for the tree's events to
    go quiet. Everything started is stopped when the block ends.
    """
    from agent.computers.platform import Capability
    from agent.records.history import RunRecorder, prune_runs
    from agent.run.capture import Capture
    from agent.run.executor import GuardedExecutor
    from agent.run.harness import RunHarness
    from agent.run.ports import Recorder
    from agent.run.session import desktop_session

    settings = checked.settings
    pause = pause or PauseGate()
    platform = checked.platform
    with desktop_session(platform, settings.monitor, settings.kill_hotkey, stop, pause) as desk:
        computer: Computer = wrap_computer(desk.computer) if wrap_computer else desk.computer
        keep = settings.history_keep_runs
        prune_runs(checked.history, max(0, keep - 1) if keep else 0)  # one slot for the run about to start
        recorder = RunRecorder.start(
            checked.history,
            RunInfo(
                id="",
                task=spec.task,
                backend=spec.backend,
                model=spec.model,
                settings=spec.settings,
                started_at=datetime.now(UTC).isoformat(timespec="seconds"),
                dry_run=spec.dry_run,
                model_facts=spec.model_facts,
            ),
        )
        step_recorder: Recorder = recorder
        if narration is not None:
            from agent.access.narration import Narrator

            narrator = Narrator(narration, tree)
            observers = [*observers, narrator]
            step_recorder = narrator.recording(recorder)
        harness = RunHarness(computer, recorder=step_recorder, observers=observers)
        executor = GuardedExecutor(
            computer,
            make_policy(
                settings,
                platform.windows().title_at,
                desk.pointer_at,
                pointer_remembered=not platform.capabilities.can(Capability.READ_POINTER),
            ),
            operator,
            stop,
            harness.emit,
            pause=pause,
            guard=desk.takeover,
            dry_run=spec.dry_run,
            confirm_timeout_s=settings.confirm_timeout_s,
            before_perform=harness.flush,
        )
        yield GuardedRun(computer, Capture(computer, stop, tree=tree), harness, executor, recorder)

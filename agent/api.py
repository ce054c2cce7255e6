"""The public API of Deskpilot: what the tray app (and any other front end) may use.

``ui/`` imports nothing else from ``agent`` (an import-contract test checks), and the
CLI starts its runs through the same ``Session.run_task``. Every source that acts (a
task, a macro replay, click by name) gets its guarded run from ``agent.wiring``: the
settings, the display and monitor checked and the history folder made *before* a
model is loaded, then the desktop session (kill hotkey, takeover detection, the acting
mark), the recorder, the policy and the executor, built in one place.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from agent.actions import ScreenAction
from agent.computer_use.events import ModelText, Planned
from agent.computer_use.loop import AgentLoop, LoopSettings
from agent.computer_use.marks import Marker
from agent.computer_use.planner import Planner
from agent.computer_use.prompts import PromptSettings
from agent.computer_use.snapping import Snapper
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
from agent.grounding.locate import GroundingAsker, Located
from agent.grounding.pointing import (
    ModelPointer,
    grounding_asker,
    grounding_refiner,
    run_locator,
    run_refiner,
)
from agent.macros.editing import delete_step, insert_step, insert_wait, move_step, set_text
from agent.macros.playback import DataFile
from agent.macros.player import PlaySettings
from agent.macros.schema import (
    Macro,
    check_writable,
    describe_macro_step,
    load_macro,
    save_macro,
    save_macro_or_rescue,
)
from agent.records.history import (
    default_history_dir,
    list_runs,
    load_run,
)
from agent.records.schema import RunInfo, StepRecord
from agent.replays.store import ReplayEntry
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
from agent.run.policy import Verdict
from agent.run.ports import ConfirmQuestion, ConfirmResult, LostTarget, Operator, PauseGate
from agent.run.settle import wait_until_settled
from agent.scaling import FrameKind
from agent.scaling import image_to_screen as image_to_screen  # ui/ maps clicks on a frame by it
from agent.skills.runner import SkillOutputError
from agent.wiring import (
    ComputerWrapper,
    Progress,
    RunSpec,
    check_display,
    check_run,
    current_platform,
    guarded_run,
    history_root,
    make_backend,
    model_facts,
    recorded_settings,
)
from agent.wording import clip, describe_action, describe_record, describe_step, local_time

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.access.clicking import ClickRequest, ClickResult
    from agent.access.describe import Description
    from agent.backends.base import Backend
    from agent.computers.base import CaptureTarget
    from agent.computers.platform import Platform
    from agent.macros.describing import Target
    from agent.ports import AccessibleTree, Speech, TextReader
    from agent.skills.batch import BatchSpec, BatchSummary
    from agent.skills.progress import Tally
    from agent.skills.runner import SkillJob, SkillResult

log = logging.getLogger(__name__)

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
    "LostTarget",
    "ModelText",
    "Observer",
    "Operator",
    "PauseGate",
    "Paused",
    "Planned",
    "Macro",
    "PlaySettings",
    "RecordedMacro",
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
    "click_by_name",
    "open_accessible_tree",
    "overlay_placement",
    "clip",
    "default_history_dir",
    "describe_screen",
    "default_config_path",
    "delete_step",
    "describe_macro_step",
    "describe_action",
    "describe_record",
    "insert_step",
    "insert_wait",
    "set_text",
    "record_macro",
    "ReplayEntry",
    "list_replays",
    "forget_replay",
    "pin_replay",
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
    "open_speech",
    "chord_triggers",
    "read_screen_aloud",
    "describe_screen_aloud",
    # grounding (agent/grounding)
    "Located",
    "grounding_asker",
    "grounding_refiner",
    "capture_for_skill",
    "default_lang",
    "render_preview",
    "save_private_text",
    "skill_job",
    "skill_names",
    "SkillOutputError",
]


def _in_settings_terms(progress: Progress) -> Progress:
    from agent.backends.advice import in_settings_terms

    def say(line: str) -> None:
        progress(in_settings_terms(line))

    return say


class Session:
    """One front end's session: it keeps the loaded model between runs and starts runs."""

    def __init__(
        self,
        progress: Progress | None = None,
        *,
        server_ports: Sequence[int] | None = None,
        settings_terms: bool = False,
    ) -> None:
        if progress is not None and settings_terms:
            # A front end with a settings window and no command line (the tray): advice such
            # as "prefer a model server (--backend openai ...)" names its fields instead.
            progress = _in_settings_terms(progress)
        self._progress = progress
        self._server_ports = server_ports  # where to look for local model servers (default: the usual)
        self._backends: dict[tuple[str, ...], Backend] = {}

    def backend(self, settings: Settings, cancel: threading.Event | None = None) -> Backend:
        """The backend for ``settings``, loaded once per session (one loaded model at a time)."""
        if settings.backend == "script":  # replies are consumed: a fresh one every run
            return make_backend(settings, self._progress, cancel)
        key = (settings.backend, settings.model, settings.precision, settings.base_url, settings.api_key)
        if key not in self._backends:
            self._backends.clear()  # models are large: drop the old one first
            if settings.backend == "local":
                self._point_out_servers()
            self._backends[key] = make_backend(settings, self._progress, cancel)
        return self._backends[key]

    def _point_out_servers(self) -> None:
        """Without an NVIDIA GPU the model runs on the CPU, minutes per step: name faster ways."""
        from agent.backends.discovery import discover
        from agent.backends.presence import has_cuda

        if self._progress is None or has_cuda():
            return
        servers = discover(self._server_ports)
        if not servers:
            return
        self._progress(
            "No NVIDIA GPU here, so the model runs on the CPU (minutes per step); a model server answers:"
        )
        for server in servers:
            self._progress("  " + server.describe())

    def explain_for_settings(self, err: DeskpilotError, settings: Settings) -> str:
        """``err`` in the words of a settings window (the tray's): no command-line flag in it.

        A model that is not here gets what to change in Settings: a downloaded folder, the
        smaller Qwen3-VL sizes that fit the free memory, and the model servers answering on
        this machine's usual ports. Other errors are their own one line.
        """
        from agent.backends.advice import in_settings_terms, missing_model_for_settings
        from agent.backends.discovery import discover
        from agent.backends.presence import free_bytes, has_cuda
        from agent.errors import ModelMissingError

        if not isinstance(err, ModelMissingError):
            return in_settings_terms(str(err))
        cuda = has_cuda()
        servers = [
            (server.program or "a server", server.base_url, server.suggested_model or "the name it serves")
            for server in discover(self._server_ports)
        ]
        return missing_model_for_settings(err.model, err.problem, free_bytes(cuda), cuda, servers)

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
        narration: Speech | None = None,
        fresh: bool = False,
        variables: Mapping[str, str] | None = None,
    ) -> RunResult:
        """Carry out ``task`` on this desktop: a replay of the run that did it before, else the model.

        Everything that can be checked without a model is checked first, so bad input
        fails in a second with one line: the settings, the task and its ``{name}``
        ``variables``, the display and the monitor, the history folder. Unless ``fresh``,
        a run of the same task that succeeded on this monitor layout is replayed without
        the model (``agent.replays``), which is loaded only from the first step the
        replay cannot find; otherwise the backend loads (or comes from the cache) first.
        The run goes under the kill hotkey and takeover detection. With ``narration``,
        each action is spoken before it happens and the words are kept in the step's
        record. A run the model helped finish with success becomes its task's replay.
        """
        from agent.replays.matching import check_variables, fill
        from agent.replays.playing import ReplayRun, current_layout, find_replay, remember

        require_valid(settings)
        if not task.strip():
            raise ConfigError("the task is empty")
        values = dict(variables or {})
        check_variables(task, values)
        checked = check_run(settings)
        say = self._progress or _quiet
        layout = current_layout(checked)
        plan = None if fresh else find_replay(checked, task, values, layout, say)
        facts = {} if plan is not None else model_facts(self.backend(settings, cancel=stop))
        recorded = recorded_settings(settings)
        if plan is not None:
            recorded["replay_of"] = plan.entry.run_id
        spec = RunSpec(
            task=fill(task, values),
            backend=settings.backend,
            model=settings.script if settings.backend == "script" else settings.model,
            settings=recorded,
            dry_run=dry_run,
            model_facts=facts,
        )
        tree = open_accessible_tree(checked.platform)  # grounds the model's clicks where a window has one
        loop_settings = LoopSettings(
            max_steps=settings.max_steps, dry_run=dry_run, confirm_timeout_s=settings.confirm_timeout_s
        )
        with guarded_run(
            checked,
            spec,
            operator,
            stop=stop,
            pause=pause,
            observers=observers,
            wrap_computer=wrap_computer,
            narration=narration,
            tree=tree,
        ) as run:

            def make_loop() -> AgentLoop:
                # Called at most once, only when the model is needed: a whole replay loads none.
                backend = self.backend(settings, cancel=stop)
                planner = Planner(
                    backend,
                    frame_kind=FrameKind(settings.frame),
                    settings=PromptSettings(
                        max_pixels=settings.max_pixels,
                        screenshots=settings.screenshots_in_prompt,
                        marks=settings.marks and tree is not None,  # no tree: the pixel prompt, unchanged
                    ),
                    refiner=run_refiner(settings, backend),
                    locator=run_locator(settings, backend, stop),
                )
                snapper = Snapper(tree) if tree is not None else None
                marker = Marker(tree, say) if settings.marks else None  # says why once when nothing is marked
                return AgentLoop(
                    planner, run.executor, run.capture, run.harness, loop_settings, snapper, marker
                )

            if plan is None:
                result = make_loop().run(spec.task)
                asked_model = True
            else:
                replay = ReplayRun(plan, make_loop, say)
                result = replay.run(spec.task, run.executor, run.capture, run.harness)
                asked_model = replay.asked_model
            info = run.recorder.info
        if asked_model and not dry_run:
            remember(checked, info.id, task, values, layout, result, info.started_at)
        return result

    def locate(
        self,
        settings: Settings,
        description: str,
        *,
        stop: threading.Event,
        refine: str | None = None,
        show: Path | None = None,
    ) -> Located:
        """Where ``description`` is on the settings' monitor, as a screen point; nothing is clicked.

        Checked before a model loads: the settings, the description, the refine mode, the
        display and monitor, and the --show file's folder and suffix.
        """
        from agent.grounding.grounder import locate
        from agent.grounding.refine import parse_refine_mode
        from agent.imaging import mark_point
        from agent.records.files import save_image_private

        require_valid(settings)
        if not description.strip():
            raise ConfigError("the description is empty")
        if refine is not None:
            parse_refine_mode(refine)
        if show is not None:
            _check_image_path(show)
        platform = current_platform()
        check_display(settings.monitor, platform)
        backend = self.backend(settings)
        frame = platform.screen(settings.monitor).capture()
        if self._progress is not None:
            self._progress(
                f"asking {model_whereabouts(settings)} where it is on a "
                f"{frame.image.width}x{frame.image.height} capture"
            )
        located = locate(
            grounding_asker(settings, backend),
            grounding_refiner(settings, backend, refine),
            description,
            frame.image,
            frame.geometry,
            stop,
        )
        if show is not None:
            save_image_private(mark_point(frame.image, located.image_xy), show)
        return located

    def eval_grounding(
        self,
        settings: Settings,
        dataset: Path,
        *,
        stop: threading.Event,
        limit: int | None = None,
        compare: Sequence[str] | None = None,
        out: Path | None = None,
        resume: bool = False,
    ) -> EvalReport:
        """Pointing accuracy on a local ScreenSpot-v2 or -Pro copy, per variant in ``compare``.

        A variant is a precision name (the settings' model at that precision) or a model
        id. The dataset, the limit, the variants and the --out file are checked before
        any model loads; variants load one after another (one model in memory at a time).
        """
        from agent.grounding.dataset import load_dataset
        from agent.grounding.evaluate import evaluate

        require_valid(settings)
        if limit is not None and limit < 1:
            raise ConfigError(f"--limit must be at least 1, got {limit}")
        samples = load_dataset(dataset)[:limit]
        if not samples:
            raise ConfigError(f"{dataset} holds no samples")
        missing = [s for s in samples if not s.image.is_file()]
        if missing:
            raise ConfigError(f"{len(missing)} sample images are missing, e.g. {missing[0].image}")
        if out is not None and not out.parent.is_dir():
            raise ConfigError(f"cannot write {out}: the folder {out.parent} does not exist")
        variants = [(name, self._variant(settings, name)) for name in self._variant_names(settings, compare)]
        return evaluate(samples, variants, stop, out=out, resume=resume, progress=self._progress)

    def _variant_names(self, settings: Settings, compare: Sequence[str] | None) -> list[str]:
        if not compare:
            default = {"script": "script", "openai": settings.model}.get(settings.backend, settings.precision)
            return [default]
        if len(set(compare)) != len(compare):
            raise ConfigError(f"--compare names a variant twice: {','.join(compare)}")
        if settings.backend == "script":
            raise ConfigError("--compare needs a model backend, not recorded replies")
        return list(compare)

    def _variant(self, settings: Settings, name: str) -> Callable[[], tuple[GroundingAsker, Refiner | None]]:
        """How to make variant ``name``: a precision of the settings' model, else a model id."""
        chosen = settings.model_copy()
        if settings.backend == "local" and name in PRECISIONS:
            chosen.precision = name
        elif name not in ("script", settings.model, settings.precision):
            chosen.model = name

        def make() -> tuple[GroundingAsker, Refiner | None]:
            backend = self.backend(chosen)
            return grounding_asker(chosen, backend), grounding_refiner(chosen, backend)

        return make

    def export_finetune(
        self,
        settings: Settings,
        runs: Sequence[str],
        out: Path,
        *,
        include_all: bool = False,
        model: str | None = None,
    ) -> ExportSummary:
        """Recorded runs (ids, 'latest' or folders) as a LLaMA-Factory dataset in ``out``."""
        from agent.finetune.export import export_runs, load_recorded_run

        if not runs:
            raise ConfigError("name at least one run")
        root = history_root(settings)
        recorded = [load_recorded_run(root, name) for name in runs]
        return export_runs(recorded, out, include_all=include_all, base_model=model)

    # -- screen skills ------------------------------------------------------------------

    def run_skill(
        self,
        settings: Settings,
        job: SkillJob,
        *,
        stop: threading.Event,
        on_text: Callable[[str], None] | None = None,
        on_retry: Callable[[str], None] | None = None,
    ) -> SkillResult:
        """One skill on its images with the backend the settings name (from this session's cache)."""
        from agent.skills.runner import run_skill

        require_valid(settings)
        return run_skill(self.backend(settings), job, stop, on_text, on_retry)

    def run_batch(
        self,
        settings: Settings,
        spec: BatchSpec,
        *,
        stop: threading.Event,
        on_tally: Callable[[Tally], None] | None = None,
    ) -> BatchSummary:
        """A skill over a folder of images, one JSON line each (see ``agent.skills.batch``)."""
        from agent.skills.batch import run_batch

        require_valid(settings)
        return run_batch(spec, self.backend(settings), stop, on_tally)

    def _grounder(self, settings: Settings, stop: threading.Event) -> ModelPointer:
        """Macro tier (d): the settings' model from this session's cache, loaded on the first ask only."""
        return ModelPointer(lambda: self.backend(settings, cancel=stop), settings, stop, refiner=run_refiner)

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
        model: bool = True,
        data: DataFile | None = None,
        find_monitor: bool = False,
    ) -> RunResult:
        """Replay the macro in ``path`` on this desktop, on the same guarded core as a task.

        With ``model`` (the default), a step whose anchor has a description and that
        tiers (a) to (c) cannot find is grounded by the settings' model (tier d), loaded
        through this session's cache only then; without it no model is ever loaded.
        Before playback that model is probed without loading it (a server must answer,
        a local model must be on this machine); an unavailable one is one warning line
        and the replay plays with tier (d) off, never a failure before it starts.
        A step whose target no healing tier finds is put to ``operator.find_lost`` where
        the operator has one (the tray; tier e), else the replay stops there.
        All rows and repeats are one run in the history. ``data`` names the CSV the rows
        came from in errors; with ``find_monitor`` the replay plays on the monitor whose
        origin and size match the recorded one (``macro play`` without ``--monitor``).
        """
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
            grounder=self._grounder(settings, stop) if model else None,
            data=data,
            find_monitor=find_monitor,
        )


@dataclass(frozen=True)
class RecordedMacro:
    """What ``record_macro`` saved: the file, its step count, and the events it left out."""

    path: Path
    steps: int
    injected: int  # events Deskpilot itself injected meanwhile (a replay or a run)
    own: int  # events that went to the front end's own windows
    macro: Macro  # as saved, for a caller that goes on to describe its targets
    targets: list[Target]  # each anchored step's frame and point (``--describe``)
    written: bool = True  # False: nothing was recorded, so no file was written (or replaced)


def record_macro(
    settings: Settings,
    path: Path,
    stop: threading.Event,
    *,
    on_recording: Callable[[], None] | None = None,
    progress: Progress | None = None,
    interrupted: threading.Event | None = None,
    own_windows: Sequence[str] = (),
    reader: TextReader | None = None,
) -> RecordedMacro:
    """Record the user's real input on the settings' monitor into ``path`` (0600), blocking.

    Checked first: the file's folder and the display. Recording starts (``on_recording``
    is called once the listeners really listen) and lasts until the kill hotkey or
    ``stop``; the kill chord is not recorded, nor is input Deskpilot injects meanwhile,
    nor input aimed at the windows titled ``own_windows`` (a tray's Stop recording). With
    ``interrupted`` set (Ctrl+C in a terminal), that chord is dropped from the end too.
    Each anchor keeps the text at its point as ``reader`` reads it (default: the offline
    OCR, loaded once recording is over). Used by ``deskpilot macro record`` and the
    tray's Macros window alike.
    """
    from agent.access.ocr import RapidReader
    from agent.macros.recorder import Recorder
    from agent.run.hotkey import KillSwitch, parse_hotkey

    chord = parse_hotkey(settings.kill_hotkey)
    check_writable(path)  # before recording: not after the user spent minutes on it
    platform = current_platform()
    check_display(settings.monitor, platform)
    # Each click keeps the accessible element under it where the desktop has a tree.
    tree = open_accessible_tree(platform)
    recorder = Recorder(platform, settings.monitor, chord, stop, own_windows=own_windows, tree=tree)
    kill = KillSwitch(settings.kill_hotkey, stop.set, platform.input_watching())
    kill.start()
    try:
        recorder.start()
        if on_recording is not None:
            on_recording()
        recorder.run()
    finally:
        recorder.close()
        kill.stop()
    macro = recorder.finish(
        path.stem,
        progress=progress,
        interrupted=interrupted is not None and interrupted.is_set(),
        reader=reader if reader is not None else RapidReader(),
    )
    if not macro.steps:
        # An empty macro cannot be played; writing it would only replace a file with nothing.
        return RecordedMacro(path, 0, recorder.ignored, recorder.own, macro, [], written=False)
    # The folder was writable when recording began; should that change, the work is kept anyway.
    import platformdirs

    rescue = platformdirs.user_data_path("deskpilot") / "macros"
    saved = save_macro_or_rescue(macro, path, rescue, progress or (lambda line: log.warning("%s", line)))
    return RecordedMacro(saved, len(macro.steps), recorder.ignored, recorder.own, macro, recorder.targets)


# -- replays: tasks that succeeded before, replayed without the model (agent/replays) ----


def list_replays(settings: Settings) -> list[ReplayEntry]:
    """The runs kept as their task's replay, newest first (``deskpilot replays list``)."""
    from agent.replays.store import live_entries

    return live_entries(history_root(settings))


def forget_replay(settings: Settings, name: str) -> ReplayEntry:
    """Never replay run ``name`` (an id or a unique start of one) again; the run stays in the history."""
    from agent.replays.store import forget

    return forget(history_root(settings), name)


def pin_replay(settings: Settings, name: str, pinned: bool = True) -> ReplayEntry:
    """Make run ``name`` the one its task replays even after later successes (``pinned=False`` undoes it)."""
    from agent.replays.store import pin

    return pin(history_root(settings), name, pinned)


# -- accessibility: click by name (agent/access) ----------------------------------------


def click_by_name(
    settings: Settings,
    request: ClickRequest,
    operator: Operator,
    *,
    stop: threading.Event,
    pause: PauseGate | None = None,
    speech: Speech | None = None,
    reader: TextReader | None = None,
    observers: Sequence[Observer] = (),
    on_line: Callable[[str], None] | None = None,
    on_list: Callable[[str], None] | None = None,
    dry_run: bool = False,
    session: Session | None = None,
    tree: AccessibleTree | None | Literal["auto"] = "auto",
) -> ClickResult:
    """Click the on-screen text ``request.name`` means, as one guarded, recorded action.

    The accessibility ``tree`` is asked first ("auto": AT-SPI, where its bus answers;
    None: OCR only); OCR, then the model, only when it has no match.

    Checked first, as for a run: the settings, the name, the display and monitor, the
    history folder. Then one frame is read by OCR and the match clicked through the
    guarded executor under the kill hotkey and takeover detection. When OCR finds no
    such text and a ``session`` is given, the settings' model is asked to point at the
    element (loaded only then), and that point is confirmed before the click unless
    the confirm mode is never.
    """
    from agent.access.clicking import ClickByName
    from agent.access.ocr import RapidReader
    from agent.grounding.pointing import ModelPointer

    require_valid(settings)
    if not request.name.strip():
        raise ConfigError("the name to click is empty")
    if request.pick is not None and request.pick < 1:
        raise ConfigError(f"--pick: {request.pick} is not a match number (they start at 1)")
    if request.no_pointer and request.button != "left":
        raise ConfigError("--no-pointer performs the element's own action: it cannot double- or right-click")
    checked = check_run(settings)
    if tree == "auto":
        tree = open_accessible_tree()
    reader = reader or RapidReader()
    spec = RunSpec(
        task=f"click {request.name}",
        backend="ocr",
        model="rapidocr",
        settings=recorded_settings(settings),
        dry_run=dry_run,
    )
    locator = None
    if session is not None:
        chosen = session
        locator = ModelPointer(lambda: chosen.backend(settings, cancel=stop), settings, stop)
    with guarded_run(checked, spec, operator, stop=stop, pause=pause, observers=observers, tree=tree) as run:
        clicker = ClickByName(
            reader,
            run.executor,
            run.capture,
            run.harness,
            locator=locator,
            tree=tree,
            speech=speech,
            on_line=on_line or _quiet,
            on_list=on_list or _quiet,
        )
        return clicker.run(request)


def _quiet(line: str) -> None:
    pass


def open_accessible_tree(platform: Platform | None = None) -> AccessibleTree | None:
    """The desktop's accessibility tree, None without one (no bus, no PyGObject, no X display)."""
    from agent.computers.atspi import open_tree
    from agent.computers.platform import Capability

    chosen = current_platform(platform)
    return open_tree(chosen.window_stack(), windows_known=chosen.capabilities.can(Capability.WINDOW_TITLES))


# -- accessibility: describe the screen (agent/access) ---------------------------------


def describe_screen(
    session: Session,
    settings: Settings,
    target: CaptureTarget,
    *,
    stop: threading.Event,
    reader: TextReader | None = None,
    check_quotes: bool = True,
) -> Description | None:
    """A conversation about one frame of ``target`` with the model the settings name; None when blank.

    The settings and the display are checked and the frame captured first; a blank
    frame returns None before any model is loaded or asked.
    """
    from agent.access.describe import Description, frame_is_blank
    from agent.access.ocr import RapidReader
    from agent.access.reading import capture
    from agent.computer_use.prompts import DEFAULT_MIN_PIXELS
    from agent.scaling import fit_to_budget

    require_valid(settings)
    frame = capture(target)
    if frame_is_blank(frame):
        return None
    image = fit_to_budget(frame.image, FrameKind(settings.frame), DEFAULT_MIN_PIXELS, settings.max_pixels)
    backend = session.backend(settings)
    return Description(
        backend,
        frame,
        stop,
        image,
        reader=(reader or RapidReader()) if check_quotes else None,
        max_pixels=settings.max_pixels,
    )


# --- grounding: locate and zoom-then-ground (agent/grounding) ---

if TYPE_CHECKING:
    from agent.finetune.export import ExportSummary
    from agent.grounding.evaluate import EvalReport
    from agent.grounding.refine import Refiner


def model_whereabouts(settings: Settings) -> str:
    """Which model is asked and where the screenshot goes, in words: 'openai' read as if it went to OpenAI."""
    from urllib.parse import urlsplit

    match settings.backend:
        case "local":
            return f"{settings.model} on this machine"
        case "openai":
            host = urlsplit(settings.base_url).hostname or ""
            loopback = host in ("localhost", "::1") or host.startswith("127.")
            where = "on this machine" if loopback else "the capture is sent there"
            return f"{settings.model} at the model server {settings.base_url} ({where})"
        case _:
            return f"the recorded replies in {settings.script}"


def _check_image_path(path: Path) -> None:
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
        raise ConfigError(f"cannot save {path.name!r}: use a .png, .jpg or .webp file")
    if not path.parent.is_dir():
        raise ConfigError(f"cannot save {path}: the folder {path.parent} does not exist")


def capture_for_skill(
    target: CaptureTarget, stop: threading.Event, wrap_computer: ComputerWrapper | None = None
) -> Image:
    """A frame for a skill from the run core's capture service; the tray passes the same
    ``wrap_computer`` as for runs, so its overlay is hidden around the grab."""
    from agent.skills.targets import capture_image

    return capture_image(target, stop, wrap_computer)


def skill_names() -> list[str]:
    from agent.skills.registry import skills

    return list(skills())


def skill_job(
    name: str, images: Sequence[Image], options: dict[str, str | None], lang: str, max_pixels: int
) -> SkillJob:
    """A skill's job with its options checked (ConfigError names a bad one)."""
    from agent.skills.registry import get_skill
    from agent.skills.runner import SkillJob

    skill = get_skill(name)
    if lang not in ("zh", "en"):
        raise ConfigError(f"language {lang!r} is not zh or en")
    return SkillJob(skill, tuple(images), skill.resolve(options), lang, max_pixels)  # type: ignore[arg-type]


def default_lang() -> str:
    """The prompt language the user's locale asks for (zh or en)."""
    from agent.skills.unit import default_lang as from_locale

    return from_locale()


def render_preview(html: str, size: tuple[int, int], stop: threading.Event) -> Image:
    """``html`` rendered by headless Chromium (scripts off); ConfigError when none is installed."""
    from agent.skills.preview import render_html

    return render_html(html, size, stop)


def save_private_text(path: Path, text: str) -> None:
    """Write a skill's result with mode 0600 (it describes the user's screen)."""
    from agent.skills.output import write_private

    write_private(path, text)


# -- the tray's keyboard-first assistance (agent/access) ----------------------------------


def open_speech(settings: Settings, stop: threading.Event | None = None) -> Speech:
    """Offline speech to the speakers, with the settings' rate and voice."""
    from agent.access.speech import SpeechSettings
    from agent.access.speech import open_speech as open_threaded

    return open_threaded(None, SpeechSettings(settings.speech_rate, settings.speech_voice), stop)


def chord_triggers(chords: dict[str, Callable[[], None]]) -> list[Any]:
    """Started global listeners, one per chord, each calling its function (on a listener thread).

    The caller stops them (``stop()``) when it ends; a chord that cannot be listened to
    raises DisplayError before any is left running.
    """
    from agent.run.hotkey import KillSwitch

    watching = current_platform().input_watching()
    started: list[Any] = []
    try:
        for chord, fire in chords.items():
            trigger = KillSwitch(chord, fire, watching)  # a kill switch is a chord that calls back
            trigger.start()
            started.append(trigger)
    except DeskpilotError:
        for trigger in started:
            trigger.stop()
        raise
    return started


def read_screen_aloud(
    settings: Settings,
    speech: Speech,
    stop: threading.Event,
    on_line: Callable[[str], None] | None = None,
    reader: Any = None,
) -> list[str]:
    """Read the settings' monitor by offline OCR, speaking "Reading" at once and each line as it comes."""
    from agent.access.ocr import RapidReader
    from agent.access.reading import BLANK, capture, read_frame

    speech.say("Reading")
    result = read_frame(
        capture(settings.monitor), reader or RapidReader(), on_line or _quiet, speech, None, stop
    )
    if result.blank:
        speech.say(f"Nothing to read: {BLANK}")
    elif not result.lines:
        speech.say("No text found")
    # Done only once it was heard: a tray must not say "Read 22 lines aloud" to silence.
    speech.wait()
    if speech.problem is not None:
        from agent.access.speech import NoAudioError

        raise NoAudioError(f"{len(result.lines)} lines read, none heard: {speech.problem}")
    return result.lines


def describe_screen_aloud(session: Session, settings: Settings, speech: Speech, stop: threading.Event) -> str:
    """The model's description of the settings' monitor, spoken; a blank screen is said without asking it."""
    from agent.access.describe import BLANK

    speech.say("Describing the screen")
    description = describe_screen(session, settings, settings.monitor, stop=stop)
    if description is None:
        speech.say(BLANK)
        return BLANK
    text = description.ask().text
    speech.say(text)
    return text


def overlay_placement(environ: Mapping[str, str] | None = None) -> str:
    """How this session's desktop lets the confirmation overlay be on top: "above" (X11) or "fullscreen".

    Decided from the environment alone (no compositor or bus is asked): any Wayland
    session gets "fullscreen", since no Wayland desktop gives a plain client "always on top".
    """
    from agent.computers.platform import OVERLAY_PLACEMENTS, OverlayPlacement
    from agent.computers.selection import Verdict, choose_platform

    choice = choose_platform(os.environ if environ is None else environ)
    if choice.verdict in (Verdict.X11, Verdict.NO_DISPLAY):
        return OverlayPlacement.ABOVE.value
    return OVERLAY_PLACEMENTS.get(choice.verdict.value, OverlayPlacement.FULLSCREEN).value

"""A macro replay on the real desktop, on the guarded run every source gets from ``agent.wiring``.

Everything that can be checked is checked before the desktop is touched: the
settings, the macro file, the variables every row must give, the report's folder, the
display and monitor, the history folder. The model itself is loaded only if a step
reaches tier (d).

The monitor: with ``find_monitor`` (``macro play`` without ``--monitor``, the settings'
monitor left at its default) the replay plays on the monitor whose origin and size
match the ones the macro recorded, and says so; where the monitor played on is not
the recorded one, one line says both up front.

The model tier (d), when the macro has described steps and it is on, is probed
before playback without loading a model (``model_problem``): a server must answer
``GET /models`` within ``PROBE_S``; a local model must be on this machine (a folder,
or in the Hugging Face cache). A model is a last resort, so an unavailable one does
not fail the replay: one warning line names the problem and ``--no-model``, and the
replay plays with tier (d) off (a step that would need it fails as not found).

The healer gets tier (c-ocr) over a ``RapidReader`` that loads its engine on first
use: a replay whose anchors are all found by tiers (a) and (b) never loads OCR.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from agent.errors import ConfigError, DeskpilotError
from agent.macros.healing import Found, Grounder, Healer, Miss
from agent.macros.player import MacroPlayer, PlaySettings
from agent.macros.schema import Macro, MacroStep, Monitor, encode_png, load_macro, save_macro, variable_names
from agent.run.events import Observer, RunResult
from agent.run.ports import Operator, PauseGate
from agent.wording import plural

if TYPE_CHECKING:
    from agent.computers.base import Computer, Frame
    from agent.config import Settings
    from agent.geometry import Region


# How long the up-front probe of a model server waits for ``GET /models``.
PROBE_S = 2.0


@dataclass(frozen=True)
class DataFile:
    """The ``--data`` CSV the rows came from, named in errors about its columns."""

    path: Path
    columns: Sequence[str]


def check_rows(names: set[str], rows: Sequence[dict[str, str]], data: DataFile | None = None) -> None:
    """Every ``{name}`` the macro types has a value in every row; ConfigError (one line) when not."""
    for number, row in enumerate(rows, start=1):
        missing = sorted(names - set(row))
        if not missing:
            continue
        name = missing[0]
        if data is not None:
            columns = ", ".join(data.columns) or "none"
            raise ConfigError(
                f"the macro types {{{name}}} but {data.path.name} has no column {name!r} "
                f"(its columns: {columns}); add it or give --vars {name}=..."
            )
        where = f"row {number} of {len(rows)} gives" if len(rows) > 1 else "the values given give"
        raise ConfigError(f"the macro types {{{name}}} but {where} no value for it (--vars {name}=...)")


def model_problem(settings: Settings) -> str | None:
    """Why the settings' model could not be used, found cheaply and without loading it; None when none.

    A server must answer ``GET /models`` within ``PROBE_S``; a local model must be a
    folder with a config.json or be in the Hugging Face cache (as ``deskpilot doctor``
    checks it). The script backend has nothing to probe.
    """
    if settings.backend == "openai":
        from agent.backends.openai import OpenAIBackend

        try:
            backend = OpenAIBackend(
                settings.base_url,
                settings.model,
                api_key=settings.api_key or None,
                timeout_s=PROBE_S,
                retries=0,
            )
        except DeskpilotError as err:
            return str(err)
        try:
            backend.models(PROBE_S)
        except DeskpilotError as err:
            return str(err)
        finally:
            backend.close()
        return None
    if settings.backend == "local":
        from agent.backends.presence import check_local_model

        failed = [f.detail for f in check_local_model(settings.model) if f.level == "fail"]
        return failed[0] if failed else None
    return None


def pick_monitor(
    recorded: Monitor, monitors: Sequence[Region], chosen: int, current: Region, find: bool
) -> tuple[int, str | None]:
    """The monitor to play on and the line to say about it (None: nothing worth saying).

    ``monitors`` are mss monitors 1.. in order; ``current`` is monitor ``chosen``'s
    region. With ``find``, a monitor whose origin and size are the recorded ones wins.
    """
    shape = (recorded.left, recorded.top, recorded.width, recorded.height)
    matches = [i for i, r in enumerate(monitors, start=1) if (r.left, r.top, r.width, r.height) == shape]
    if chosen in matches:
        return chosen, None
    if find and matches:
        return matches[0], f"playing on monitor {matches[0]}, where it was recorded"
    return chosen, (
        f"recorded on a {recorded.width}x{recorded.height} monitor at ({recorded.left}, {recorded.top}); "
        f"playing on monitor {chosen}, {current.width}x{current.height} at ({current.left}, {current.top})"
    )


def _first_line(
    path: Path, macro: Macro, monitor: int, recorded_here: bool, play: PlaySettings, rows: int
) -> str:
    m = macro.monitor
    where = (
        f"recorded on monitor {monitor} ({m.width}x{m.height})"
        if recorded_here
        else f"recorded on a {m.width}x{m.height} monitor"
    )
    parts = [f"Playing {path.name}: {plural(len(macro.steps), 'step')} {where}"]
    parts.append("max speed" if play.speed is None else f"speed {play.speed:g}")
    if rows > 1:
        parts.append(f"{plural(rows, 'row')} of data")
    if play.repeat > 1:
        parts.append(f"{play.repeat} times over")
    if play.dry_run:
        parts.append("dry run")
    return ", ".join(parts)


def play_macro(
    settings: Settings,
    path: Path,
    operator: Operator,
    *,
    stop: threading.Event,
    play: PlaySettings,
    rows: Sequence[dict[str, str]],
    pause: PauseGate | None = None,
    report: Path | None = None,
    update_anchors: bool = False,
    observers: Sequence[Observer] = (),
    say: Callable[[str], None] | None = None,
    wrap_computer: Callable[[Computer], Computer] | None = None,
    grounder: Grounder | None = None,
    data: DataFile | None = None,
    find_monitor: bool = False,
) -> RunResult:
    from agent.config import require_valid
    from agent.records.files import save_image_private
    from agent.wiring import RunSpec, check_run, guarded_run

    require_valid(settings)
    macro = load_macro(path)
    if not macro.steps:
        raise ConfigError(f"{path} has no steps to play")
    if not rows:
        raise ConfigError("the data file has a header but no rows")
    check_rows(variable_names(macro), rows, data)
    if report is not None and not report.parent.is_dir():
        raise ConfigError(f"--report: the folder {report.parent} does not exist")
    checked = check_run(settings)
    say = say or (lambda _line: None)
    monitors = checked.platform.screen(1).monitors()
    monitor, note = pick_monitor(macro.monitor, monitors, settings.monitor, checked.monitor, find_monitor)
    recorded_here = note is None or monitor != settings.monitor
    if monitor != settings.monitor:
        # One of this display's own monitors (just listed): the checks made still hold.
        settings = settings.model_copy(update={"monitor": monitor})
        checked = replace(checked, settings=settings, monitor=monitors[monitor - 1])
    say(_first_line(path, macro, monitor, recorded_here, play, len(rows)))
    if note is not None:
        say(note)
    described = sum(1 for s in macro.steps if s.anchor is not None and s.anchor.description.strip())
    if grounder is not None and described:
        problem = model_problem(settings)
        if problem is not None:
            # A model is a last resort: the replay goes on without it, said once, up front.
            say(
                f"the model tier is off for this replay: {problem}; a step no picture or text tier "
                "finds fails as not found (--no-model skips this check)"
            )
            grounder = None
    if grounder is not None and described:
        say(
            f"{plural(described, 'step has', 'steps have')} a description: if tiers a-c cannot find one, "
            f"the model ({settings.backend}: {settings.model}) is asked (--no-model: never)"
        )
    new_looks: dict[int, str] = {}
    spec = RunSpec(
        task=f"macro {path.name}",
        backend="macro",
        model="none",
        settings={
            "macro": str(path),
            "confirm": settings.confirm,
            "rows": len(rows),
            "repeat": play.repeat,
            "model_tier": f"{settings.backend}: {settings.model}" if grounder else "off",
        },
        dry_run=play.dry_run,
    )
    from agent.computers.atspi import open_tree
    from agent.computers.platform import Capability

    # The element tier, first, and settling on the tree's events, where the desktop has one.
    tree = open_tree(checked.platform.window_stack(),
                     windows_known=checked.platform.capabilities.can(Capability.WINDOW_TITLES))
    with guarded_run(
        checked, spec, operator, stop=stop, pause=pause, observers=observers, wrap_computer=wrap_computer,
        tree=tree,
    ) as run:
        run_dir = run.recorder.run_dir

        def keep_miss(number: int, step: MacroStep, miss: Miss, frame: Frame) -> None:
            """The evidence a person needs: the crop looked for and the best candidate seen."""
            from agent.macros.schema import decode_png

            try:
                if step.anchor is not None:
                    anchor = decode_png(step.anchor.crop)
                    save_image_private(anchor, run_dir / f"miss-{number:04d}-anchor.png")
                if miss.best is not None:
                    save_image_private(
                        frame.image.crop(miss.best.box.as_tuple()), run_dir / f"miss-{number:04d}-best.png"
                    )
            except (OSError, DeskpilotError) as err:
                say(f"could not keep the evidence of step {number}: {err}")

        def keep_look(number: int, step: MacroStep, found: Found, frame: Frame) -> None:
            if update_anchors and found.is_new_look:
                index = next(i for i, s in enumerate(macro.steps) if s is step)
                new_looks[index] = encode_png(frame.image.crop(found.box.as_tuple()))

        from agent.access.ocr import RapidReader
        from agent.macros.text_tier import OcrTextLocator

        player = MacroPlayer(
            run.executor,
            run.capture,
            run.harness,
            Healer(reader=OcrTextLocator(RapidReader()), grounder=grounder, tree=tree),
            play,
            on_miss=keep_miss,
            on_found=keep_look,
            say=say,
            tree=tree,
        )
        result = player.play(macro, rows, f"macro {path.name}")
    if report is not None:
        from agent.macros.report import write_report

        write_report(report, f"Replay of {path.name}", f"{result.outcome}: {result.detail}", player.log.steps)
        say(f"report written to {report}")
    if update_anchors and new_looks:
        for index, look in new_looks.items():
            anchor = macro.steps[index].anchor
            if anchor is not None and look not in anchor.variants:
                anchor.variants.append(look)
        save_macro(macro, path)
        say(f"saved {plural(len(new_looks), 'new anchor look')} to {path}")
    return result

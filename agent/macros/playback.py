"""Wiring a macro replay on the real desktop, the way ``Session.run_task`` wires a task.

Everything that can be checked is checked before the desktop is touched: the
settings (the model options too: tier d may need them mid-replay), the macro file,
the variables every row must give, the report's folder, the display and monitor, the
history folder. The model itself is loaded only if a step reaches tier (d).

The healer gets tier (c-ocr) over a ``RapidReader`` that loads its engine on first
use: a replay whose anchors are all found by tiers (a) and (b) never loads OCR.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agent.errors import ConfigError, DeskpilotError
from agent.macros.healing import Found, Grounder, Healer, Miss
from agent.macros.player import MacroPlayer, PlaySettings
from agent.macros.schema import MacroStep, encode_png, load_macro, save_macro, variable_names
from agent.records.schema import RunInfo
from agent.run.capture import Capture
from agent.run.events import Observer, RunResult
from agent.run.executor import GuardedExecutor
from agent.run.harness import RunHarness
from agent.run.ports import Operator, PauseGate

if TYPE_CHECKING:
    from agent.computers.base import Computer, Frame
    from agent.config import Settings


def check_rows(names: set[str], rows: Sequence[dict[str, str]]) -> None:
    for number, row in enumerate(rows, start=1):
        missing = sorted(names - set(row))
        if missing:
            where = f"row {number} of the data" if len(rows) > 1 else "the values given"
            raise ConfigError(
                f"the macro types {{{missing[0]}}} but {where} has no {missing[0]} (--vars {missing[0]}=...)"
            )


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
) -> RunResult:
    from agent.api import check_display, history_root, make_policy
    from agent.computers.windows import X11Windows
    from agent.config import require_valid
    from agent.records.files import save_image_private
    from agent.records.history import RunRecorder, ensure_history_root, prune_runs
    from agent.run.session import desktop_session

    require_valid(settings)
    macro = load_macro(path)
    if not macro.steps:
        raise ConfigError(f"{path} has no steps to play")
    if not rows:
        raise ConfigError("the data file has a header but no rows")
    check_rows(variable_names(macro), rows)
    if report is not None and not report.parent.is_dir():
        raise ConfigError(f"--report: the folder {report.parent} does not exist")
    check_display(settings.monitor)
    root = history_root(settings)
    ensure_history_root(root)
    say = say or (lambda _line: None)
    described = sum(1 for s in macro.steps if s.anchor is not None and s.anchor.description.strip())
    if grounder is not None and described:
        say(
            f"{described} step(s) have a description: if tiers a-c cannot find one, "
            f"the model ({settings.backend}: {settings.model}) is asked (--no-model: never)"
        )
    pause = pause or PauseGate()
    new_looks: dict[int, str] = {}

    with desktop_session(settings.monitor, settings.kill_hotkey, stop, pause) as desk:
        from agent.macros.marker import ActingMark, MarkedComputer

        # A recorder running meanwhile must not take the replay's input for the user's.
        mark = ActingMark()
        marked = MarkedComputer(desk.computer, mark)
        computer: Computer = wrap_computer(marked) if wrap_computer else marked
        prune_runs(root, max(0, settings.history_keep_runs - 1) if settings.history_keep_runs else 0)
        recorder = RunRecorder.start(
            root,
            RunInfo(
                id="",
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
                started_at=datetime.now(UTC).isoformat(timespec="seconds"),
                dry_run=play.dry_run,
            ),
        )

        def keep_miss(number: int, step: MacroStep, miss: Miss, frame: Frame) -> None:
            """The evidence a person needs: the crop looked for and the best candidate seen."""
            from agent.macros.schema import decode_png

            try:
                if step.anchor is not None:
                    save_image_private(
                        decode_png(step.anchor.crop), recorder.run_dir / f"miss-{number:04d}-anchor.png"
                    )
                if miss.best is not None:
                    save_image_private(
                        frame.image.crop(miss.best.box.as_tuple()),
                        recorder.run_dir / f"miss-{number:04d}-best.png",
                    )
            except (OSError, DeskpilotError) as err:
                say(f"could not keep the evidence of step {number}: {err}")

        def keep_look(number: int, step: MacroStep, found: Found, frame: Frame) -> None:
            if update_anchors and found.tier not in ("a-near", "a-screen", "a-variant"):
                index = next(i for i, s in enumerate(macro.steps) if s is step)
                new_looks[index] = encode_png(frame.image.crop(found.box.as_tuple()))

        harness = RunHarness(computer, recorder=recorder, observers=observers)
        executor = GuardedExecutor(
            computer,
            make_policy(settings, X11Windows().title_at),
            operator,
            stop,
            harness.emit,
            pause=pause,
            guard=desk.takeover,
            dry_run=play.dry_run,
            confirm_timeout_s=settings.confirm_timeout_s,
        )
        from agent.access.ocr import RapidReader
        from agent.macros.text_tier import OcrTextLocator

        player = MacroPlayer(
            executor,
            Capture(computer, stop),
            harness,
            Healer(reader=OcrTextLocator(RapidReader()), grounder=grounder),
            play,
            on_miss=keep_miss,
            on_found=keep_look,
            say=say,
        )
        try:
            result = player.play(macro, rows, f"macro {path.name}")
        finally:
            mark.close()
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
        say(f"saved {len(new_looks)} new anchor look(s) to {path}")
    return result

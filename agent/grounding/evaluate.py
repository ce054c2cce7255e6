"""The grounding eval: every sample through the agent's prompt, parser and scaling; a hit is inside the box.

Results are one JSON line per sample and variant (appended and flushed as each ends, so
an interrupted eval resumes where it stopped); the report counts hits overall, per data
type and per platform or application, and what refinement changed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from agent.errors import ConfigError, TargetNotFoundError
from agent.geometry import CaptureGeometry, Region
from agent.grounding.dataset import Sample
from agent.grounding.grounder import locate
from agent.records.files import open_private

if TYPE_CHECKING:
    from agent.grounding.locate import GroundingAsker
    from agent.grounding.refine import Refiner

Progress = Callable[[str], None]
# A variant's name and how to make its asker and refiner (called once, when its turn comes,
# so only one model is loaded at a time).
Variant = tuple[str, Callable[[], "tuple[GroundingAsker, Refiner | None]"]]


class ResultLine(BaseModel):
    """One sample's answer under one variant (a line of --out)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    variant: str
    instruction: str
    data_type: str
    group_kind: str
    group: str
    box: list[float]
    point: list[float] | None  # the final point, image pixels; None when the model pointed nowhere
    hit: bool
    first_point: list[float] | None = None  # the single pass's point, before refinement
    first_hit: bool = False
    refined: bool = False
    error: str = ""
    seconds: float = 0.0


def _point(xy: tuple[float, float] | None) -> list[float] | None:
    return None if xy is None else [round(xy[0], 2), round(xy[1], 2)]


def evaluate_sample(
    sample: Sample, variant: str, asker: GroundingAsker, refiner: Refiner | None, cancel: threading.Event
) -> ResultLine:
    from PIL import Image

    try:
        with Image.open(sample.image) as opened:
            image = opened.convert("RGB")
    except OSError as err:
        raise ConfigError(f"cannot read the image of sample {sample.id}: {err}") from None
    started = time.perf_counter()
    base: dict[str, Any] = {
        "id": sample.id,
        "variant": variant,
        "instruction": sample.instruction,
        "data_type": sample.data_type,
        "group_kind": sample.group_kind,
        "group": sample.group,
        "box": list(sample.box),
    }
    geometry = CaptureGeometry.unscaled(Region(0, 0, image.width, image.height))
    try:
        located = locate(asker, refiner, sample.instruction, image, geometry, cancel)
    except TargetNotFoundError as err:
        return ResultLine(
            **base, point=None, hit=False, error=str(err), seconds=time.perf_counter() - started
        )
    first = located.first.image_xy
    refined = located.refinement is not None and bool(located.refinement.get("used"))
    return ResultLine(
        **base,
        point=_point(located.image_xy),
        hit=sample.hit(located.image_xy),
        first_point=_point(first),
        first_hit=sample.hit(first),
        refined=refined,
        seconds=round(time.perf_counter() - started, 4),
    )


def read_results(path: Path) -> list[ResultLine]:
    """The lines of an earlier --out file; a line cut off by a kill is dropped."""
    results: list[ResultLine] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            results.append(ResultLine.model_validate_json(line))
        except ValidationError:
            if number == len(lines):
                break  # the last line, half written when the eval was stopped
            raise ConfigError(
                f"{path} line {number} is not an eval result; remove the file or fix it"
            ) from None
    return results


def evaluate(
    samples: Sequence[Sample],
    variants: Sequence[Variant],
    cancel: threading.Event,
    *,
    out: Path | None = None,
    resume: bool = False,
    progress: Progress | None = None,
) -> EvalReport:
    """Run every sample under every variant (variants one after another), appending to ``out``."""
    done: dict[tuple[str, str], ResultLine] = {}
    if out is not None and out.exists():
        if not resume:
            raise ConfigError(f"{out} exists: pass --resume to continue it, or choose another --out")
        done = {(r.variant, r.id): r for r in read_results(out)}
    fd = open_private(out, "a") if out is not None else None
    results: dict[str, list[ResultLine]] = {}
    try:
        for name, make in variants:
            todo = [s for s in samples if (name, s.id) not in done]
            results[name] = [done[(name, s.id)] for s in samples if (name, s.id) in done]
            if not todo:
                continue
            asker, refiner = make()
            for number, sample in enumerate(todo, 1):
                if cancel.is_set():
                    from agent.errors import StoppedError

                    raise StoppedError("the eval was stopped; --resume continues it")
                line = evaluate_sample(sample, name, asker, refiner, cancel)
                results[name].append(line)
                if fd is not None:
                    import os

                    os.write(fd, (line.model_dump_json() + "\n").encode("utf-8"))
                if progress is not None:
                    verdict = "hit" if line.hit else "miss"
                    progress(f"[{name} {number}/{len(todo)}] {sample.id}: {verdict}")
    finally:
        if fd is not None:
            import os

            os.close(fd)
    return EvalReport([name for name, _ in variants], results)


@dataclass(frozen=True)
class Tally:
    hits: int
    total: int

    def __str__(self) -> str:
        share = 100.0 * self.hits / self.total if self.total else 0.0
        return f"{self.hits}/{self.total} {share:.1f}%"


def tally(lines: Sequence[ResultLine]) -> Tally:
    return Tally(sum(1 for line in lines if line.hit), len(lines))


@dataclass(frozen=True)
class EvalReport:
    variants: list[str]
    results: dict[str, list[ResultLine]]

    def rows(self) -> list[tuple[str, list[Tally]]]:
        """(label, one tally per variant): overall, each data type, each platform or application."""
        every = [line for lines in self.results.values() for line in lines]
        labels: list[tuple[str, Callable[[ResultLine], bool]]] = [("overall", lambda _line: True)]
        for data_type in sorted({line.data_type for line in every}):
            labels.append((data_type, lambda line, d=data_type: line.data_type == d))  # type: ignore[misc]
        for kind, group in sorted({(line.group_kind, line.group) for line in every}):
            labels.append(
                (f"{kind} {group}", lambda line, k=kind, g=group: (line.group_kind, line.group) == (k, g))  # type: ignore[misc]
            )
        return [
            (label, [tally([line for line in self.results[v] if keep(line)]) for v in self.variants])
            for label, keep in labels
        ]

    def refinement_lines(self) -> list[str]:
        out: list[str] = []
        for variant in self.variants:
            lines = self.results[variant]
            refined = [line for line in lines if line.refined]
            if not refined:
                continue
            gained = sum(1 for line in refined if line.hit and not line.first_hit)
            lost = sum(1 for line in refined if line.first_hit and not line.hit)
            single = sum(1 for line in lines if line.first_hit)
            out.append(
                f"refinement {variant}: refined {len(refined)} of {len(lines)}; "
                f"{gained} hits the single pass missed, {lost} misses it had hit "
                f"(single pass {single}/{len(lines)})"
            )
        return out

    def text(self) -> str:
        rows = self.rows()
        width = max(len(label) for label, _ in rows)
        lines = []
        if len(self.variants) > 1:
            lines.append(" " * width + "  " + "  ".join(f"{v:>16}" for v in self.variants))
        for label, tallies in rows:
            if len(tallies) == 1:
                lines.append(f"{label:<{width}}  {tallies[0]}")
            else:
                lines.append(f"{label:<{width}}  " + "  ".join(f"{str(t):>16}" for t in tallies))
        lines.extend(self.refinement_lines())
        return "\n".join(lines) + "\n"

    def to_json_dict(self) -> dict[str, object]:
        return {
            "variants": self.variants,
            "rows": {label: [t.__dict__ for t in tallies] for label, tallies in self.rows()},
        }


def dumps(report: EvalReport) -> str:
    return json.dumps(report.to_json_dict())

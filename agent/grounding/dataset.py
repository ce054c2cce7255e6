"""ScreenSpot-v2 and ScreenSpot-Pro on disk, in their own annotation formats, as one sample type.

ScreenSpot-v2 (a folder): ``screenspot_desktop_v2.json``, ``screenspot_mobile_v2.json``,
``screenspot_web_v2.json`` and the images in ``screenspotv2_image/``; each entry has
``img_filename``, ``bbox`` as [x, y, width, height] in pixels, ``instruction``,
``data_type`` (text or icon) and ``data_source``; the platform is the file's.
ScreenSpot-Pro (a folder): ``annotations/*.json`` and ``images/``; each entry has
``img_filename`` (under images/), ``bbox`` as [x1, y1, x2, y2], ``img_size``,
``instruction``, ``application``, ``platform`` and ``ui_type`` (text or icon).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import ConfigError

_V2_FILE = re.compile(r"^screenspot_(\w+?)_v2\.json$")


class V2Entry(BaseModel):
    model_config = ConfigDict(extra="allow")

    img_filename: str
    bbox: list[float] = Field(min_length=4, max_length=4)  # x, y, width, height
    instruction: str
    data_type: str = "unknown"
    data_source: str = ""


class ProEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    img_filename: str
    bbox: list[float] = Field(min_length=4, max_length=4)  # x1, y1, x2, y2
    instruction: str
    img_size: list[int] = Field(default_factory=list)
    application: str = ""
    platform: str = ""
    ui_type: str = "unknown"
    id: str | None = None


@dataclass(frozen=True)
class Sample:
    """One grounding question: find ``instruction`` on ``image``; a hit lies inside ``box``."""

    id: str
    image: Path
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in image pixels, edges inclusive
    instruction: str
    data_type: str  # text | icon
    group_kind: Literal["platform", "application"]
    group: str

    def hit(self, point: tuple[float, float] | None) -> bool:
        if point is None:
            return False
        x1, y1, x2, y2 = self.box
        return x1 <= point[0] <= x2 and y1 <= point[1] <= y2


def load_dataset(root: Path) -> list[Sample]:
    """Every sample under ``root`` (a ScreenSpot-v2 or ScreenSpot-Pro folder), in a stable order."""
    if not root.is_dir():
        raise ConfigError(f"dataset {root} is not a folder (a ScreenSpot-v2 or ScreenSpot-Pro copy)")
    if (root / "annotations").is_dir():
        return _load_pro(root)
    files = sorted(p for p in root.iterdir() if _V2_FILE.match(p.name))
    if files:
        return _load_v2(root, files)
    raise ConfigError(
        f"{root} is neither ScreenSpot-Pro (annotations/ and images/) nor ScreenSpot-v2 "
        "(screenspot_*_v2.json and screenspotv2_image/)"
    )


def _entries(path: Path) -> list[Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"cannot read {path}: {err}") from None
    if not isinstance(data, list):
        raise ConfigError(f"{path} is not a JSON list of annotations")
    return data


def _problem(path: Path, index: int, err: ValidationError) -> ConfigError:
    item = err.errors()[0]
    where = ".".join(str(p) for p in item["loc"])
    return ConfigError(f"{path.name} entry {index}: {where}: {item['msg']}")


def _load_v2(root: Path, files: list[Path]) -> list[Sample]:
    images = root / "screenspotv2_image"
    samples: list[Sample] = []
    for path in files:
        match = _V2_FILE.match(path.name)
        assert match is not None
        platform = match.group(1)
        for index, raw in enumerate(_entries(path)):
            try:
                entry = V2Entry.model_validate(raw)
            except ValidationError as err:
                raise _problem(path, index, err) from None
            x, y, w, h = entry.bbox
            samples.append(
                Sample(
                    id=f"{platform}-{index}",
                    image=images / entry.img_filename,
                    box=(x, y, x + w, y + h),
                    instruction=entry.instruction,
                    data_type=entry.data_type,
                    group_kind="platform",
                    group=platform,
                )
            )
    return samples


def _load_pro(root: Path) -> list[Sample]:
    samples: list[Sample] = []
    for path in sorted((root / "annotations").glob("*.json")):
        for index, raw in enumerate(_entries(path)):
            try:
                entry = ProEntry.model_validate(raw)
            except ValidationError as err:
                raise _problem(path, index, err) from None
            x1, y1, x2, y2 = entry.bbox
            samples.append(
                Sample(
                    id=entry.id or f"{path.stem}-{index}",
                    image=root / "images" / entry.img_filename,
                    box=(x1, y1, x2, y2),
                    instruction=entry.instruction,
                    data_type=entry.ui_type,
                    group_kind="application",
                    group=entry.application or path.stem,
                )
            )
    return samples

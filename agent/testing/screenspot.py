"""A synthetic ScreenSpot set: generated screens with targets of known boxes and sizes.

Written in ScreenSpot-v2's or ScreenSpot-Pro's own on-disk format, so the eval reads it
through the same loader as the real sets. Each target has its own colour, which the
fake grounding model is told out of band (``targets``); the boxes stay in the
annotations, where only the scorer reads them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SCREEN = (1920, 1080)
BACKGROUND = (235, 235, 235)
# (side in pixels, centre): an 8 px dot, a 16 px icon in the bottom-left corner, a 32 px
# icon at the top edge, and 64 and 128 px buttons.
LAYOUT: tuple[tuple[int, tuple[int, int]], ...] = (
    (8, (1700, 540)),
    (16, (30, 1060)),
    (32, (960, 20)),
    (64, (400, 700)),
    (128, (1500, 300)),
)
GROUPS = ("desktop", "web")
# Saturated and far apart, so no blend of one with the background (at a resized edge)
# passes for another.
COLOURS = ((220, 20, 20), (20, 160, 20), (20, 20, 220), (200, 20, 200), (230, 130, 0))


@dataclass(frozen=True)
class SyntheticTarget:
    group: str
    instruction: str
    side: int
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 (x2, y2 one past the last pixel)
    colour: tuple[int, int, int]
    data_type: str


def synthetic_targets() -> list[SyntheticTarget]:
    targets = []
    for group in GROUPS:
        for i, (side, (cx, cy)) in enumerate(LAYOUT):
            box = (cx - side // 2, cy - side // 2, cx - side // 2 + side, cy - side // 2 + side)
            colour = COLOURS[i]
            targets.append(
                SyntheticTarget(
                    group, f"the target {i} on {group}", side, box, colour, "text" if side >= 64 else "icon"
                )
            )
    return targets


def write_synthetic_screenspot(
    root: Path, kind: Literal["v2", "pro"] = "v2"
) -> dict[str, tuple[int, int, int]]:
    """Write the set under ``root``; returns instruction → colour for the fake model."""
    from PIL import Image, ImageDraw

    targets = synthetic_targets()
    image_dir = root / ("screenspotv2_image" if kind == "v2" else "images")
    image_dir.mkdir(parents=True, exist_ok=True)
    if kind == "pro":
        (root / "annotations").mkdir(exist_ok=True)
    for group in GROUPS:
        image = Image.new("RGB", SCREEN, BACKGROUND)
        draw = ImageDraw.Draw(image)
        mine = [t for t in targets if t.group == group]
        for t in mine:
            draw.rectangle((t.box[0], t.box[1], t.box[2] - 1, t.box[3] - 1), fill=t.colour)
        name = f"{group}.png"
        image.save(image_dir / name)
        if kind == "v2":
            entries = [
                {
                    "img_filename": name,
                    "bbox": [t.box[0], t.box[1], t.side, t.side],
                    "instruction": t.instruction,
                    "data_type": t.data_type,
                    "data_source": group,
                }
                for t in mine
            ]
            (root / f"screenspot_{group}_v2.json").write_text(json.dumps(entries), encoding="utf-8")
        else:
            entries = [
                {
                    "img_filename": name,
                    "bbox": list(t.box),
                    "img_size": list(SCREEN),
                    "instruction": t.instruction,
                    "application": group,
                    "platform": "linux",
                    "ui_type": t.data_type,
                    "id": f"{group}_{i}",
                }
                for i, t in enumerate(mine)
            ]
            (root / "annotations" / f"{group}_linux.json").write_text(json.dumps(entries), encoding="utf-8")
    return {t.instruction: t.colour for t in targets}

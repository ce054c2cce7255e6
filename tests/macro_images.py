"""Synthetic screens for the matching and healing tables: a button on a busy background."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

BUTTON = (120, 40)


def screen(
    at: tuple[int, int] | None = (400, 300),
    *,
    scale: float = 1.0,
    fg: tuple[int, int, int] = (30, 90, 200),
    bg: tuple[int, int, int] = (240, 240, 240),
    size: tuple[int, int] = (1920, 1080),
    busy: bool = True,
    extra_buttons: tuple[tuple[int, int], ...] = (),
) -> Image.Image:
    """A ``size`` screen with the test button at ``at`` (None: no button), drawn at ``scale``."""
    image = Image.new("RGB", size, bg)
    draw = ImageDraw.Draw(image)
    if busy:
        rng = np.random.default_rng(1)
        for _ in range(40):
            x, y = int(rng.integers(0, size[0] - 120)), int(rng.integers(0, size[1] - 80))
            draw.rectangle([x, y, x + 60, y + 20], outline=(120, 120, 120))
    for where in ([at] if at is not None else []) + list(extra_buttons):
        button(draw, where, scale, fg)
    return image


def button(draw: ImageDraw.ImageDraw, at: tuple[int, int], scale: float, fg: tuple[int, int, int]) -> None:
    bx, by = at
    w, h = int(BUTTON[0] * scale), int(BUTTON[1] * scale)
    draw.rounded_rectangle([bx, by, bx + w, by + h], radius=int(6 * scale), fill=fg)
    font = ImageFont.load_default(size=int(18 * scale))
    draw.text((bx + int(20 * scale), by + int(8 * scale)), "Save", fill=(255, 255, 255), font=font)
    draw.ellipse(
        [bx + int(90 * scale), by + int(10 * scale), bx + int(110 * scale), by + int(30 * scale)], fill=(255, 200, 0)
    )

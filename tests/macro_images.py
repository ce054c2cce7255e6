"""Synthetic screens for the matching and healing tables: a button on a busy background."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from agent.ports import TextBox

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


def label_box(at: tuple[int, int] = (400, 300), scale: float = 1.0) -> TextBox:
    """Where ``button`` draws its "Save" label, as the box an OCR reader would give."""
    font = ImageFont.load_default(size=int(18 * scale))
    left, top, right, bottom = ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox(
        (at[0] + int(20 * scale), at[1] + int(8 * scale)), "Save", font=font
    )
    return TextBox("Save", left, top, right, bottom)


def restyled_screen(
    at: tuple[tuple[int, int], ...] = ((1300, 650),),
    *,
    label: str = "Save",
    icon: tuple[int, int] | None = None,
    size: tuple[int, int] = (1920, 1080),
) -> tuple[Image.Image, list[TextBox]]:
    """The busy screen with the button redrawn in another style at each of ``at``: square,
    outlined, yellow, dark text twice the size, no round icon; the same ``label``.

    ``icon``: the offset of a small green square icon from the first label's centre.
    Returns the screen and the labels' boxes (what OCR reads there).
    """
    image = screen(at=None, size=size)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=30)
    boxes: list[TextBox] = []
    for bx, by in at:
        draw.rectangle([bx, by, bx + 190, by + 64], fill=(250, 225, 110), outline=(20, 20, 20), width=3)
        box = draw.textbbox((bx + 48, by + 14), label, font=font)
        draw.text((bx + 48, by + 14), label, fill=(25, 25, 25), font=font)
        boxes.append(TextBox(label, *box))
    if icon is not None and boxes:
        cx, cy = boxes[0].center
        draw.rectangle([cx + icon[0] - 9, cy + icon[1] - 9, cx + icon[0] + 9, cy + icon[1] + 9], fill=(20, 160, 60))
    return image, boxes

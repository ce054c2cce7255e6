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


# -- a plain window on a black desktop, like tests/apps/macro_button_window.py ----------------

WINDOW = (420, 150)
FIELD = (146, 11, 263, 18)  # left, top, width, height inside the window
SAVE = (146, 113, 128, 26)
CANCEL = (280, 113, 128, 26)
THEMES = {
    # window, text, field inside, field border, Save, Save text, Cancel
    "light": ((240, 240, 240), (32, 32, 32), (255, 255, 255), (136, 136, 136), (42, 111, 214), (255, 255, 255),
              (208, 208, 208)),
    "dark": ((32, 36, 40), (224, 224, 224), (48, 52, 56), (170, 170, 170), (214, 90, 42), (16, 16, 16),
             (80, 80, 80)),
}


def window_screen(
    at: tuple[tuple[int, int], ...] = ((300, 200),),
    *,
    theme: str = "light",
    field_text: str = "",
    restyled: bool = False,
    size: tuple[int, int] = (1920, 1080),
) -> Image.Image:
    """A black desktop with the test window at each of ``at``: a label, an empty text field,
    a line of text, a Save and a Cancel button, nothing else (``field_text`` typed in the field;
    ``restyled``: Save drawn another way altogether, square, outlined, yellow, larger text)."""
    window, text, inside, border, save, save_text, cancel = THEMES[theme]
    image = Image.new("RGB", size, (0, 0, 0))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    for wx, wy in at:
        draw.rectangle([wx, wy, wx + WINDOW[0] - 1, wy + WINDOW[1] - 1], fill=window)
        draw.text((wx + 11, wy + 12), "Customer name:", fill=text, font=font)
        fx, fy, fw, fh = FIELD
        draw.rectangle([wx + fx, wy + fy, wx + fx + fw - 1, wy + fy + fh - 1], fill=inside, outline=border)
        if field_text:
            draw.text((wx + fx + 4, wy + fy + 2), field_text, fill=text, font=font)
        draw.text((wx + 11, wy + 62), "Invoice 2026-114, due Friday", fill=text, font=font)
        for (bx, by, bw, bh), fill, label, ink in ((SAVE, save, "Save", save_text), (CANCEL, cancel, "Cancel", text)):
            if restyled and label == "Save":
                draw.rectangle([wx + bx - 2, wy + by - 16, wx + bx + bw + 2, wy + by + bh + 16], fill=(242, 214, 75),
                               outline=(0, 0, 0), width=3)
                draw.text((wx + bx + bw // 2, wy + by + bh // 2), label, fill=(0, 0, 0),
                          font=ImageFont.load_default(size=24), anchor="mm")
                continue
            draw.rounded_rectangle([wx + bx, wy + by, wx + bx + bw - 1, wy + by + bh - 1], radius=6, fill=fill)
            draw.text((wx + bx + bw // 2, wy + by + bh // 2), label, fill=ink, font=font, anchor="mm")
    return image


def window_point(what: str, at: tuple[int, int] = (300, 200)) -> tuple[int, int]:
    """The centre of the window's field or Save button, for a window at ``at``."""
    x, y, w, h = FIELD if what == "field" else SAVE
    return (at[0] + x + w // 2, at[1] + y + h // 2)

"""Text-dense screens rendered with PIL, for the OCR tests and benchmarks (no X server needed)."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
_WORDS = (
    "report meeting garden club library tickets members saturday window settings water "
    "tomatoes welcome secretary questions gloves seeds contact total thursday seven front "
    "desk opens nine daily bring your own key year pack available remember"
).split()


def dense_lines(count: int, seed: int = 7) -> list[str]:
    """``count`` distinct lines of three to nine words, the same for the same seed."""
    pick = random.Random(seed)
    lines: list[str] = []
    while len(lines) < count:
        line = " ".join(pick.choice(_WORDS) for _ in range(pick.randint(3, 9))).capitalize()
        if line not in lines:
            lines.append(line)
    return lines


def dense_page(
    lines: list[str],
    *,
    size: tuple[int, int] = (1920, 1080),
    columns: int = 2,
    font_px: int = 15,
    extra: dict[tuple[int, int], str] | None = None,
) -> Image:
    """``lines`` in ``columns`` columns on a white page, as a text-heavy web page or document.

    ``extra`` adds short labels at given points (a button's "Save"), for click by name.
    """
    from PIL import Image as PILImage
    from PIL import ImageDraw, ImageFont

    width, height = size
    image = PILImage.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, font_px)
    per_column = -(-len(lines) // columns)
    pitch = (height - 40) // max(1, per_column)
    for index, line in enumerate(lines):
        column, row = divmod(index, per_column)
        draw.text((30 + column * width // columns, 20 + row * pitch), line, fill=(25, 25, 25), font=font)
    for (x, y), label in (extra or {}).items():
        draw.text((x, y), label, fill=(25, 25, 25), font=font)
    return image

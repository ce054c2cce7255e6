"""Offline OCR with rapidocr (ONNX models shipped in the wheel): the real ``TextReader``.

What makes it fast, measured by scripts/bench_access.py: detection runs on the frame
scaled so its long side is at most ``det_side`` pixels (rapidocr's default scales the
*short* side up to 736, i.e. most of a 1080p frame); no angle classifier (screen text
is upright); recognition runs only on the detected boxes, row by row in reading order,
so the first line is out (and can be spoken) before the last is read; and a caller
reading a region or a window hands in only that crop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.access.layout import group_rows
from agent.errors import DeskpilotError
from agent.ports import TextBox

if TYPE_CHECKING:
    from PIL.Image import Image

log = logging.getLogger(__name__)


class OcrError(DeskpilotError):
    """The OCR engine cannot be loaded (rapidocr or onnxruntime missing or broken)."""


@dataclass(frozen=True)
class OcrSettings:
    det_side: int = 960  # detection's longest image side, in pixels
    min_score: float = 0.5  # recognitions below this confidence are dropped
    pad: int = 2  # pixels added around a detected box before it is recognised


class RapidReader:
    """``TextReader`` on rapidocr; the engine loads on first use (about a second), once."""

    def __init__(self, settings: OcrSettings | None = None) -> None:
        self.settings = settings or OcrSettings()
        self._engine: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._engine is None:
                try:
                    from rapidocr import RapidOCR
                except Exception as err:  # ImportError, or onnxruntime failing to load its library
                    raise OcrError(f"cannot load the OCR engine (rapidocr, onnxruntime): {err}") from None
                logging.getLogger("RapidOCR").setLevel(logging.ERROR)
                self._engine = RapidOCR(
                    params={
                        "Global.log_level": "error",
                        "Global.use_cls": False,
                        "Global.text_score": self.settings.min_score,
                        "Det.limit_type": "max",
                        "Det.limit_side_len": self.settings.det_side,
                    }
                )
            return self._engine

    def warm(self) -> None:
        """Load the engine now (a command says "Reading" first, then pays this)."""
        self._load()

    def detect(self, image: Image) -> list[TextBox]:
        """Where text is, as empty-text boxes in image pixels."""
        import numpy as np

        engine = self._load()
        pixels = _bgr(image)
        result = engine(pixels, use_det=True, use_cls=False, use_rec=False)
        if result.boxes is None:
            return []
        height, width = pixels.shape[:2]
        boxes: list[TextBox] = []
        for quad, score in zip(result.boxes, result.scores or [1.0] * len(result.boxes), strict=False):
            xs, ys = np.asarray(quad)[:, 0], np.asarray(quad)[:, 1]
            left, top = max(0, int(xs.min())), max(0, int(ys.min()))
            right, bottom = min(width, int(np.ceil(xs.max()))), min(height, int(np.ceil(ys.max())))
            if right - left >= 2 and bottom - top >= 2:
                boxes.append(TextBox("", left, top, right, bottom, float(score)))
        return boxes

    def recognise(self, image: Image, box: TextBox) -> TextBox | None:
        """The text inside ``box``; None when nothing legible is there."""
        engine = self._load()
        pad = self.settings.pad
        crop = image.crop(
            (
                max(0, box.left - pad),
                max(0, box.top - pad),
                min(image.width, box.right + pad),
                min(image.height, box.bottom + pad),
            )
        )
        result = engine(_bgr(crop), use_det=False, use_cls=False, use_rec=True)
        texts: tuple[str, ...] = tuple(result.txts or ())
        scores: tuple[float, ...] = tuple(result.scores or ())
        if not texts or not texts[0].strip() or float(scores[0]) < self.settings.min_score:
            return None
        return TextBox(texts[0].strip(), box.left, box.top, box.right, box.bottom, float(scores[0]))

    def rows(self, image: Image) -> Iterator[list[TextBox]]:
        """Rows of recognised boxes in reading order, each as soon as it is read."""
        for row in group_rows(self.detect(image)):
            read = [found for box in row if (found := self.recognise(image, box)) is not None]
            if read:
                yield read

    def read(self, image: Image) -> list[TextBox]:
        return [box for row in self.rows(image) for box in row]


def _bgr(image: Image) -> Any:
    """The image as the BGR uint8 array rapidocr (OpenCV) expects."""
    import numpy as np

    rgb = np.asarray(image.convert("RGB"))
    return np.ascontiguousarray(rgb[:, :, ::-1])

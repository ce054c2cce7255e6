"""Offline OCR with rapidocr (ONNX models shipped in the wheel): the real ``TextReader``.

What makes it fast, measured by scripts/bench_access.py: detection runs on the frame
scaled so its long side is at most ``det_side`` pixels (rapidocr's default scales the
*short* side up to 736, i.e. most of a 1080p frame); no angle classifier (screen text
is upright); recognition runs only on the detected boxes, in batches of crops of one
size (one engine call per box pays the call's overhead per box and leaves the batch
dimension idle), chunk by chunk of rows in reading order with the first row alone, so
the first line is out (and can be spoken) before the rest is read. Recognitions are
cached by the crop's pixels, and a frame that differs from the last one read in a
small area is detected again only there: re-reading a screen that barely changed
re-reads what changed.

The recognition model in the wheel (PP-OCRv6 small) takes a fixed input height of 48
pixels: onnxruntime rejects any other, so the input height is no lever here.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.access.layout import group_rows
from agent.access.matching import closeness
from agent.errors import DeskpilotError
from agent.ports import TextBox

if TYPE_CHECKING:
    from PIL.Image import Image

log = logging.getLogger(__name__)

Recognition = tuple[str, float]  # text and confidence, as the recognizer gives them
Area = tuple[int, int, int, int]  # x0, y0, x1, y1 in image pixels
# Crops are widened to the next multiple of this width/height ratio, so a batch holds
# crops of one size: at most about one glyph's width of background added to a line (wider
# buckets batch more but measured slower on 2 cores: the added width is computed too).
_BUCKET = 1.0


class OcrError(DeskpilotError):
    """The OCR engine cannot be loaded (rapidocr or onnxruntime missing or broken)."""


@dataclass(frozen=True)
class OcrSettings:
    det_side: int = 960  # detection's longest image side, in pixels
    min_score: float = 0.5  # recognitions below this confidence are dropped
    pad: int = 2  # pixels added around a detected box before it is recognised
    batch: int = 8  # crops per recognizer run; 1 recognises box by box
    chunk_boxes: int = 16  # boxes of the second chunk of rows (the first row goes alone; chunks double)
    cache_size: int = 4096  # recognitions kept, by crop content
    redetect_share: float = 0.3  # a change over more of the frame than this is detected afresh
    redetect_margin: int = 12  # pixels of context around a changed area detected again


@dataclass(frozen=True)
class _Seen:
    """The last frame read: its pixels and the boxes detected in it."""

    pixels: Any  # BGR uint8 array
    boxes: tuple[TextBox, ...]


class RapidReader:
    """``TextReader`` on rapidocr; the engine loads on first use (about a second), once."""

    def __init__(self, settings: OcrSettings | None = None) -> None:
        self.settings = settings or OcrSettings()
        self._engine: Any = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[bytes, Recognition] = OrderedDict()
        self._seen: _Seen | None = None

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
                        "Rec.rec_batch_num": max(1, self.settings.batch),
                    }
                )
            return self._engine

    def warm(self) -> None:
        """Load the engine now (a command says "Reading" first, then pays this)."""
        self._load()

    def forget(self) -> None:
        """Drop the cached recognitions and the last frame: the next read starts from nothing."""
        with self._lock:
            self._cache.clear()
            self._seen = None

    # -- detection -------------------------------------------------------------------

    def detect(self, image: Image) -> list[TextBox]:
        """Where text is, as empty-text boxes in image pixels."""
        return self._detect_pixels(_bgr(image))

    def _detect_pixels(self, pixels: Any, left: int = 0, top: int = 0) -> list[TextBox]:
        import numpy as np

        engine = self._load()
        result = engine(pixels, use_det=True, use_cls=False, use_rec=False)
        if result.boxes is None:
            return []
        height, width = pixels.shape[:2]
        boxes: list[TextBox] = []
        for quad, score in zip(result.boxes, result.scores or [1.0] * len(result.boxes), strict=False):
            xs, ys = np.asarray(quad)[:, 0], np.asarray(quad)[:, 1]
            x0, y0 = max(0, int(xs.min())), max(0, int(ys.min()))
            x1, y1 = min(width, int(np.ceil(xs.max()))), min(height, int(np.ceil(ys.max())))
            if x1 - x0 >= 2 and y1 - y0 >= 2:
                boxes.append(TextBox("", x0 + left, y0 + top, x1 + left, y1 + top, float(score)))
        return boxes

    def _boxes(self, pixels: Any) -> list[TextBox]:
        """The frame's text boxes; where a small area changed since the last frame, detected only there."""
        seen = self._seen
        area = None if seen is None else changed_area(seen.pixels, pixels)
        if seen is None or area is None:
            boxes = self._detect_pixels(pixels)
        elif area == (0, 0, 0, 0):
            boxes = list(seen.boxes)
        else:
            height, width = pixels.shape[:2]
            band = redetect_area(area, seen.boxes, width, height, self.settings.redetect_margin)
            x0, y0, x1, y1 = band
            if (x1 - x0) * (y1 - y0) > self.settings.redetect_share * width * height:
                boxes = self._detect_pixels(pixels)
            else:
                # Old boxes the change missed are unchanged; what the band shows where the
                # change is replaces the rest (neighbours seen in the band are the old ones).
                kept = [b for b in seen.boxes if not _touches(b, area)]
                fresh = [
                    b
                    for b in self._detect_pixels(pixels[y0:y1, x0:x1], x0, y0)
                    if _touches(b, area) and not any(_mostly_inside(b, k) for k in kept)
                ]
                boxes = kept + fresh
        self._seen = _Seen(pixels, tuple(boxes))
        return boxes

    # -- recognition -----------------------------------------------------------------

    def recognise_crops(self, crops: Sequence[Any]) -> list[Recognition]:
        """Text and confidence of each BGR crop, in one recognizer run (the seam tests count)."""
        from rapidocr.ch_ppocr_rec import TextRecInput

        if not crops:
            return []
        recognizer = self._load()._load_rec_model()
        result = recognizer(TextRecInput(img=list(crops)))
        return [(str(text), float(score)) for text, score in zip(result.txts, result.scores, strict=True)]

    def recognise_boxes(self, image: Image, boxes: Sequence[TextBox]) -> list[TextBox | None]:
        """The text inside each of ``boxes`` (None where nothing legible is), batched and cached."""
        return self._recognise(_bgr(image), boxes)

    def recognise(self, image: Image, box: TextBox) -> TextBox | None:
        """The text inside ``box``; None when nothing legible is there."""
        return self.recognise_boxes(image, [box])[0]

    def _recognise(self, pixels: Any, boxes: Sequence[TextBox]) -> list[TextBox | None]:
        import numpy as np

        pad = self.settings.pad
        height, width = pixels.shape[:2]
        crops, keys = [], []
        for box in boxes:
            top, bottom = max(0, box.top - pad), min(height, box.bottom + pad)
            left, right = max(0, box.left - pad), min(width, box.right + pad)
            crop = np.ascontiguousarray(pixels[top:bottom, left:right])
            crops.append(crop)
            keys.append(_key(crop))
        with self._lock:
            found: dict[bytes, Recognition] = {k: self._cache[k] for k in keys if k in self._cache}
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        if missing:
            where = {k: i for i, k in reversed(list(enumerate(keys)))}
            todo = [crops[where[k]] for k in missing]
            buckets = [ratio_bucket(c.shape[1], c.shape[0]) for c in todo]
            read: list[Recognition] = [("", 0.0)] * len(todo)
            for run in similar_batches(buckets, self.settings.batch):
                widened = [_widen(todo[i], buckets[i]) for i in run]
                for index, rec in zip(run, self.recognise_crops(widened), strict=True):
                    read[index] = rec
            found.update(zip(missing, read, strict=True))
            with self._lock:
                for key, rec in zip(missing, read, strict=True):
                    self._cache[key] = rec
                while len(self._cache) > self.settings.cache_size:
                    self._cache.popitem(last=False)
        out: list[TextBox | None] = []
        for box, key in zip(boxes, keys, strict=True):
            text, score = found[key]
            text = text.strip()
            good = bool(text) and score >= self.settings.min_score
            out.append(TextBox(text, box.left, box.top, box.right, box.bottom, score) if good else None)
        return out

    # -- reading ---------------------------------------------------------------------

    def rows(self, image: Image) -> Iterator[list[TextBox]]:
        """Rows of recognised boxes in reading order, each as soon as its chunk is read.

        The first row is recognised alone so the first line is out early; then rows go in
        chunks (``chunk_boxes`` boxes, doubling), which the recognizer batches by size.
        """
        pixels = _bgr(image)
        rows = group_rows(self._boxes(pixels))
        for chunk in _chunks(rows, self.settings.chunk_boxes):
            flat = [box for row in chunk for box in row]
            read = iter(self._recognise(pixels, flat))
            for row in chunk:
                done = [found for _ in row if (found := next(read)) is not None]
                if done:
                    yield done

    def read(self, image: Image) -> list[TextBox]:
        return [box for row in self.rows(image) for box in row]

    def read_for(self, image: Image, name: str) -> list[TextBox]:
        """Boxes to look for ``name`` in: those sized like the name first, the rest only if needed.

        A box that reads as the whole name is about as wide as the name's text, so when
        one of those matches, every whole match is among them (and whole matches win over
        words inside longer boxes); otherwise everything is read.
        """
        pixels = _bgr(image)
        boxes = self._boxes(pixels)
        fitting = [b for b in boxes if fits_name(b, name)]
        read = [b for b in self._recognise(pixels, fitting) if b is not None]
        if any(closeness(name, b.text) is not None for b in read):
            return _in_reading_order(read)
        others = [b for b in boxes if not fits_name(b, name)]
        read += [b for b in self._recognise(pixels, others) if b is not None]
        return _in_reading_order(read)


def ratio_bucket(width: int, height: int, step: float = _BUCKET) -> float:
    """The width/height ratio a crop is widened to: the next multiple of ``step`` (pure)."""
    return math.ceil(width / max(1, height) / step) * step


def similar_batches(buckets: Sequence[float], size: int) -> list[list[int]]:
    """Indexes of crops in batches of at most ``size`` crops of one ratio bucket, narrow first (pure)."""
    batches: list[list[int]] = []
    for index in sorted(range(len(buckets)), key=lambda i: buckets[i]):
        last = batches[-1] if batches else None
        if last is not None and len(last) < size and buckets[index] == buckets[last[0]]:
            last.append(index)
        else:
            batches.append([index])
    return batches


def _widen(crop: Any, bucket: float) -> Any:
    """``crop`` extended on the right with its own background to the ratio ``bucket``.

    The recognizer pads every crop of a batch to the widest with grey, and that padding
    changes what it reads; widening each crop to its bucket with background first, in
    batches and alone alike, gives every crop of a batch the same size, so the text read
    does not depend on the batching.
    """
    import numpy as np

    height, width = crop.shape[:2]
    target = max(width, math.ceil(bucket * height))
    if target == width:
        return crop
    background = np.median(crop[:, -1, :], axis=0).astype(np.uint8)
    wide = np.empty((height, target, crop.shape[2]), np.uint8)
    wide[:, :width] = crop
    wide[:, width:] = background
    return wide


def fits_name(box: TextBox, name: str) -> bool:
    """Whether ``box`` is about as wide as ``name`` written in a font of the box's height (pure).

    Generous on purpose: a glyph is 0.12 to 0.8 box heights wide (narrow Latin to wide CJK;
    a detected box is about 1.5 font sizes tall), plus a height of padding; a miss only
    costs reading everything.
    """
    length = len(name.strip())
    if length == 0 or box.height <= 0:
        return False
    return 0.12 * box.height * length <= box.width <= 0.8 * box.height * length + box.height


def changed_area(before: Any, after: Any) -> Area | None:
    """The box (x0, y0, x1, y1) around the pixels that differ: (0, 0, 0, 0) for none, None for a new size."""
    import numpy as np

    if before.shape != after.shape:
        return None
    diff = np.any(before != after, axis=2)
    rows, cols = np.flatnonzero(diff.any(axis=1)), np.flatnonzero(diff.any(axis=0))
    if rows.size == 0:
        return (0, 0, 0, 0)
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


def redetect_area(area: Area, boxes: Sequence[TextBox], width: int, height: int, margin: int) -> Area:
    """The area to detect again: the change grown by ``margin`` and by the old boxes it touches (pure).

    An old line the change cut into is detected whole again, not as a stump. Only boxes
    touching the change itself count: on a dense page the boxes of neighbouring lines
    overlap, and following them would creep down the whole column.
    """
    x0, y0 = max(0, area[0] - margin), max(0, area[1] - margin)
    x1, y1 = min(width, area[2] + margin), min(height, area[3] + margin)
    for box in boxes:
        if _touches(box, area):
            x0, y0 = min(x0, box.left), min(y0, box.top)
            x1, y1 = max(x1, box.right), max(y1, box.bottom)
    return (x0, y0, x1, y1)


def _mostly_inside(box: TextBox, other: TextBox) -> bool:
    """Whether more than half of ``box``'s area lies inside ``other`` (the same text, detected twice)."""
    shared_x = min(box.right, other.right) - max(box.left, other.left)
    shared_y = min(box.bottom, other.bottom) - max(box.top, other.top)
    return shared_x > 0 and shared_y > 0 and shared_x * shared_y > box.width * box.height / 2


def _touches(box: TextBox, area: Area) -> bool:
    x0, y0, x1, y1 = area
    return box.left < x1 and x0 < box.right and box.top < y1 and y0 < box.bottom


def _chunks(rows: list[list[TextBox]], size: int) -> Iterator[list[list[TextBox]]]:
    """The first row alone, then runs of rows holding about ``size`` boxes, doubling each time."""
    if not rows:
        return
    yield rows[:1]
    chunk: list[list[TextBox]] = []
    count = 0
    for row in rows[1:]:
        chunk.append(row)
        count += len(row)
        if count >= size:
            yield chunk
            # Later chunks grow: their lines are out ahead of speech by then, and bigger
            # chunks fill more batches of one size.
            chunk, count, size = [], 0, size * 2
    if chunk:
        yield chunk


def _in_reading_order(boxes: list[TextBox]) -> list[TextBox]:
    return [box for row in group_rows(boxes) for box in row]


def _key(crop: Any) -> bytes:
    """The crop's identity for the cache: its shape and a digest of its pixels."""
    digest = hashlib.blake2b(crop.tobytes(), digest_size=16)
    digest.update(repr(crop.shape).encode())
    return digest.digest()


def _bgr(image: Image) -> Any:
    """The image as the BGR uint8 array rapidocr (OpenCV) expects."""
    import numpy as np

    rgb = np.asarray(image.convert("RGB"))
    return np.ascontiguousarray(rgb[:, :, ::-1])

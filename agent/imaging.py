"""Pure image maths on PIL images: thumbnails, change detection, blank frames, crops and matching.

No screen, no disk: every function takes images and returns values, so it is tested
on synthetic pictures. Matching is normalised cross-correlation computed with numpy's
FFT, coarse to fine on big images, over grey levels or over edge maps (which survive a
colour or theme change).

Why not OpenCV, which is installed anyway (rapidocr needs opencv-python-headless):
``cv2.matchTemplate`` is about twice as fast on one full-size 1080p correlation (27 vs
55 ms for a 48 px template on 2 CPUs), but on this module's coarse-to-fine search it
measured the same (one 110x50 anchor on a busy 1080p screen: 8.5 vs 9.6 ms at one
scale, 18.5 vs 20.3 ms for four scales of edge maps), so the module keeps the design's
rule of importing PIL and numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np
    from PIL.Image import Image

DEFAULT_THUMB_SIZE: tuple[int, int] = (192, 108)

# Grey levels (of 255) a thumbnail pixel must move to count as changed. Each thumbnail
# pixel averages a block (10x10 at 1080p), and one full-contrast screen pixel moves its
# block by 2.55, so any visible change counts; it only absorbs the rounding of averages.
PIXEL_THRESHOLD = 2

# The fraction of thumbnail pixels that may change between polls and still count as
# "no change": about 10 of 192x108, i.e. a 30x30-pixel patch at 1080p. That ignores a
# blinking caret, a small spinner or a tray clock, each of which would otherwise keep
# the screen "unsettled" until the timeout on every step; a menu, dialog, page or
# window change is orders of magnitude larger. Pass tolerance=0 to react to any change:
# a real caret blinks every 500 ms or so, longer than quiet_s, so it then costs at most
# one more quiet period rather than the whole timeout.
DEFAULT_TOLERANCE = 0.0005


def thumbnail(image: Image, size: tuple[int, int] = DEFAULT_THUMB_SIZE) -> Image:
    """A small greyscale copy for change detection; an image already that small is kept.

    ``reduce`` by a whole factor box-averages, so a change anywhere in a block still
    moves its thumbnail pixel; the result is within one block of ``size``.
    """
    image = box_reduce(image, size)
    return image if image.mode == "L" else image.convert("L")


def box_reduce(image: Image, size: tuple[int, int]) -> Image:
    """``image`` box-reduced by the whole factor that brings it nearest ``size``, any mode."""
    factor = max(1, min(image.width // size[0], image.height // size[1]))
    return image.reduce(factor) if factor > 1 else image


def changed_fraction(before: Image, after: Image, pixel_threshold: int = PIXEL_THRESHOLD) -> float:
    """The fraction of pixels whose grey level moved by more than ``pixel_threshold``.

    Thumbnails of different sizes (the monitor changed resolution) differ entirely.
    """
    from PIL import ImageChops

    if before.size != after.size:
        return 1.0
    counts = ImageChops.difference(thumbnail(before, before.size), thumbnail(after, after.size)).histogram()
    return sum(counts[pixel_threshold + 1 :]) / (after.width * after.height)


# A frame is blank (a locked screen, a screen curtain, a black Xvfb) when almost none of
# its pixels stand out from its most common grey: fewer than BLANK_DETAIL of them by more
# than BLANK_LEVEL grey levels, after a 4x box reduction. A lone 14-pixel "OK" on 1080p
# leaves 13 such pixels of 129,600 (0.0001); the limit is half that. JPEG or dithering
# noise on a flat screen moves pixels by a few levels, far below BLANK_LEVEL.
BLANK_LEVEL = 24
BLANK_DETAIL = 0.00005
_BLANK_SIZE = (480, 270)  # a 4x box reduction of 1080p keeps a text stroke visible


def is_blank(image: Image, level: int = BLANK_LEVEL, detail: float = BLANK_DETAIL) -> bool:
    """Whether ``image`` shows nothing: near-uniform, whatever its colour (pure; no model needed)."""
    small = box_reduce(image, _BLANK_SIZE).convert("L")
    counts = small.histogram()
    mode = max(range(256), key=counts.__getitem__)
    near = sum(counts[max(0, mode - level) : min(256, mode + level + 1)])
    total = small.width * small.height
    return (total - near) / total < detail


# Grey levels (of 255) a pixel must differ from its neighbourhood's median to count as
# part of some structure (a glyph, an icon, a border) rather than background.
STRUCTURE_CONTRAST = 32


@dataclass(frozen=True)
class Structure:
    """The structure nearest a point: its longer side and how far the point is from it (pixels)."""

    side: int  # 0: nothing stands out within the radius
    distance: float  # 0 when the point is on it


def structure_size_near(image: Image, xy: tuple[float, float], radius: int) -> int:
    """The longer side of the structure nearest ``xy`` within ``radius`` (see ``structure_near``)."""
    return structure_near(image, xy, radius).side


def structure_near(image: Image, xy: tuple[float, float], radius: int) -> Structure:
    """The longer side, in pixels, of the structure nearest ``xy`` within ``radius``.

    Structure is the 4-connected set of pixels that stand out from the median grey of
    the ``2*radius+1`` square around the point; the one whose pixel is nearest the point
    is measured. 0 means nothing stands out there: a uniform area at least the square's
    size (background, or the inside of a large button or panel); a structure that
    reaches the square's border reports the square's side (at least that big).
    """
    import numpy as np

    x, y = int(xy[0]), int(xy[1])
    left, top = max(0, x - radius), max(0, y - radius)
    right, bottom = min(image.width, x + radius + 1), min(image.height, y + radius + 1)
    if right <= left or bottom <= top:
        return Structure(0, 0.0)
    grey = np.asarray(image.crop((left, top, right, bottom)).convert("L"), dtype=np.int16)
    mask = np.abs(grey - int(np.median(grey))) > STRUCTURE_CONTRAST
    if not mask.any():
        return Structure(0, 0.0)
    rows, cols = np.nonzero(mask)
    squared = (rows - (y - top)) ** 2 + (cols - (x - left)) ** 2
    nearest = int(np.argmin(squared))
    distance = float(np.sqrt(squared[nearest]))
    seed = (int(rows[nearest]), int(cols[nearest]))
    height, width = int(mask.shape[0]), int(mask.shape[1])
    seen = np.zeros_like(mask)
    seen[seed] = True
    stack = [seed]
    min_r = max_r = seed[0]
    min_c = max_c = seed[1]
    while stack:  # flood fill of one component: at most the square's pixels
        r, c = stack.pop()
        min_r, max_r, min_c, max_c = min(min_r, r), max(max_r, r), min(min_c, c), max(max_c, c)
        for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= nr < height and 0 <= nc < width and mask[nr, nc] and not seen[nr, nc]:
                seen[nr, nc] = True
                stack.append((nr, nc))
    if min_r == 0 or min_c == 0 or max_r == height - 1 or max_c == width - 1:
        return Structure(max(height, width), distance)
    return Structure(int(max(max_r - min_r + 1, max_c - min_c + 1)), distance)


def mark_point(image: Image, xy: tuple[float, float], radius: int = 12) -> Image:
    """A copy of ``image`` with a ring and crosshair at ``xy``, in red on a white halo."""
    from PIL import ImageDraw

    marked = image.convert("RGB")
    draw = ImageDraw.Draw(marked)
    x, y = xy
    for colour, width in (((255, 255, 255), 5), ((230, 0, 0), 2)):
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), outline=colour, width=width)
        draw.line((x - 2 * radius, y, x + 2 * radius, y), fill=colour, width=width - 2 or 1)
        draw.line((x, y - 2 * radius, x, y + 2 * radius), fill=colour, width=width - 2 or 1)
    return marked


# -- template matching ------------------------------------------------------------------

MatchKind = Literal["gray", "edges"]

# Above this many pixels a search first runs on a half-size copy, then refines the best
# candidates at full size: a 1080p FFT costs about 4x a 960x540 one.
_COARSE_ABOVE_PIXELS = 400_000
# A template must keep at least this many pixels per side at the coarse level to say anything.
_MIN_COARSE_SIDE = 10
# Candidates refined at full size after a coarse search.
_CANDIDATES = 3
# Grey-level standard deviation under which a patch is "flat": it matches everything equally.
_FLAT_STD = 2.0


@dataclass(frozen=True)
class Box:
    """A rectangle in image pixels: left, top, width, height."""

    left: int
    top: int
    width: int
    height: int

    @property
    def center(self) -> tuple[int, int]:
        return (self.left + self.width // 2, self.top + self.height // 2)

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.left, self.top, self.left + self.width, self.top + self.height)


@dataclass(frozen=True)
class Match:
    """Where a template was found: its box in the searched image, the score (NCC, -1..1),
    the scale the template was resized by and the representation that matched."""

    box: Box
    score: float
    scale: float = 1.0
    kind: MatchKind = "gray"


def gray_array(image: Image) -> np.ndarray:
    """The image's grey levels as float32 (0..255)."""
    import numpy as np

    return np.asarray(image.convert("L"), dtype=np.float32)


# Gradient magnitudes are clipped here (grey levels per pixel): any clear edge counts the
# same, however strong. Unclipped, a window's border against a black desktop (240 levels)
# outweighs every edge inside the window, and the same border against the same desktop
# in a dark theme (35 levels) hardly counts: the edge map of a crop that touches it
# changes with the theme far more than the target does.
EDGE_CLIP = 48.0


def edge_array(gray: np.ndarray) -> np.ndarray:
    """Gradient magnitude of a grey array: the same for a dark-on-light and a light-on-dark button."""
    import numpy as np

    padded = np.pad(gray, 1, mode="edge")
    gx = padded[1:-1, 2:] - padded[1:-1, :-2]
    gy = padded[2:, 1:-1] - padded[:-2, 1:-1]
    return np.asarray(np.minimum(np.abs(gx) + np.abs(gy), EDGE_CLIP), dtype=np.float32)


def _fast_len(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= n: pocketfft is several times faster on such sizes."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


class _Plane:
    """One searchable array with what every template search over it shares: its spectrum and
    integral images (so a window's mean and variance cost four lookups, whatever its size)."""

    def __init__(self, values: np.ndarray) -> None:
        import numpy as np

        self.values = np.asarray(values, dtype=np.float32)
        h, w = self.values.shape
        # Circular correlation at this size is exact at every valid position: a window
        # that fits never wraps around.
        self.shape = (_fast_len(h), _fast_len(w))
        self._spectrum: np.ndarray | None = None
        v64 = self.values.astype(np.float64)
        self.integral = np.zeros((h + 1, w + 1), dtype=np.float64)
        self.integral[1:, 1:] = v64.cumsum(0).cumsum(1)
        self.integral_sq = np.zeros((h + 1, w + 1), dtype=np.float64)
        self.integral_sq[1:, 1:] = (v64 * v64).cumsum(0).cumsum(1)

    @property
    def spectrum(self) -> np.ndarray:
        import numpy as np

        if self._spectrum is None:
            self._spectrum = np.fft.rfft2(self.values, self.shape)
        return self._spectrum

    def window_sums(self, h: int, w: int, squared: bool = False) -> np.ndarray:
        i = self.integral_sq if squared else self.integral
        return i[h:, w:] - i[:-h, w:] - i[h:, :-w] + i[:-h, :-w]

    def ncc(self, template: np.ndarray) -> np.ndarray:
        import numpy as np

        ih, iw = self.values.shape
        th, tw = template.shape
        if th > ih or tw > iw:
            return np.zeros((0, 0), dtype=np.float32)
        t = template.astype(np.float32) - np.float32(template.mean())
        t_norm = float(np.sqrt((t.astype(np.float64) ** 2).sum()))
        if t_norm < 1e-6:
            return np.zeros((ih - th + 1, iw - tw + 1), dtype=np.float32)
        if th * tw <= 64:  # tiny templates only: a sliding view copies every window
            corr = _direct_correlation(self.values, t)
        else:
            spectrum = self.spectrum * np.conj(np.fft.rfft2(t, self.shape))
            corr = np.fft.irfft2(spectrum, self.shape)[: ih - th + 1, : iw - tw + 1]
        n = th * tw
        sums = self.window_sums(th, tw)
        variance = np.maximum(self.window_sums(th, tw, squared=True) - sums * sums / n, 0.0)
        flat = variance < (_FLAT_STD**2) * n
        out = np.where(flat, 0.0, corr / np.where(flat, 1.0, np.sqrt(variance) * t_norm))
        return np.asarray(np.clip(out, -1.0, 1.0), dtype=np.float32)


def _direct_correlation(image: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Plain sliding correlation, for windows too small for the FFT to pay off."""
    from numpy.lib.stride_tricks import sliding_window_view

    windows = sliding_window_view(image, t.shape)
    return windows.reshape(*windows.shape[:2], -1) @ t.reshape(-1)  # type: ignore[no-any-return]


def ncc_map(image: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Normalised cross-correlation of ``template`` at every valid position of ``image``.

    The result has shape (H - h + 1, W - w + 1) with values in -1..1; windows with no
    contrast score 0 (they look like anything). An image smaller than the template
    gives an empty map.
    """
    return _Plane(image).ncc(template)


def _peaks(scores: np.ndarray, count: int, exclude: tuple[int, int]) -> list[tuple[int, int, float]]:
    """The ``count`` best positions (x, y, score), each at least ``exclude`` (w, h) from the others."""
    import numpy as np

    work = scores.copy()
    found: list[tuple[int, int, float]] = []
    ew, eh = exclude
    for _ in range(count):
        if work.size == 0:
            break
        flat_index = int(np.argmax(work))
        y, x = divmod(flat_index, work.shape[1])
        score = float(work[y, x])
        if not np.isfinite(score) or score <= -1.0:
            break
        found.append((x, y, score))
        work[max(0, y - eh) : y + eh + 1, max(0, x - ew) : x + ew + 1] = -np.inf
    return found


def _represent(gray: np.ndarray, kind: MatchKind) -> np.ndarray:
    return gray if kind == "gray" else edge_array(gray)


def resize_gray(gray: np.ndarray, scale: float) -> np.ndarray:
    import numpy as np
    from PIL import Image as PILImage

    if scale == 1.0:
        return gray
    h, w = gray.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    picture = PILImage.fromarray(np.clip(gray, 0, 255).astype(np.uint8), mode="L")
    return np.asarray(picture.resize(size, PILImage.Resampling.BILINEAR), dtype=np.float32)


def _half(gray: np.ndarray) -> np.ndarray:
    """A 2x box-reduced copy (odd edges dropped)."""
    h, w = (gray.shape[0] // 2) * 2, (gray.shape[1] // 2) * 2
    import numpy as np

    g = gray[:h, :w]
    return np.asarray((g[0::2, 0::2] + g[1::2, 0::2] + g[0::2, 1::2] + g[1::2, 1::2]) / 4.0)


class Haystack:
    """A grey image to search many templates in: its pyramid levels and their spectra are
    computed once, on first use, and shared by every search (scales, kinds, anchors)."""

    def __init__(self, gray: np.ndarray) -> None:
        self.gray = gray
        self._grays: dict[int, np.ndarray] = {1: gray}
        self._planes: dict[tuple[int, MatchKind], _Plane] = {}

    @classmethod
    def of(cls, image: Image) -> Haystack:
        return cls(gray_array(image))

    @property
    def size(self) -> tuple[int, int]:
        return (self.gray.shape[1], self.gray.shape[0])

    def level(self, factor: int) -> np.ndarray:
        if factor not in self._grays:
            self._grays[factor] = _half(self.level(factor // 2))
        return self._grays[factor]

    def plane(self, factor: int, kind: MatchKind) -> _Plane:
        key = (factor, kind)
        if key not in self._planes:
            self._planes[key] = _Plane(_represent(self.level(factor), kind))
        return self._planes[key]


def _coarse_factor(haystack_pixels: int, template: np.ndarray) -> int:
    """How much to shrink before a whole-image search: as much as the template survives."""
    factor = 1
    side = min(template.shape)
    while (
        factor < 4
        and haystack_pixels // (factor * factor) > _COARSE_ABOVE_PIXELS // 4
        and side // (factor * 2) >= _MIN_COARSE_SIDE
    ):
        factor *= 2
    return factor


def search(
    haystack: Haystack | np.ndarray,
    template: np.ndarray,
    *,
    kind: MatchKind = "gray",
    candidates: int = 1,
    factor: int | None = None,
) -> list[Match]:
    """The best places for ``template`` (a grey array) in ``haystack``, best first.

    On a big haystack the search runs on a shrunk copy (by ``factor``, chosen from the
    template's size unless given) and refines each candidate at full size in a small
    window, which finds the same peak for templates that survive the shrinking.
    """
    import numpy as np

    if not isinstance(haystack, Haystack):
        haystack = Haystack(haystack)
    th, tw = template.shape
    if factor is None:
        factor = _coarse_factor(haystack.gray.size, template)
    if factor == 1:
        scores = haystack.plane(1, kind).ncc(_represent(template, kind))
        return [
            Match(Box(x, y, tw, th), s, 1.0, kind)
            for x, y, s in _peaks(scores, candidates, (tw // 2, th // 2))
        ]
    small_t = template
    f = 1
    while f < factor:
        small_t, f = _half(small_t), f * 2
    small = haystack.plane(factor, kind).ncc(_represent(small_t, kind))
    rough = _peaks(
        small, max(candidates, _CANDIDATES), (max(1, small_t.shape[1] // 2), max(1, small_t.shape[0] // 2))
    )
    refined: list[Match] = []
    pad = 2 * factor
    for cx, cy, _ in rough:
        left, top = max(0, factor * cx - pad), max(0, factor * cy - pad)
        window = haystack.gray[top : top + th + 2 * pad, left : left + tw + 2 * pad]
        local = ncc_map(_represent(window, kind), _represent(template, kind))
        if local.size == 0:
            continue
        y, x = np.unravel_index(int(np.argmax(local)), local.shape)
        refined.append(Match(Box(left + int(x), top + int(y), tw, th), float(local[y, x]), 1.0, kind))
    refined.sort(key=lambda m: m.score, reverse=True)
    unique: list[Match] = []
    for m in refined:
        # Refining can pull two rough peaks onto one place: keep that place once.
        if all(
            abs(m.box.left - u.box.left) > tw // 4 or abs(m.box.top - u.box.top) > th // 4 for u in unique
        ):
            unique.append(m)
    return unique[:candidates]


def _window(haystack: Haystack | np.ndarray, within: Box | None) -> tuple[Haystack, int, int]:
    """The part of ``haystack`` inside ``within`` (all of it for None), and where that part starts."""
    if not isinstance(haystack, Haystack):
        haystack = Haystack(haystack)
    if within is None:
        return haystack, 0, 0
    x0, y0 = max(0, within.left), max(0, within.top)
    return Haystack(haystack.gray[y0 : within.top + within.height, x0 : within.left + within.width]), x0, y0

def find_template(
    haystack: Haystack | np.ndarray,
    template: np.ndarray,
    *,
    scales: Sequence[float] = (1.0,),
    kinds: Sequence[MatchKind] = ("gray",),
    within: Box | None = None,
    good_enough: float = 2.0,
) -> Match | None:
    """The best match of ``template`` over ``scales`` and ``kinds``, inside ``within`` if given.

    Boxes are in haystack pixels whatever window was searched. The search stops early
    at a score of ``good_enough``. None when the template has no contrast or fits nowhere.
    """
    target, offset_x, offset_y = _window(haystack, within)
    best: Match | None = None
    for kind in kinds:
        for scale in scales:
            scaled = resize_gray(template, scale)
            if scaled.shape[0] < 4 or scaled.shape[1] < 4 or float(scaled.std()) < _FLAT_STD:
                continue
            for m in search(target, scaled, kind=kind):
                if best is None or m.score > best.score:
                    box = Box(m.box.left + offset_x, m.box.top + offset_y, m.box.width, m.box.height)
                    best = Match(box, m.score, scale, kind)
            if best is not None and best.score >= good_enough:
                return best
    return best


def rivals(
    haystack: Haystack | np.ndarray,
    template: np.ndarray,
    match: Match,
    *,
    within: Box | None = None,
    count: int = 2,
) -> list[Match]:
    """The best places for ``template`` other than ``match``'s, at its scale and kind, best first.

    What a match has to beat to count as unique: a second place that scores as well
    means the template alone cannot tell the two apart. Places overlapping the match by
    more than three quarters of its size are the match itself, not a rival.
    """
    target, offset_x, offset_y = _window(haystack, within)
    scaled = resize_gray(template, match.scale)
    if scaled.shape[0] < 4 or scaled.shape[1] < 4 or float(scaled.std()) < _FLAT_STD:
        return []
    out: list[Match] = []
    # Edge maps do not survive shrinking well: a coarse edge search can miss a twin that
    # scores as well as the match at full size, so rivals in edges are looked for there.
    factor = 1 if match.kind == "edges" else None
    for m in search(target, scaled, kind=match.kind, candidates=count + 1, factor=factor):
        box = Box(m.box.left + offset_x, m.box.top + offset_y, m.box.width, m.box.height)
        dx, dy = abs(box.left - match.box.left), abs(box.top - match.box.top)
        if dx > box.width // 4 or dy > box.height // 4:
            out.append(Match(box, m.score, match.scale, match.kind))
    return out[:count]


def span_box(size: tuple[int, int], point: tuple[int, int], half_w: int, half_h: int) -> Box:
    """A ``2*half_w`` by ``2*half_h`` box around ``point``, shifted to stay inside an image of ``size``."""
    width, height = size
    side_w, side_h = min(2 * half_w, width), min(2 * half_h, height)
    left = min(max(0, point[0] - half_w), width - side_w)
    top = min(max(0, point[1] - half_h), height - side_h)
    return Box(left, top, side_w, side_h)


def crop_box(size: tuple[int, int], point: tuple[int, int], half: int) -> Box:
    """A square of side ``2 * half`` around ``point``, shifted to stay inside an image of ``size``."""
    return span_box(size, point, half, half)


@dataclass(frozen=True)
class AnchorCrop:
    """A crop around a point grown until it matches nowhere else (or marked ambiguous)."""

    box: Box
    ambiguous: bool
    runner_up: float  # the best grey score anywhere else on the screen
    # The best edge-map score anywhere else: what a replay's edge tier must beat by a
    # gap (-1: not measured, for an ambiguous crop).
    edge_runner_up: float = -1.0


# How far, in pixels, a rival's box may lie from the crop's own and still be the same
# place: a peak found again a pixel or two off, not a second target.
SAME_PLACE_PX = 3


def _runner_up(haystack: Haystack, template: np.ndarray, box: Box, kind: MatchKind) -> tuple[float, int, int]:
    """The best score of ``template`` away from its own place, and that place's offset (dx, dy)."""
    # At full size for edge maps, as in ``rivals``: what a replay's edge tier would meet.
    for m in search(haystack, template, kind=kind, candidates=3, factor=1 if kind == "edges" else None):
        dx, dy = m.box.left - box.left, m.box.top - box.top
        if abs(dx) > SAME_PLACE_PX or abs(dy) > SAME_PLACE_PX:
            return m.score, dx, dy
    return -1.0, 0, 0


def distinctive_crop(
    gray: Haystack | np.ndarray,
    point: tuple[int, int],
    *,
    halves: Sequence[int] = (24, 36, 48, 72, 96, 144, 192),
    max_elsewhere: float = 0.85,
    max_edges_elsewhere: float = 0.70,
) -> AnchorCrop:
    """Grow a crop around ``point`` until its best match away from itself scores under ``max_elsewhere``.

    The crop grows along the axis its best rival is displaced in, not as a square: a
    text field, found again shifted along itself, grows wider until it takes in both
    of its ends; a button beside its look-alike grows across the pair. It stays about
    the target instead of reaching the window's edge, whose contrast against a dark
    desktop would dominate the match and make every shifted window look alike.

    Replay falls back to edge maps, so the crop keeps growing until its edge map too
    scores under ``max_edges_elsewhere`` elsewhere. When it never does, the smallest
    crop distinct in grey is kept, with its edge runner-up (the edge tier then has to
    beat that). A crop with no contrast grows both ways (a plain patch matches
    everywhere). When no crop is distinct in grey, the largest is returned ambiguous.
    """
    haystack = gray if isinstance(gray, Haystack) else Haystack(gray)
    gray = haystack.gray
    size = (gray.shape[1], gray.shape[0])
    wi = hi = 0  # indexes into ``halves``: the half width and the half height
    top = len(halves) - 1
    last = AnchorCrop(span_box(size, point, halves[-1], halves[-1]), True, 1.0)
    distinct: AnchorCrop | None = None  # the smallest crop distinct in grey
    while True:
        box = span_box(size, point, halves[wi], halves[hi])
        template = gray[box.top : box.top + box.height, box.left : box.left + box.width]
        dx = dy = 1
        if float(template.std()) >= _FLAT_STD:
            runner_up, dx, dy = _runner_up(haystack, template, box, "gray")
            if runner_up < max_elsewhere:
                edges, dx, dy = _runner_up(haystack, template, box, "edges")
                crop = AnchorCrop(box, False, runner_up, edges)
                if edges < max_edges_elsewhere:
                    return crop
                distinct = distinct or crop
            elif distinct is None:
                last = AnchorCrop(box, True, runner_up)
        if wi == top and hi == top:
            return distinct or last
        # Grow across the rival's displacement: along the axis it is displaced in more,
        # relative to the crop's sides (both when about equal, or when one is done).
        rel_x, rel_y = abs(dx) / box.width, abs(dy) / box.height
        grow_x = wi < top and (rel_x >= rel_y / 2 or hi == top)
        grow_y = hi < top and (rel_y >= rel_x / 2 or wi == top)
        wi, hi = wi + grow_x, hi + grow_y


def core_box(crop_size: tuple[int, int], offset: tuple[int, int], half: int = 20) -> Box:
    """The part of an anchor crop right around its point: what must really be there to act."""
    return crop_box(crop_size, offset, half)


def verify_core(
    haystack: Haystack | np.ndarray, template: np.ndarray, core: Box, match: Match, *, slack: int = 3
) -> float:
    """How well ``core`` (a box of ``template``) matches where ``match`` puts it, within ``slack`` pixels.

    A large crop is found by its context, which a screen can keep while the target itself
    is gone (a removed button leaves its window around it). Checking the small core at
    the matched place, at the match's scale and kind, tells the two apart.
    """
    import numpy as np

    gray = haystack.gray if isinstance(haystack, Haystack) else haystack
    piece = template[core.top : core.top + core.height, core.left : core.left + core.width]
    piece = resize_gray(piece, match.scale)
    left = match.box.left + round(core.left * match.scale) - slack
    top = match.box.top + round(core.top * match.scale) - slack
    x0, y0 = max(0, left), max(0, top)
    window = gray[y0 : top + piece.shape[0] + 2 * slack, x0 : left + piece.shape[1] + 2 * slack]
    if window.shape[0] < piece.shape[0] or window.shape[1] < piece.shape[1]:
        return -1.0
    if float(piece.std()) < _FLAT_STD:
        # A plain core (a blank text area): it is "there" when the place is just as plain,
        # in the same grey for a grey match (an edge match allows a new colour).
        spot = window[slack : slack + piece.shape[0], slack : slack + piece.shape[1]]
        plain = float(spot.std()) < _FLAT_STD
        same = match.kind == "edges" or abs(float(spot.mean()) - float(piece.mean())) < 12
        return 1.0 if plain and same else 0.0
    scores = ncc_map(_represent(window, match.kind), _represent(piece, match.kind))
    return float(np.max(scores)) if scores.size else -1.0

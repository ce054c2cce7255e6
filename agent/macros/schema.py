"""The macro file: one versioned JSON document, steps in the agent's action vocabulary, anchors inside.

Format (``"version": 1``), chosen over a zip so a person can read and diff it::

    {"version": 1, "name": "...", "created_at": "...", "source": "recorded" | "run",
     "monitor": {"left": 0, "top": 0, "width": 1920, "height": 1080, "scale": 1.0},
     "steps": [{"action": {"action": "left_click", "x": 460, "y": 320}, "delay_s": 0.8,
                "anchor": {"crop": "<base64 PNG>", "box": [436, 296, 48, 48], "offset": [24, 24], ...}},
               {"action": {"action": "type", "text": "hello {name}"}, "delay_s": 0.3}]}

``action`` is ``ScreenAction.to_json_dict()``: the action name, the screen point (x, y)
it was recorded at, and the other arguments. Anchor crops are PNGs in base64, in
captured pixels of the recording monitor. The file holds typed text: it is written 0600.

``text`` is what offline OCR read on the context crop when the anchor was cut: the
target's own text (``anchors.own_text``: under the point, inside the accessible
element's box, or its label by the element's name), never a neighbour's, "" when
there is none. ``text_box`` is where that box was,
as ``[left, top, width, height]`` in recorded capture pixels *relative to the point*
(a label to the left of an icon has a negative left and a left + width <= 0). Tier
(c-ocr) finds the text again and puts the point back at this relation to it, so an
icon beside its label is found through the label.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agent.actions import ACTION_ADAPTER, MAX_WAIT_SECONDS, Action, ScreenAction, Type
from agent.errors import ConfigError
from agent.records.files import write_private_atomic
from agent.validation import one_line

if TYPE_CHECKING:
    from PIL.Image import Image

MACRO_VERSION: Literal[1] = 1
# An anchor image is a crop of one monitor: no side is ever longer than an 8K monitor's,
# and a file that claims more (a decompression bomb) is refused before any pixel is decoded.
MAX_ANCHOR_SIDE = 8192
MAX_ANCHOR_PIXELS = 7680 * 4320
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
POINTER_ACTIONS = frozenset(
    {
        "mouse_move",
        "left_click",
        "right_click",
        "middle_click",
        "double_click",
        "triple_click",
        "left_click_drag",
    }
)
# ``{name}`` is a variable; ``{{`` and ``}}`` are a literal brace, as in str.format, so
# recorded text that holds braces replays as typed (the recorder writes them doubled).
_VARIABLE = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Monitor(BaseModel):
    """The monitor a macro was recorded on, in input units, and its captured pixels per unit."""

    model_config = ConfigDict(extra="forbid")

    left: int = 0
    top: int = 0
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    scale: float = Field(default=1.0, gt=0)


class ElementRef(BaseModel):
    """The accessible element a step's click was on when recorded: found again by role, name and path.

    ``path`` is the chain of child indices from its application (ties between elements
    of one role and name); ``window`` the title of its window then, for people.
    """

    model_config = ConfigDict(extra="forbid")

    role: str = Field(min_length=1)
    name: str = ""
    path: list[int] = Field(default_factory=list)
    window: str = ""


class Anchor(BaseModel):
    """What the target looked like: a distinctive crop, where the point sits in it, and context."""

    model_config = ConfigDict(extra="forbid")

    crop: str  # base64 PNG, captured pixels
    box: tuple[int, int, int, int]  # the crop's left, top, width, height on the recorded capture
    offset: tuple[int, int]  # the point inside the crop
    ambiguous: bool = False  # the largest crop tried still matched elsewhere on the screen
    # The crop's best edge-map score elsewhere on the recorded screen: a replay's edge
    # tier must beat it by the uniqueness gap (None: not measured, an older anchor).
    edge_runner_up: float | None = None
    context: str = ""  # a wider base64 PNG around the point, for people and later tiers
    text: str = ""  # text under and near the point (OCR), "" when none was read
    # Where ``text`` was, relative to the point (left, top, width, height; capture pixels).
    text_box: tuple[int, int, int, int] | None = None
    window_title: str | None = None
    description: str = ""  # a one-line description of the target, for model grounding
    variants: list[str] = Field(default_factory=list)  # other looks (base64 PNG), from --update-anchors
    # The accessible element under the point when recorded (None: no tree, or an older macro):
    # replay's first tier, which a restyle, a new scale or a moved window does not defeat.
    element: ElementRef | None = None

    @field_validator("crop")
    @classmethod
    def _crop_is_png(cls, value: str) -> str:
        png_size(value, "the anchor crop")
        return value

    @field_validator("context")
    @classmethod
    def _context_is_png(cls, value: str) -> str:
        if value:
            png_size(value, "the anchor's context image")
        return value

    @field_validator("variants")
    @classmethod
    def _variants_are_png(cls, value: list[str]) -> list[str]:
        for variant in value:
            png_size(variant, "an anchor variant")
        return value

    @model_validator(mode="after")
    def _crop_fits_its_box(self) -> Anchor:
        size = png_size(self.crop, "the anchor crop")
        if size != (self.box[2], self.box[3]):
            raise ValueError(
                f"the anchor crop is {size[0]}x{size[1]} but its box says {self.box[2]}x{self.box[3]}"
            )
        return self


class MacroStep(BaseModel):
    """One action, how long after the previous one it was done, and its anchor (pointer steps)."""

    model_config = ConfigDict(extra="forbid")

    action: dict[str, Any]
    delay_s: float = Field(default=0.0, ge=0.0, le=3600.0)
    anchor: Anchor | None = None

    @field_validator("action")
    @classmethod
    def _valid_action(cls, value: dict[str, Any]) -> dict[str, Any]:
        build_action(value)  # raises ValueError with the reason
        return value

    @property
    def name(self) -> str:
        return str(self.action.get("action", "?"))

    @property
    def point(self) -> tuple[int, int] | None:
        x, y = self.action.get("x"), self.action.get("y")
        if x is None or y is None:
            return None
        return (int(x), int(y))

    @property
    def needs_anchor(self) -> bool:
        """Pointer steps (and scrolls aimed at a point) must be found on screen before they run."""
        return self.name in POINTER_ACTIONS or self.point is not None


class Macro(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = MACRO_VERSION
    name: str = ""
    created_at: str = ""
    source: Literal["recorded", "run", "edited"] = "recorded"
    # The run a "run" macro was made from (its id in the history): its screens are the
    # training data a macro's crops cannot be (deskpilot export-finetune).
    run_id: str = ""
    monitor: Monitor
    steps: list[MacroStep] = Field(default_factory=list)


def build_action(flat: dict[str, Any]) -> Action:
    """The typed action of a step's flat form; ValueError with the reason when it is none."""
    if not isinstance(flat.get("action"), str):
        raise ValueError("a step's action needs an 'action' name")
    args = {k: v for k, v in flat.items() if k not in ("x", "y")}
    x, y = flat.get("x"), flat.get("y")
    has_point = x is not None and y is not None
    if has_point and not (isinstance(x, int) and isinstance(y, int)):
        raise ValueError("x and y must be whole screen pixels")
    if flat["action"] in POINTER_ACTIONS:
        if not has_point:
            raise ValueError(f"a {flat['action']} step needs x and y")
        # The typed action needs a coordinate; for a screen-point action it means nothing.
        args["coordinate"] = (x, y)
    elif has_point and flat["action"] in ("scroll", "hscroll"):
        args["coordinate"] = (x, y)
    try:
        return ACTION_ADAPTER.validate_python(args)
    except ValidationError as err:
        raise ValueError(one_line(err)) from None


def screen_action(step: MacroStep, point: tuple[int, int] | None, variables: dict[str, str]) -> ScreenAction:
    """The step as an action aimed at ``point`` (where its anchor was found), text filled in."""
    action = build_action(step.action)
    if isinstance(action, Type):
        action = Type(text=fill_variables(action.text, variables))
    x, y = point if point is not None else (None, None)
    return ScreenAction.at_screen_point(action, x, y)


def fill_variables(text: str, variables: dict[str, str]) -> str:
    """``{name}`` replaced by its value, ``{{``/``}}`` by one brace; a name with no value is bad input."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)[0]  # an escaped brace
        if name not in variables:
            raise ConfigError(f"the macro types {{{name}}} but no value is given for it (--vars {name}=...)")
        return variables[name]

    return _VARIABLE.sub(value, text)


def variable_names(macro: Macro) -> set[str]:
    names: set[str] = set()
    for step in macro.steps:
        if step.name == "type":
            text = str(step.action.get("text", ""))
            names.update(m.group(1) for m in _VARIABLE.finditer(text) if m.group(1) is not None)
    return names


def literal_text(text: str) -> str:
    """``text`` as a step's text that types exactly it: braces doubled, so none is a variable."""
    return text.replace("{", "{{").replace("}", "}}")


def check_wait(seconds: float) -> float:
    if not 0 <= seconds <= MAX_WAIT_SECONDS:
        raise ConfigError(f"a wait must be 0..{MAX_WAIT_SECONDS:g} s, got {seconds:g}")
    return seconds


# -- images -----------------------------------------------------------------------------


def encode_png(image: Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def png_size(data: str, what: str) -> tuple[int, int]:
    """The (width, height) of a base64 PNG after checking it decodes within the size limits.

    The size is read from the PNG header first, so a huge image is refused without
    decoding it; ValueError (one line, for pydantic) names ``what`` and the problem.
    """
    from PIL import Image as PILImage

    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError:
        raise ValueError(f"{what} is not base64") from None
    if len(raw) < 24 or not raw.startswith(_PNG_SIGNATURE) or raw[12:16] != b"IHDR":
        raise ValueError(f"{what} is not a PNG image")
    width, height = struct.unpack(">II", raw[16:24])
    if max(width, height) > MAX_ANCHOR_SIDE or width * height > MAX_ANCHOR_PIXELS:
        limit = f"{MAX_ANCHOR_SIDE} px a side at most"
        raise ValueError(f"{what} is {width}x{height}, larger than any monitor ({limit})")
    try:
        with PILImage.open(io.BytesIO(raw), formats=["PNG"]) as image:
            image.load()
    except (OSError, ValueError, SyntaxError, PILImage.DecompressionBombError):
        # PIL's own message names a BytesIO object; the user needs to know which image.
        raise ValueError(f"{what} is not a readable PNG image") from None
    return width, height


def decode_png(data: str) -> Image:
    from PIL import Image as PILImage

    try:
        image = PILImage.open(io.BytesIO(base64.b64decode(data)))
        image.load()
    except (ValueError, OSError, PILImage.DecompressionBombError):
        # PIL's message names a BytesIO object, not the image; load_macro has checked them anyway.
        raise ConfigError("an anchor image in the macro cannot be read") from None
    return image.convert("RGB")


# -- the file ---------------------------------------------------------------------------


def load_macro(path: Path) -> Macro:
    """The macro in ``path``; one-line ConfigError for a missing, corrupt or newer file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"no macro file {path}") from None
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from None
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        where = f" (line {err.lineno})" if isinstance(err, json.JSONDecodeError) else ""
        raise ConfigError(f"{path} is not a macro file: it is not valid JSON{where}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a macro file: expected a JSON object")
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > MACRO_VERSION:
        raise ConfigError(
            f"{path} is a version {version} macro, made by a newer Deskpilot; "
            f"this one reads version {MACRO_VERSION}"
        )
    try:
        return Macro.model_validate(data)
    except ValidationError as err:
        raise ConfigError(f"{path} is not a valid macro: {one_line(err)}") from None


def save_macro(macro: Macro, path: Path) -> None:
    """Write ``macro`` to ``path`` atomically, mode 0600 (it holds typed text and screen crops)."""
    data = (macro.model_dump_json(indent=1) + "\n").encode("utf-8")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"cannot save {path}: the folder {folder} does not exist")
    try:
        write_private_atomic(path, data)
    except OSError as err:
        raise ConfigError(f"cannot write {path}: {err.strerror}") from None


def describe_macro_step(number: int, step: MacroStep) -> str:
    """One line of ``macro show``: the step's action, its pause and what its anchor keeps."""
    from agent.wording import clip, describe_action

    line = f"{number:>3}  {describe_action(step.action)}"
    notes: list[str] = []
    if step.delay_s >= 0.05:
        notes.append(f"after {step.delay_s:.1f} s")
    if step.anchor is not None:
        notes.append(
            f"anchor {step.anchor.box[2]}x{step.anchor.box[3]}"
            + (", ambiguous" if step.anchor.ambiguous else "")
        )
        if step.anchor.text:
            notes.append(f"text {clip(step.anchor.text, 40)!r}")  # what tier c-ocr looks for
        if step.anchor.variants:
            notes.append(f"{len(step.anchor.variants)} more look(s)")
        if step.anchor.element is not None:
            # What the element tier looks for first, in the active window's accessibility tree.
            element = step.anchor.element
            notes.append(f"element {element.role} {clip(element.name, 40)!r}" if element.name else
                         f"element {element.role}")
        if step.anchor.description.strip():
            # What replay's model tier (d) would look for, when no picture tier finds it.
            notes.append(f"described as {clip(step.anchor.description.strip(), 80)!r}")
    return line + (f"  ({'; '.join(notes)})" if notes else "")


def check_writable(path: Path) -> None:
    """One-line ConfigError unless a file can be created beside ``path``: said before a recording starts.

    Permission bits alone do not tell (root ignores them, a read-only mount or /proc
    refuses anyway), so a temporary file is created and removed.
    """
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"cannot save {path}: the folder {folder} does not exist")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".check")
    except OSError as err:
        why = f"the folder {folder} cannot be written ({err.strerror})"
        raise ConfigError(f"cannot save {path}: {why}") from None
    os.close(fd)
    Path(probe).unlink(missing_ok=True)


def save_macro_or_rescue(macro: Macro, path: Path, rescue_dir: Path, say: Callable[[str], None]) -> Path:
    """Save ``macro`` to ``path``, else into ``rescue_dir`` (a finished recording is never dropped).

    Returns where it was written; ``say`` tells the user why and where when it is not ``path``.
    The rescue file keeps ``path``'s name, numbered when one of that name is already there.
    """
    try:
        save_macro(macro, path)
        return path
    except ConfigError as err:
        problem = str(err)
    rescue_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = rescue_dir / path.name
    number = 1
    while target.exists():
        number += 1
        target = rescue_dir / f"{path.stem}-{number}{path.suffix}"
    save_macro(macro, target)
    say(f"{problem}; the recording is saved in {target} instead")
    return target

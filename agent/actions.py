"""Typed, validated models of the ``computer_use`` actions Qwen3-VL was tuned on.

One schema serves parsing, the prompt, history, macros and the overlay. Coordinates
in these models are in *model space* (see ``agent.scaling``); ``ScreenAction`` pairs
an action with the screen pixel it was mapped to.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from agent.keys import UnknownKeyError, normalize_keys

MAX_TEXT_CHARS = 4000
MAX_WAIT_SECONDS = 60.0
# The reference executor passes ``pixels`` straight to pyautogui.scroll, i.e. wheel
# notches on X11; we do the same and bound it so one action cannot scroll forever.
MAX_SCROLL = 1000
MAX_KEYS = 8
MAX_DESCRIPTION_CHARS = 200

ModelPoint = tuple[float, float]


def _finite_point(value: tuple[float, float]) -> tuple[float, float]:
    if not all(math.isfinite(v) for v in value):
        raise ValueError("coordinate values must be finite numbers")
    return value


def _round_half_away(value: Any) -> Any:
    """A fractional wheel amount rounded to whole notches (2.5 -> 3, -2.5 -> -3)."""
    if isinstance(value, bool):
        raise ValueError("pixels must be a number")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError("pixels must be a number") from None
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("pixels must be a finite number")
        return int(math.copysign(math.floor(abs(value) + 0.5), value))
    return value


class _Action(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)

    # What the model said it aims at ("Save button"), when its answer names it: the
    # seed guide's answer shape carries it. Shown in the action's words and recorded;
    # never used to find anything on screen.
    element_description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_CHARS)

    @property
    def point(self) -> ModelPoint | None:
        """The model-space point the action targets, if it has one."""
        return getattr(self, "coordinate", None)

    def arguments(self) -> dict[str, Any]:
        """The tool-call arguments, as the model would write them: ``action`` first."""
        dumped = self.model_dump(mode="json", exclude_none=True)
        description = dumped.pop("element_description", None)
        args = {"action": dumped.pop("action"), **dumped}
        if description is not None:
            args["element_description"] = description
        return args


class _PointerAction(_Action):
    coordinate: ModelPoint

    _check_coordinate = field_validator("coordinate")(_finite_point)


def _element_number(value: Any) -> Any:
    """A marked element's number: a positive whole number (a digit string is one), nothing else."""
    if value is None:
        raise ValueError("must be the number of an element on the marked list, e.g. 7")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("must be the number of an element on the marked list, e.g. 7")
    return value


class _ClickAction(_Action):
    """A click at ``coordinate``, at a marked ``element``, or where the pointer is when it has neither.

    The cookbook's executor and Qwen's OSWorld agent click at the current pointer when a
    click comes without a coordinate (typically right after a ``mouse_move``). ``element``
    is Deskpilot's addition for ``--marks``: the number of an element on the step's
    numbered list (agent.computer_use.marks), resolved to a screen point before the
    policy sees the click.
    """

    coordinate: ModelPoint | None = None
    element: int | None = None

    _check_coordinate = field_validator("coordinate")(lambda v: None if v is None else _finite_point(v))
    _check_element = field_validator("element", mode="before")(_element_number)

    @model_validator(mode="after")
    def _one_target(self) -> _ClickAction:
        if self.coordinate is not None and self.element is not None:
            raise ValueError("give either 'coordinate' or 'element', not both")
        return self


class Key(_Action):
    """Press keys in order, release in reverse (a chord such as ctrl+s)."""

    action: Literal["key"] = "key"
    keys: tuple[str, ...] = Field(min_length=1, max_length=MAX_KEYS)

    @field_validator("keys", mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(k, str) for k in value):
            raise ValueError("keys must be a list of key names")
        try:
            return normalize_keys(list(value))
        except UnknownKeyError as err:
            raise ValueError(str(err)) from None


class Type(_Action):
    """Type text at the keyboard focus; newlines press Enter."""

    action: Literal["type"] = "type"
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)


class MouseMove(_PointerAction):
    action: Literal["mouse_move"] = "mouse_move"


class LeftClick(_ClickAction):
    action: Literal["left_click"] = "left_click"


class RightClick(_ClickAction):
    action: Literal["right_click"] = "right_click"


class MiddleClick(_ClickAction):
    action: Literal["middle_click"] = "middle_click"


class DoubleClick(_ClickAction):
    action: Literal["double_click"] = "double_click"


class TripleClick(_ClickAction):
    action: Literal["triple_click"] = "triple_click"


class LeftClickDrag(_PointerAction):
    """Drag with the left button from the current pointer position to ``coordinate``."""

    action: Literal["left_click_drag"] = "left_click_drag"


class _ScrollAction(_Action):
    # Advertised to the model as a number: a fractional amount is rounded, not refused.
    pixels: int = Field(ge=-MAX_SCROLL, le=MAX_SCROLL)
    coordinate: ModelPoint | None = None

    _round_pixels = field_validator("pixels", mode="before")(_round_half_away)

    _check_coordinate = field_validator("coordinate")(lambda v: None if v is None else _finite_point(v))


class Scroll(_ScrollAction):
    """Scroll vertically by ``pixels`` wheel steps (positive is up), optionally at a point."""

    action: Literal["scroll"] = "scroll"


class HScroll(_ScrollAction):
    """Scroll horizontally by ``pixels`` wheel steps (positive is right)."""

    action: Literal["hscroll"] = "hscroll"


class Wait(_Action):
    action: Literal["wait"] = "wait"
    time: float = Field(ge=0.0, le=MAX_WAIT_SECONDS, allow_inf_nan=False)


class Terminate(_Action):
    """The model declares the task finished, successfully or not."""

    action: Literal["terminate"] = "terminate"
    status: Literal["success", "failure"]


class Answer(_Action):
    """The model answers the user's question instead of acting."""

    action: Literal["answer"] = "answer"
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)


Action = Annotated[
    Key
    | Type
    | MouseMove
    | LeftClick
    | RightClick
    | MiddleClick
    | DoubleClick
    | TripleClick
    | LeftClickDrag
    | Scroll
    | HScroll
    | Wait
    | Terminate
    | Answer,
    Field(discriminator="action"),
]

ACTION_ADAPTER: TypeAdapter[Action] = TypeAdapter(Action)

ACTION_MODELS: dict[str, type[_Action]] = {
    model.model_fields["action"].default: model
    for model in (
        Key,
        Type,
        MouseMove,
        LeftClick,
        RightClick,
        MiddleClick,
        DoubleClick,
        TripleClick,
        LeftClickDrag,
        Scroll,
        HScroll,
        Wait,
        Terminate,
        Answer,
    )
}
CLICK_NAMES: frozenset[str] = frozenset(
    {"left_click", "right_click", "middle_click", "double_click", "triple_click"}
)

ACTION_NAMES: tuple[str, ...] = (
    "key",
    "type",
    "mouse_move",
    "left_click",
    "left_click_drag",
    "right_click",
    "middle_click",
    "double_click",
    "triple_click",
    "scroll",
    "hscroll",
    "wait",
    "terminate",
    "answer",
)


def is_pointer_click(action: Action) -> bool:
    """A click that comes without a coordinate or an element: it lands wherever the pointer is."""
    return action.action in CLICK_NAMES and action.point is None and getattr(action, "element", None) is None


class ScreenAction(BaseModel):
    """An action with its target mapped to a screen pixel (virtual-desktop input units)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Action
    # None for actions without a point, including a click at the pointer: where that
    # lands is only known when it is performed (agent.computers.x11.desktop checks it then).
    x: int | None = None
    y: int | None = None
    # False when the point came from the screen itself (a macro, OCR), not from a model:
    # then ``action``'s own coordinate, if any, means nothing and is not recorded.
    from_model: bool = True
    # A click on a marked element (``--marks``): "element 7 (push button 'Save')", set
    # when the number was resolved to the element's centre.
    element_words: str | None = None

    @classmethod
    def at_screen_point(cls, action: Action, x: int | None, y: int | None) -> ScreenAction:
        """An action aimed at a screen pixel found without a model (recorded macro step, OCR match)."""
        return cls(action=action, x=x, y=y, from_model=False)

    @property
    def name(self) -> str:
        return self.action.action

    def model_arguments(self) -> dict[str, Any] | None:
        """The tool-call arguments in model space, or None when no model proposed the action."""
        return self.action.arguments() if self.from_model else None

    @property
    def screen_xy(self) -> tuple[int, int] | None:
        if self.x is None or self.y is None:
            return None
        return (self.x, self.y)

    def to_json_dict(self) -> dict[str, Any]:
        """Flat form for the CLI, history and macros: the action name, x/y, other args."""
        out: dict[str, Any] = {"action": self.name}
        if self.x is not None and self.y is not None:
            out["x"], out["y"] = self.x, self.y
        for key, value in self.action.arguments().items():
            if key not in ("action", "coordinate"):
                out[key] = value
        if self.element_words is not None:
            out["element_words"] = self.element_words
        return out

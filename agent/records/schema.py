"""What a run leaves behind: the run's header and one record per step (pydantic, on disk as JSON)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# "interrupted" is never written: a reader says it of a "running" run whose process is gone.
Outcome = Literal["running", "success", "failure", "gave_up", "stopped", "error", "interrupted"]
Decision = Literal["allow", "confirm", "deny"]
Confirmation = Literal["not_needed", "approved", "approved_for_session", "rejected", "timed_out", "dry_run"]


class ActionRecord(BaseModel):
    """One action of a step: as the model wrote it, where it landed, and what became of it."""

    model_config = ConfigDict(extra="forbid")

    model: dict[str, Any] | None = None  # the tool-call arguments in model space; None without a model
    screen: dict[str, Any]  # ScreenAction.to_json_dict(): action name, x/y in screen pixels, args
    decision: Decision
    reason: str = ""
    confirmation: Confirmation = "not_needed"
    note: str = ""  # the user's note when rejecting, for the model
    performed: bool = False
    error: str = ""
    # What the model said it aimed at ("Save button"), when it named it; the action's
    # ``element_description`` (``screen_action.action.element_description or ""``).
    element_description: str = ""
    # Grounding in the accessibility tree (agent.computer_use.snapping.Snap.to_record):
    # whether the model's click was moved onto the element it named, where, and why.
    snap: dict[str, Any] | None = None
    # --marks: the marked element a click named by number ({"number", "role", "name", "box"}).
    mark: dict[str, Any] | None = None
    # A tree-found click or press (agent.effects): what confirmed its effect, "event <type>"
    # or "re-read: <what changed>", "none" when nothing did in time; "" where not watched.
    effect: str = ""


class CapturedArea(BaseModel):
    """Where a step's screenshot sat on the desktop: the monitor in input units, pixels per unit.

    A screen point (x, y) of the step's actions is the screenshot's pixel
    ((x - left) * scale, (y - top) * scale). Runs recorded before this field existed
    have none; readers then take the screenshot to cover the primary monitor from
    (0, 0) at one pixel per input unit, which is what those runs recorded.
    """

    model_config = ConfigDict(extra="forbid")

    left: int
    top: int
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    scale: float = Field(default=1.0, gt=0)


class StepRecord(BaseModel):
    """One capture → plan → act step, appended to steps.jsonl when the step ends."""

    model_config = ConfigDict(extra="forbid")

    number: int = Field(ge=1)
    started_at: str  # ISO 8601, UTC
    raw_text: str = ""  # the model's whole answer
    thought: str = ""
    actions: list[ActionRecord] = Field(default_factory=list)
    error: str = ""  # an unusable answer or a failure, as fed back to the model
    screenshot: str = ""  # file name inside the run directory, "" when not kept
    capture: CapturedArea | None = None  # where the screenshot sat; None in older runs and without one
    timings: dict[str, float] = Field(default_factory=dict)
    spoken: list[str] = Field(default_factory=list)  # what narration said during the step, in order
    # zoom-then-ground: the crop asked about and the model's answer on it (None: not refined)
    refinement: dict[str, Any] | None = None
    # macro replays: the healing tier that found the step's target ("a-near" ... "e-user",
    # the user pointing at it when no tier could); "" for steps without an anchor
    anchor_tier: str = ""
    # What settling after the step's action waited on: "tree" (accessibility events went
    # quiet) or "screen" (captures stopped changing); "" when it did not settle
    settled_by: str = ""
    # Where the step's action came from: "model" (asked this run), "replay" (an earlier
    # successful run of the task, replayed without the model; agent.replays), "" in older runs
    source: Literal["", "model", "replay"] = ""
    # --marks: the numbered elements drawn on the screenshot the model saw (the saved
    # screenshot is the clean capture; agent.computer_use.marks.draw_marks redraws them)
    marks: list[dict[str, Any]] | None = None


class RunInfo(BaseModel):
    """run.json: what was asked, with which settings, and how it ended."""

    model_config = ConfigDict(extra="forbid")

    id: str
    task: str
    backend: str
    model: str
    settings: dict[str, Any] = Field(default_factory=dict)
    dry_run: bool = False  # planned and recorded, nothing performed
    model_facts: dict[str, str] = Field(default_factory=dict)  # what the backend chose: precision, device
    started_at: str
    ended_at: str | None = None
    outcome: Outcome = "running"
    detail: str = ""
    steps: int = 0
    # Which process writes the run, so a reader can tell a live run from a dead one (None: older runs).
    pid: int | None = None
    host: str | None = None
    boot_id: str | None = None  # Linux's id of this boot: the same pid after a reboot is another process

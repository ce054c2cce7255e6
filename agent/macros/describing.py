"""``macro record --describe``: the model names each pointer step's target in a short phrase.

The description is what replay's model tier (d) grounds when no picture or text tier
finds the anchor, so it is asked for in the words a grounding prompt uses: a short
noun phrase that picks the element out ("the blue Save button in the toolbar"). The
model is shown the frame the step was aimed at with the point marked, and a close-up
around the point, marked too, so small targets stay legible after the frame is
shrunk to the pixel budget. A step that kept a named accessible element is described
by it ("the Save button"), without asking the model. Any backend works; a failure raises and leaves the
caller to keep the recording without descriptions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.access.roles import element_phrase
from agent.backends.base import ChatRequest
from agent.imaging import crop_box, mark_point
from agent.macros.anchors import CONTEXT_HALF
from agent.wording import clip, describe_action

if TYPE_CHECKING:
    from PIL.Image import Image

    from agent.backends.base import Backend
    from agent.macros.schema import Macro

PROMPT = (
    "The first image is a screen; the red ring marks where the user clicked. The second image is a "
    "close-up around the same ring. Name the element under the ring so that it can be found again on "
    'this screen: one short noun phrase with its label, kind and place, e.g. "the blue Save button in '
    'the toolbar". Answer with the phrase only.'
)
MAX_NEW_TOKENS = 48
MAX_CHARS = 200  # as long as a model's own element_description may be
_QUOTES = "\"'“”`"


@dataclass(frozen=True)
class Target:
    """A recorded pointer step to describe: its index in the macro, its frame, its image point."""

    index: int
    image: Image
    point: tuple[int, int]


class TargetDescriber:
    """Asks ``backend`` for a one-line description of the element at a point of a frame."""

    def __init__(self, backend: Backend, max_pixels: int) -> None:
        self.backend = backend
        self.max_pixels = max_pixels

    def describe(self, image: Image, point: tuple[int, int], cancel: threading.Event) -> str:
        close = crop_box(image.size, point, CONTEXT_HALF)
        close_up = mark_point(image.crop(close.as_tuple()), (point[0] - close.left, point[1] - close.top))
        request = ChatRequest(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "image": mark_point(image, point, radius=16)},
                        {"type": "image", "image": close_up},
                        {"type": "text", "text": PROMPT},
                    ],
                }
            ],
            tools=[],
            max_new_tokens=MAX_NEW_TOKENS,
            max_pixels=self.max_pixels,
            stop=(),
        )
        return clean(self.backend.complete(request, cancel).text)


def clean(text: str) -> str:
    """The phrase alone: its first line, without the quotes or full stop models like to add."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    for _ in range(2):  # "the Save button." or "the Save button". in either order
        if len(line) >= 2 and line[0] in _QUOTES and line[-1] in _QUOTES:
            line = line[1:-1].strip()
        line = line.rstrip(".").strip()
    return clip(line, MAX_CHARS)


def describe_steps(
    macro: Macro,
    targets: Sequence[Target],
    describer: TargetDescriber,
    cancel: threading.Event,
    progress: Callable[[str], None],
) -> int:
    """Store a description in each target step's anchor, saying each one; the number described.

    A backend failure or a stop propagates after the steps described so far keep theirs.
    """
    done = 0
    for count, target in enumerate(targets, start=1):
        step = macro.steps[target.index]
        if step.anchor is None:
            continue
        progress(
            f"describing step {target.index + 1} ({count} of {len(targets)}): {describe_action(step.action)}"
        )
        element = step.anchor.element
        # A named accessible element says exactly what it is: no model call needed.
        named = element_phrase(element.role, element.name) if element is not None else ""
        description = named or describer.describe(target.image, target.point, cancel)
        if description:
            step.anchor.description = description
            done += 1
            progress(f"  step {target.index + 1}: {description}")
        else:
            progress(f"  step {target.index + 1}: the model gave no description")
    return done

"""A fake grounding model: it finds the target by its colour in the image it is shown.

It is told out of band which colour each instruction's target is drawn in (it never
sees the answer box), looks for that colour in the request's image exactly as a model
would look at the picture, and answers a ``left_click`` at the target's centre plus a
fixed error in its own grid units: the constant pointing error refinement shrinks.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

from agent.backends.base import ChatRequest, Completion, TextSink

# How close (per channel, of 255) a resized pixel must be to the target colour to count.
COLOUR_TOLERANCE = 24


@dataclass
class FakeGroundingBackend:
    targets: dict[str, tuple[int, int, int]]  # instruction → the RGB its target is drawn in
    error: tuple[float, float] = (0.0, 0.0)  # added to the answer, in grid units (0..extent)
    extent: float = 1000.0  # the grid: 1000 for rel1000
    name: str = "fake-grounding"
    requests: list[ChatRequest] = field(default_factory=list)

    def complete(
        self, request: ChatRequest, cancel: threading.Event, on_text: TextSink | None = None
    ) -> Completion:
        import numpy as np

        self.requests.append(request)
        text = " ".join(
            part["text"]
            for message in request.messages
            for part in message["content"]
            if isinstance(part, dict) and part.get("type") == "text"
        )
        matches = [key for key in self.targets if key in text]
        image = request.images[-1]
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
        cx, cy = image.width / 2, image.height / 2  # nothing recognised: it points at the middle
        if matches:
            colour = np.array(self.targets[max(matches, key=len)], dtype=np.int16)
            hit = np.all(np.abs(pixels - colour) <= COLOUR_TOLERANCE, axis=2)
            rows, cols = np.nonzero(hit)
            if rows.size:
                cx = (cols.min() + cols.max() + 1) / 2
                cy = (rows.min() + rows.max() + 1) / 2
        x = min(max(cx / image.width * self.extent + self.error[0], 0.0), self.extent)
        y = min(max(cy / image.height * self.extent + self.error[1], 0.0), self.extent)
        call = {
            "name": "computer_use",
            "arguments": {"action": "left_click", "coordinate": [round(x), round(y)]},
        }
        # One image token per 32x32 pixels, as Qwen3-VL's processor counts them.
        tokens = (image.width // 32) * (image.height // 32)
        reply = f"<tool_call>\n{json.dumps(call)}\n</tool_call>"
        if on_text is not None:
            on_text(reply)
        return Completion(reply, prompt_tokens=tokens, completion_tokens=len(reply) // 4)

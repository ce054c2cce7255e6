"""The local backend's key/value cache kept between steps: the same greedy tokens, fewer prefilled.

The tiny model's random weights make its greedy answer depend on every input token and
pixel, so equal answers with and without the cache mean the cached keys, values and
rope positions are the ones a full prefill computes; forced output would prove nothing.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw

from agent.backends.base import ChatRequest
from agent.backends.local import LocalBackend, LocalSettings
from agent.backends.prefix import ImageSpan, PrefixCache, common_prefix
from agent.computer_use.prompts import PromptSettings, StepNote, build_request
from agent.scaling import ModelFrame

SIZE = (320, 192)  # 10x6 = 60 image tokens: small enough for a 2-core CPU, big enough to matter
FRAME = ModelFrame.for_image("rel1000", *SIZE)


def screen(step: int) -> Image.Image:
    image = Image.new("RGB", SIZE, (40 + 13 * step % 180, 44, 52))
    draw = ImageDraw.Draw(image)
    draw.rectangle((10 + 9 * step, 20, 120 + 5 * step, 90), fill=(200, 37 * step % 255, 90))
    return image


@pytest.fixture(scope="module")
def backends(tiny_model_dir: Path) -> tuple[LocalBackend, LocalBackend]:
    plain = LocalBackend(LocalSettings(model=str(tiny_model_dir), reuse_prefix=False))
    reusing = LocalBackend(LocalSettings(model=str(tiny_model_dir)))
    return plain, reusing


def image_tokens(backend: LocalBackend, request: ChatRequest) -> int:
    return int(backend.encode(request)["image_grid_thw"].prod(dim=1).sum()) // 4


def ask(backend: LocalBackend, request: ChatRequest) -> tuple[str, int, int]:
    completion = backend.complete(dataclasses.replace(request, max_new_tokens=10), threading.Event())
    stats = backend.last_prefill
    assert stats is not None
    return completion.text, stats.prompt_tokens, stats.prefilled_tokens


def steps(task: str, count: int, settings: PromptSettings) -> list[ChatRequest]:
    notes: list[StepNote] = []
    shots: list[Image.Image] = []
    requests = []
    for number in range(1, count + 1):
        shots.append(screen(number))
        feedback = "The action 'click' failed: no window." if number == 3 else None
        requests.append(build_request(task, notes, shots, FRAME, feedback=feedback, settings=settings))
        notes.append(StepNote(number, (f'left_click {{"coordinate": [{number * 10}, 200]}}',), "done"))
    return requests


def test_greedy_answers_are_identical_and_later_steps_prefill_only_what_they_add(
    backends: tuple[LocalBackend, LocalBackend],
) -> None:
    plain, reusing = backends
    requests = steps("open the editor", 4, PromptSettings(history_steps=2))
    for number, request in enumerate(requests, start=1):
        text, prompt, prefilled = ask(reusing, request)
        assert (text, prompt, prompt) == ask(plain, request)
        if number == 1:
            assert prefilled == prompt
        else:
            # The new history line, the screenshot and this step's words; not the tools block.
            assert prefilled <= image_tokens(reusing, request) + 300 < prompt


def test_two_kept_screenshots_are_both_prefilled_and_answers_stay_identical(
    backends: tuple[LocalBackend, LocalBackend],
) -> None:
    plain, reusing = backends
    for request in steps("save the file", 3, PromptSettings(screenshots=2)):
        text, prompt, prefilled = ask(reusing, request)
        assert (text, prompt, prompt) == ask(plain, request)
    assert image_tokens(reusing, request) < prefilled <= image_tokens(reusing, request) + 300


def test_only_the_images_after_the_kept_prefix_go_through_the_vision_tower(
    backends: tuple[LocalBackend, LocalBackend],
) -> None:
    """Same words, first screenshot the same, second one new: the cache keeps the first image.

    The kept one is another size, so rope positions computed from the new image's grid
    alone (what generate does unless given the whole prompt's) would be wrong.
    """
    plain, reusing = backends
    settings = PromptSettings(screenshots=2)
    old = screen(1).resize((256, 128))
    first = build_request("t", [], [old, screen(2)], FRAME, settings=settings)
    second = build_request("t", [], [old, screen(3)], FRAME, settings=settings)
    ask(reusing, first)
    text, prompt, prefilled = ask(reusing, second)
    assert (text, prompt, prompt) == ask(plain, second)
    # From the second image's first token on: one image and the tail.
    assert image_tokens(reusing, second) // 2 <= prefilled < image_tokens(reusing, second)
    # Sent again unchanged, everything but the last token is reused and no image is encoded.
    assert ask(reusing, second) == (text, prompt, 1)


def test_a_new_task_a_new_budget_and_a_changed_screenshot_invalidate_what_they_change(
    backends: tuple[LocalBackend, LocalBackend],
) -> None:
    plain, reusing = backends
    request = steps("open the editor", 1, PromptSettings())[0]
    ask(reusing, request)
    # Same words, a different picture of the same size: the ids are identical, the image is not.
    changed = build_request("open the editor", [], [screen(7)], FRAME)
    text, prompt, prefilled = ask(reusing, changed)
    assert (text, prompt, prompt) == ask(plain, changed)
    # Kept up to the image's first token: the image and the words after it are prefilled.
    assert 0 < prefilled - image_tokens(reusing, changed) < 60 and prompt - prefilled > 1000
    # A new task keeps the system prompt and the tool, nothing after "The user's task: ".
    other = build_request("close every window now", [], [screen(7)], FRAME)
    text, prompt, prefilled = ask(reusing, other)
    assert (text, prompt, prompt) == ask(plain, other)
    assert prefilled > image_tokens(reusing, other) and prompt - prefilled > 1000
    # Another pixel budget: every image token changes, the cache starts over.
    smaller = dataclasses.replace(other, max_pixels=other.max_pixels // 2)
    text, prompt, prefilled = ask(reusing, smaller)
    assert prefilled == prompt and (text, prompt, prompt) == ask(plain, smaller)


class FakeCache:
    """Just the two calls PrefixCache makes on a DynamicCache."""

    def __init__(self, length: int) -> None:
        self.length = length

    def get_seq_length(self) -> int:
        return self.length

    def crop(self, tokens_to_remove: int) -> None:
        assert tokens_to_remove < 0
        self.length += tokens_to_remove


def cached(ids: list[int], spans: list[ImageSpan], budget: tuple[int, int] = (1, 2)) -> PrefixCache:
    prefix = PrefixCache()
    prefix.cache = FakeCache(len(ids))
    prefix.remember(torch.tensor(ids), spans, budget)
    return prefix


IDS = [1, 2, 3, 9, 9, 9, 4, 5]
SPAN = ImageSpan(3, 6, "a")


@pytest.mark.parametrize(
    ("new", "spans", "budget", "kept"),
    [
        ([1, 2, 3, 9, 9, 9, 4, 5, 6], [SPAN], (1, 2), 8),  # an extension: all of it
        ([1, 2, 3, 9, 9, 9, 4, 5], [SPAN], (1, 2), 7),  # the same prompt: all but the last token
        ([1, 2, 3, 9, 9, 9, 7, 5], [SPAN], (1, 2), 6),  # differs after the image
        ([1, 2, 3, 9, 9, 9, 4, 5, 6], [ImageSpan(3, 6, "b")], (1, 2), 3),  # another picture
        ([1, 2, 3, 9, 9, 9, 9, 5], [ImageSpan(3, 7, "a")], (1, 2), 3),  # a larger image, cut by the prefix
        ([1, 2, 7, 9, 9, 9, 4, 5], [SPAN], (1, 2), 2),  # differs before the image
        ([1, 2, 3, 9, 9, 9, 4, 5, 6], [SPAN], (1, 3), 0),  # another pixel budget
        ([7, 2, 3], [], (1, 2), 0),  # nothing in common
    ],
)
def test_the_kept_prefix_stops_at_the_first_difference_or_changed_image(
    new: list[int], spans: list[ImageSpan], budget: tuple[int, int], kept: int
) -> None:
    prefix = cached(IDS, [SPAN])
    assert prefix.keep(torch.tensor(new), spans, budget) == kept
    if kept:
        assert prefix.cache.get_seq_length() == kept
    else:
        assert prefix.cache is None


def test_common_prefix_of_id_tensors() -> None:
    assert common_prefix(torch.tensor([1, 2, 3]), torch.tensor([1, 2, 4, 5])) == 2
    assert common_prefix(torch.tensor([1, 2]), torch.tensor([1, 2, 4])) == 2
    assert common_prefix(torch.tensor([], dtype=torch.long), torch.tensor([1])) == 0

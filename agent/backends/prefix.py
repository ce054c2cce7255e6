"""The local model's key/value cache kept from one step to the next, and how much of a new prompt it covers.

Each step's prompt extends the previous one up to where the previous screenshot began
(``agent.computer_use.prompts``), so the keys and values computed for that prefix are
still right: a token's keys and values depend only on the tokens before it, and so do
Qwen3-VL's multimodal rope positions (an image shifts the positions after it, never
before it). ``PrefixCache.keep`` finds the longest common prefix of the new input ids
with the cached ones and crops the cache to it (``DynamicCache.crop``); the caller
prefills only the rest.

Token ids alone cannot tell two screenshots apart: every image token is the same
``<|image_pad|>`` id, so two screenshots of one size have identical ids. Each image
span therefore carries a digest of the image's pixels, and the common prefix ends
where the first image that differs (or is cut by the prefix) begins. A new pixel
budget changes every image's tokens: the cache starts over.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from PIL.Image import Image


@dataclass(frozen=True)
class ImageSpan:
    """One image's run of ``<|image_pad|>`` tokens, ``start`` inclusive, ``end`` exclusive."""

    start: int
    end: int
    digest: str


@dataclass(frozen=True)
class PrefillStats:
    """How many of a prompt's tokens came from the cache and how many were computed."""

    prompt_tokens: int
    reused_tokens: int

    @property
    def prefilled_tokens(self) -> int:
        return self.prompt_tokens - self.reused_tokens


def image_digest(image: Image) -> str:
    """A digest of the pixels as sent, not of the object: a new capture of an unchanged screen matches."""
    digest = hashlib.blake2b(image.tobytes(), digest_size=16)
    digest.update(f"{image.mode}:{image.width}x{image.height}".encode("ascii"))
    return digest.hexdigest()


def image_spans(ids: torch.Tensor, image_token_id: int, images: Sequence[Image]) -> list[ImageSpan]:
    """The spans of ``ids`` (1-D) that hold ``images``, in order; each image is one contiguous run."""
    import torch

    marks = (ids == image_token_id).to(torch.int8)
    edges = torch.diff(marks, prepend=marks.new_zeros(1), append=marks.new_zeros(1))
    starts = (edges == 1).nonzero().flatten().tolist()
    ends = (edges == -1).nonzero().flatten().tolist()
    if len(starts) != len(images):
        raise ValueError(f"the prompt has {len(starts)} image spans for {len(images)} images")
    return [
        ImageSpan(start, end, image_digest(image))
        for start, end, image in zip(starts, ends, images, strict=True)
    ]


def common_prefix(a: torch.Tensor, b: torch.Tensor) -> int:
    """The length of the longest common prefix of two 1-D id tensors."""
    n = min(int(a.shape[0]), int(b.shape[0]))
    differ = (a[:n] != b[:n]).nonzero()
    return int(differ[0, 0]) if differ.numel() else n


class PrefixCache:
    """A ``DynamicCache`` and the token ids and images whose keys and values it holds."""

    def __init__(self) -> None:
        self.cache: Any = None
        self._ids: torch.Tensor | None = None
        self._images: list[ImageSpan] = []
        self._budget: tuple[int, int] | None = None

    def reset(self) -> None:
        """Forget everything (after a failed or stopped generation the cache may hold anything)."""
        self.cache = None
        self._ids = None
        self._images = []
        self._budget = None

    def keep(self, ids: torch.Tensor, images: list[ImageSpan], budget: tuple[int, int]) -> int:
        """How many leading tokens of ``ids`` the cache already holds; crops it to exactly that.

        At least one token is always left to prefill: generation needs the logits of
        the prompt's last token, and the cache does not hold them.
        """
        if self.cache is None or self._ids is None or budget != self._budget:
            self.reset()
            return 0
        keep = common_prefix(self._ids, ids)
        for old, new in zip(self._images, images, strict=False):
            if new.start >= keep:
                break
            # Same ids up to new.start, so the same number of images before it and the
            # same start; a different picture, or one the prefix cuts, is prefilled anew.
            if old.digest != new.digest or new.end > keep or old.start != new.start:
                keep = new.start
                break
        keep = min(keep, int(ids.shape[0]) - 1)
        if keep <= 0:
            self.reset()
            return 0
        cached = int(self.cache.get_seq_length())
        if keep < cached:
            self.cache.crop(keep - cached)
        return keep

    def new_cache(self, model: Any) -> Any:
        """The cache to hand to ``generate``: the kept one, or a fresh ``DynamicCache``."""
        if self.cache is None:
            from transformers import DynamicCache

            self.cache = DynamicCache(config=model.config)
        return self.cache

    def remember(self, sequence: torch.Tensor, images: list[ImageSpan], budget: tuple[int, int]) -> None:
        """After ``generate``: ``sequence`` is prompt and answer; the cache holds its first tokens."""
        held = int(self.cache.get_seq_length()) if self.cache is not None else 0
        self._ids = sequence[:held].detach().to("cpu")
        self._images = [span for span in images if span.end <= held]
        self._budget = budget

"""A tiny random-weight Qwen3-VL, saved like a hub checkpoint, and forced replies for it.

Tests and offline demos need the real model path (processor, chat template, generate,
decode, bitsandbytes) without the 17 GB download. ``build_tiny_qwen3vl`` writes a
directory that ``from_pretrained`` loads exactly as it loads ``Qwen/Qwen3-VL-8B-Instruct``;
``force_reply_fn`` makes its otherwise random output an exact, chosen reply.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

# The tokens Qwen3-VL's processor and chat template look up by name. Their ids are the
# tokenizer's (0..6 here, 151643.. in the real model); the config is told which they are.
SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
# Ordinary added tokens in the real model too, so they survive skip_special_tokens=True.
TOOL_CALL_TOKENS = ("<tool_call>", "</tool_call>")

# Qwen2's pre-tokenizer split (transformers' Qwen2Tokenizer uses the same one), so the
# tiny tokenizer breaks text at the same places the real one does.
_PRETOKENIZE_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# A few lines in the register the agent speaks, so common pieces get merges; anything
# else still tokenizes through the byte-level alphabet.
_TRAINING_TEXT = (
    "You are a helpful assistant.",
    "The screen's resolution is 1000x1000. Click the search box and type the query.",
    '{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [500, 500]}}',
    '{"action": "type", "text": "hello world"} {"action": "key", "keys": ["ctrl", "s"]}',
    "Thought: open the browser first. Action: click the icon.",
    "打开浏览器，搜索天气。你好，世界！",
)

# Qwen3-VL-8B-Instruct's own chat template, byte for byte, kept beside this module as the
# hub checkpoint keeps it (its sha256 is pinned in tests/test_chat_template.py): prompts
# rendered for the tiny model are then the prompts the real model reads.
CHAT_TEMPLATE_FILE = "qwen3vl_chat_template.jinja"


def chat_template() -> str:
    """The text of Qwen3-VL-8B-Instruct's chat template."""
    from importlib.resources import files

    return files(__package__).joinpath(CHAT_TEMPLATE_FILE).read_text(encoding="utf-8")


# The real checkpoint's image budget: 1920x1080 becomes 1920x1088 = 2040 tokens.
_IMAGE_SIZE = {"shortest_edge": 64 * 32 * 32, "longest_edge": 16384 * 32 * 32}
# Qwen3-VL normalises to [-1, 1] (mean = std = 0.5), not CLIP's statistics.
_IMAGE_MEAN_STD = [0.5, 0.5, 0.5]
# Written by hand: the video processor class needs torchvision, which may be absent
# here, but the directory must still load through AutoProcessor where it is present.
_VIDEO_PREPROCESSOR_CONFIG: dict[str, Any] = {
    "video_processor_type": "Qwen3VLVideoProcessor",
    "processor_class": "Qwen3VLProcessor",
    "do_convert_rgb": True,
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "do_sample_frames": True,
    "fps": 2,
    "min_frames": 4,
    "max_frames": 768,
    "image_mean": _IMAGE_MEAN_STD,
    "image_std": _IMAGE_MEAN_STD,
    "merge_size": 2,
    "patch_size": 16,
    "temporal_patch_size": 2,
    "resample": 3,
    "rescale_factor": 1 / 255,
    "size": {"shortest_edge": 4096, "longest_edge": 25165824},
}

# Widths are multiples of 64 because bitsandbytes' CPU path repacks quantized
# weights in blocks and rejects narrower Linear layers.
_WIDTH = 64
_TEXT_HEAD_DIM = 32


def _build_tokenizer() -> Any:
    """A byte-level BPE tokenizer with Qwen's specials, as transformers' Qwen2Tokenizer."""
    from tokenizers import AddedToken, Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    trainer = trainers.BpeTrainer(
        vocab_size=512,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    raw = Tokenizer(models.BPE())
    raw.normalizer = normalizers.NFC()
    raw.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_PRETOKENIZE_REGEX), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    raw.train_from_iterator(_TRAINING_TEXT, trainer)
    trained = json.loads(raw.to_str())["model"]

    # Qwen2Tokenizer rebuilds the same normalizer, pre-tokenizer and decoder around the
    # trained vocabulary, and is the class AutoTokenizer picks for the real checkpoint.
    # Settings as in the real checkpoint: no unk or bos token, eos ends a turn.
    settings: dict[str, Any] = {
        "vocab": trained["vocab"],
        # tokenizers writes merges as [a, b] pairs (older releases as "a b"); BPE wants tuples.
        "merges": [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in trained["merges"]],
        "unk_token": None,
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "errors": "replace",
        "clean_up_tokenization_spaces": False,
        "split_special_tokens": False,
        "model_max_length": 262144,
    }
    tokenizer = Qwen2Tokenizer(**settings)
    specials = [AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS]
    tokenizer.add_tokens(specials, special_tokens=True)
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in TOOL_CALL_TOKENS])
    tokenizer.chat_template = chat_template()
    return tokenizer


def _build_config(token_ids: dict[str, int], vocab_size: int) -> Any:
    from transformers import Qwen3VLConfig

    return Qwen3VLConfig(
        text_config={
            "vocab_size": vocab_size,
            "hidden_size": _WIDTH,
            "intermediate_size": 2 * _WIDTH,
            "num_hidden_layers": 2,
            "num_attention_heads": _WIDTH // _TEXT_HEAD_DIM,
            "num_key_value_heads": _WIDTH // _TEXT_HEAD_DIM,
            "head_dim": _TEXT_HEAD_DIM,
            "max_position_embeddings": 32768,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 5_000_000.0,
                # Temporal/height/width rotary sections; they must sum to head_dim / 2.
                "mrope_section": [6, 5, 5],
                "mrope_interleaved": True,
            },
            "pad_token_id": token_ids["<|endoftext|>"],
        },
        vision_config={
            "depth": 2,
            "hidden_size": _WIDTH,
            "intermediate_size": 2 * _WIDTH,
            "num_heads": 2,
            "patch_size": 16,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            # The merger projects vision features into the text stream.
            "out_hidden_size": _WIDTH,
            # Interpolated over a square grid, so this must be a perfect square.
            "num_position_embeddings": 16 * 16,
            "deepstack_visual_indexes": [1],
        },
        image_token_id=token_ids["<|image_pad|>"],
        video_token_id=token_ids["<|video_pad|>"],
        vision_start_token_id=token_ids["<|vision_start|>"],
        vision_end_token_id=token_ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )


def build_tiny_qwen3vl(directory: Path, *, seed: int = 0) -> Path:
    """Write a tiny random Qwen3-VL checkpoint (model, tokenizer, processor) to ``directory``.

    The result loads with ``Qwen3VLForConditionalGeneration.from_pretrained(directory)``
    and ``agent.backends.processor.load_processor(str(directory))``. Same seed, same weights.
    """
    import torch
    from transformers import GenerationConfig, Qwen3VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )
    from transformers.utils import logging as hf_logging

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    tokenizer = _build_tokenizer()
    names = [*SPECIAL_TOKENS, *TOOL_CALL_TOKENS]
    token_ids = dict(zip(names, tokenizer.convert_tokens_to_ids(names), strict=True))
    vocab_size = -(-len(tokenizer) // _WIDTH) * _WIDTH  # lm_head width, a multiple of 64

    config = _build_config(token_ids, vocab_size)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = Qwen3VLForConditionalGeneration(config).eval()
    finally:
        # Do not leave the caller's global RNG reseeded as a side effect.
        torch.random.set_rng_state(generator_state)
    # No eos: a random model would stop at random; callers always pass max_new_tokens.
    model.generation_config = GenerationConfig(pad_token_id=token_ids["<|endoftext|>"])
    # A progress bar for a 2 MB shard is only noise on stderr.
    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model.save_pretrained(directory)
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()

    # The hub checkpoint's layout: tokenizer files, preprocessor_config.json,
    # video_preprocessor_config.json and chat_template.jinja side by side. Saving the
    # parts keeps it loadable without torchvision, which Qwen3VLProcessor itself needs.
    tokenizer.save_pretrained(directory)
    image_processor = Qwen2VLImageProcessorPil(
        size=dict(_IMAGE_SIZE),
        patch_size=16,
        temporal_patch_size=2,
        merge_size=2,
        image_mean=_IMAGE_MEAN_STD,
        image_std=_IMAGE_MEAN_STD,
    )
    image_processor.save_pretrained(directory)
    _add_processor_class(directory / "preprocessor_config.json")
    (directory / "video_preprocessor_config.json").write_text(
        json.dumps(_VIDEO_PREPROCESSOR_CONFIG, indent=2) + "\n", encoding="utf-8"
    )
    (directory / "chat_template.jinja").write_text(chat_template(), encoding="utf-8")
    logger.info("tiny Qwen3-VL written to %s", directory)
    return directory


def _add_processor_class(path: Path) -> None:
    # AutoProcessor reads this key to pick Qwen3VLProcessor, as in the hub checkpoint.
    data = json.loads(path.read_text(encoding="utf-8"))
    data["processor_class"] = "Qwen3VLProcessor"
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def force_reply_fn(
    tokenizer: Any, prompt_length: int, reply: str
) -> Callable[[int, torch.Tensor], list[int]]:
    """A ``prefix_allowed_tokens_fn`` under which ``generate`` emits exactly ``reply``.

    ``prompt_length`` is ``input_ids.shape[-1]`` of the prompt given to ``generate``.
    Each step allows only the reply's next token; once the reply is spent, only eos.
    Decoding the new tokens with ``skip_special_tokens=True`` gives back ``reply``.
    """
    reply_ids: list[int] = list(tokenizer.encode(reply, add_special_tokens=False))
    eos_id = tokenizer.eos_token_id
    if eos_id is None:
        raise ValueError("the tokenizer has no eos token to end a forced reply with")
    eos: list[int] = [int(eos_id)]

    def allowed(batch_id: int, input_ids: torch.Tensor) -> list[int]:
        step = int(input_ids.shape[-1]) - prompt_length
        if 0 <= step < len(reply_ids):
            return [reply_ids[step]]
        return eos

    return allowed


def forced_replies_fn(tokenizer: Any, replies: list[str]) -> Callable[[int, torch.Tensor], list[int]]:
    """Like ``force_reply_fn`` for a series of ``generate`` calls: the n-th call emits ``replies[n]``.

    A new call is recognised because the sequence length is not one more than last time,
    so the prompt length need not be known in advance (the loop builds the prompts).
    Past the last reply only eos is allowed, which decodes to an empty answer.
    """
    encoded = [list(tokenizer.encode(r, add_special_tokens=False)) for r in replies]
    eos = [int(tokenizer.eos_token_id)]
    state = {"call": -1, "base": 0, "last": -10}

    def allowed(batch_id: int, input_ids: torch.Tensor) -> list[int]:
        length = int(input_ids.shape[-1])
        if length != state["last"] + 1:
            state["call"] += 1
            state["base"] = length
        state["last"] = length
        call, step = state["call"], length - state["base"]
        if call < len(encoded) and step < len(encoded[call]):
            return [encoded[call][step]]
        return eos

    return allowed

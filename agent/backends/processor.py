"""Loading the Qwen3-VL processor (tokenizer, image processor, chat template), with or without torchvision.

``AutoProcessor`` builds ``Qwen3VLProcessor`` with its video processor, and that class
needs torchvision. CUDA users have it; CPU installs often must not (the registry's
torchvision wheels are CUDA builds that fail to import against CPU torch). The agent
only sends images, so without torchvision it builds the same processor minus video:
the checkpoint's tokenizer, the PIL image processor and the checkpoint's chat template.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
from typing import Any

from agent.errors import BackendError

logger = logging.getLogger(__name__)


def load_processor(model: str, *, local_files_only: bool = False) -> Any:
    """The processor for a hub id or a local checkpoint directory.

    With a working torchvision this is ``AutoProcessor.from_pretrained(model)``;
    without it, an image-only ``Qwen3VLProcessor`` built from the same files. Both
    take ``size={"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS}`` per call.
    Raises ``BackendError`` with a one-line reason when the files cannot be loaded.
    """
    model = os.path.expanduser(model)
    _check_directory(model)
    try:
        if _torchvision_usable():
            from transformers import AutoProcessor

            return AutoProcessor.from_pretrained(model, local_files_only=local_files_only)
        return _load_image_only(model, local_files_only=local_files_only)
    except BackendError:
        raise
    except Exception as exc:  # noqa: BLE001 - every load failure becomes one user-facing line
        raise BackendError(_explain(model, exc, local_files_only=local_files_only)) from exc


def count_image_tokens(processor: Any, width: int, height: int, max_pixels: int, min_pixels: int) -> int:
    """How many image tokens a ``width`` x ``height`` image costs at this pixel budget.

    Asks the processor's own ``smart_resize`` (through ``get_number_of_image_patches``,
    the hook vLLM uses), so the answer matches ``image_grid_thw.prod() // merge_size**2``
    of a real call without resizing a real image (0.4 s for a 1080p frame on 2 cores).
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    image_processor = processor.image_processor
    # This hook spells the budget min_pixels/max_pixels, where a processor call takes
    # size={"shortest_edge": ..., "longest_edge": ...}; both are pixel counts.
    patches = image_processor.get_number_of_image_patches(
        height, width, {"min_pixels": min_pixels, "max_pixels": max_pixels}
    )
    return int(patches) // int(image_processor.merge_size) ** 2


def _check_directory(model: str) -> None:
    # A local directory without these files otherwise fails deep inside the tokenizer
    # loader with a message that names neither the directory nor what is missing.
    if not os.path.isdir(model):
        return
    has_tokenizer = any(
        os.path.isfile(os.path.join(model, name)) for name in ("tokenizer.json", "vocab.json")
    )
    has_image_config = any(
        os.path.isfile(os.path.join(model, name))
        for name in ("preprocessor_config.json", "processor_config.json")
    )
    if not (has_tokenizer and has_image_config):
        raise BackendError(
            f"{model} is not a Qwen3-VL checkpoint directory: it needs tokenizer.json and "
            "preprocessor_config.json (as save_pretrained writes them)"
        )


def _torchvision_usable() -> bool:
    if importlib.util.find_spec("torchvision") is None:
        return False
    try:
        import torchvision  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - a broken build raises RuntimeError, not ImportError
        logger.warning("torchvision is installed but does not import (%s); using images only", exc)
        return False
    return True


def _load_image_only(model: str, *, local_files_only: bool) -> Any:
    from transformers import AutoTokenizer, Qwen3VLProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    logger.info("torchvision unavailable: loading an image-only processor for %s", model)
    tokenizer = AutoTokenizer.from_pretrained(model, local_files_only=local_files_only)
    # Reads preprocessor_config.json (hub layout) or the nested processor_config.json
    # that newer save_pretrained writes; the saved image_processor_type is ignored,
    # which is the point: that type resolves to the torchvision backend when present.
    image_processor = Qwen2VLImageProcessorPil.from_pretrained(model, local_files_only=local_files_only)
    # The same lookup Qwen3VLProcessor.from_pretrained does: chat_template.jinja, or
    # the legacy chat_template.json the hub checkpoints ship.
    processor_dict, _ = Qwen3VLProcessor.get_processor_dict(model, local_files_only=local_files_only)
    chat_template = processor_dict.get("chat_template") or tokenizer.chat_template
    if chat_template is None:
        raise BackendError(f"{model}: the checkpoint has no chat template")
    return _image_only_processor_class()(
        image_processor=image_processor, tokenizer=tokenizer, chat_template=chat_template
    )


@functools.cache
def _image_only_processor_class() -> type[Any]:
    # Defined on first use so importing this module does not import transformers.
    from transformers import Qwen3VLProcessor

    class ImageOnlyQwen3VLProcessor(Qwen3VLProcessor):
        """Qwen3VLProcessor without a video processor (which would need torchvision).

        ProcessorMixin takes its sub-processors from this ``__init__`` signature, so
        leaving ``video_processor`` out is what makes it optional; videos are ignored.
        """

        def __init__(
            self,
            image_processor: Any = None,
            tokenizer: Any = None,
            chat_template: str | None = None,
            **kwargs: Any,
        ) -> None:
            super().__init__(image_processor, tokenizer, None, chat_template=chat_template, **kwargs)

    return ImageOnlyQwen3VLProcessor


def _explain(model: str, exc: BaseException, *, local_files_only: bool) -> str:
    from huggingface_hub import constants

    offline = local_files_only or constants.HF_HUB_OFFLINE
    # Hub ids are "owner/name"; anything else path-shaped is meant as a directory.
    looks_like_path = model.startswith((".", "/", "~")) or model.count("/") > 1 or "\\" in model
    if looks_like_path and not os.path.isdir(model):
        return f"model directory {model} does not exist"
    if not os.path.isdir(model) and offline and isinstance(exc, OSError):
        return (
            f"{model} is not in the local Hugging Face cache and downloads are off "
            "(HF_HUB_OFFLINE=1 or local_files_only): download it once with "
            f"`hf download {model}` while online, or pass a local model directory"
        )
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"cannot load the processor for {model}: {first_line}"

"""Whether a local model can run here: its weights on this machine, a CUDA GPU; nothing is loaded."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agent.backends.hub import hf_command


@dataclass(frozen=True)
class ModelCheck:
    """One probe's answer in words: "ok", or "fail" with what to do about it."""

    level: Literal["ok", "fail"]
    detail: str


def has_cuda() -> bool:
    try:
        import torch
    except Exception:
        return False
    return bool(torch.cuda.is_available())


def free_bytes(cuda: bool) -> int:
    """Free GPU memory with CUDA, else the system memory available: what a model may fill."""
    if cuda:
        import torch

        return int(torch.cuda.mem_get_info()[0])
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def _looks_like_path(model: str) -> bool:
    # A hub id is "org/name"; anything else that names a file system place is a path.
    return model.startswith((".", "/", "~")) or model.count("/") > 1 or Path(model).exists()


def check_local_model(model: str, cache_dir: Path | None = None) -> list[ModelCheck]:
    """Whether the model a local run would load is on this machine: a folder, or in the cache."""
    if _looks_like_path(model):
        folder = Path(model).expanduser()
        if (folder / "config.json").is_file():
            return [ModelCheck("ok", f"{model} (local folder)")]
        what = "has no config.json" if folder.is_dir() else "does not exist"
        return [ModelCheck("fail", f"the model folder {model} {what}")]
    from huggingface_hub import constants, try_to_load_from_cache

    where = cache_dir or Path(constants.HF_HUB_CACHE)
    # Works whether or not the cache folder exists (no folder: nothing is cached).
    found = try_to_load_from_cache(model, "config.json", cache_dir=where)
    if isinstance(found, str):
        return [ModelCheck("ok", f"{model} (in the Hugging Face cache at {where})")]
    return [
        ModelCheck(
            "fail",
            f"{model} is not downloaded (not in the Hugging Face cache at {where}); get it with "
            # Path.exists, as the doctor always looked for hf: a link to it counts.
            f"`{hf_command(exists=Path.exists)} download {model}`, or pass --model with a local folder or a "
            "smaller model such as Qwen/Qwen3-VL-2B-Instruct",
        )
    ]

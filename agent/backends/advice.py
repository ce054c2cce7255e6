"""Which Qwen3-VL size fits this machine, and when a model server is the better choice; pure.

The sizes are the weights' memory at bf16 and at NF4 with the vision tower,
embeddings and ``lm_head`` kept in bf16 (computed from the real configs). Without an
NVIDIA GPU the model runs on the CPU, where even the 2B model takes tens of seconds per
step, so the advice there is a server first and the smallest model second.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agent.backends.precision import CPU_FLOPS, GIB, HEADROOM_BYTES

GB = 1e9
# A typical step's prompt with a full-HD screenshot at the default pixel budget.
STEP_TOKENS = 1100


@dataclass(frozen=True)
class ModelSize:
    label: str
    model_id: str
    bf16_bytes: int
    nf4_bytes: int

    @property
    def params(self) -> float:
        return self.bf16_bytes / 2


SIZES = (
    ModelSize("8B", "Qwen/Qwen3-VL-8B-Instruct", int(17.5 * GB), int(7.2 * GB)),
    ModelSize("4B", "Qwen/Qwen3-VL-4B-Instruct", int(8.9 * GB), int(3.5 * GB)),
    ModelSize("2B", "Qwen/Qwen3-VL-2B-Instruct", int(4.3 * GB), int(2.2 * GB)),
)
_BY_LABEL = {size.label: size for size in SIZES}
_SIZE_IN_NAME = re.compile(r"(?<![\d.])([248])b(?![a-z\d])", re.IGNORECASE)


@dataclass(frozen=True)
class Advice:
    """What fits (largest first), at which precision, and whether a server is the better choice."""

    fits: ModelSize | None
    precision: str | None  # "bf16" or "nf4" for ``fits``
    prefer_server: bool
    line: str


def size_of(model: str) -> ModelSize | None:
    """The Qwen3-VL size a model name states (``Qwen3-VL-8B-Instruct``, ``qwen3-vl:2b``), if any."""
    match = _SIZE_IN_NAME.search(model.rsplit("/", 1)[-1])
    return _BY_LABEL.get(match.group(1).upper() + "B") if match else None


def size_for_params(total_params: int) -> ModelSize:
    """The nearest Qwen3-VL size to a parameter count (for local folders and fine-tunes)."""
    return min(SIZES, key=lambda size: abs(size.params - total_params))


def seconds_per_step_on_cpu(size: ModelSize) -> float:
    """Order of magnitude: 2 FLOPs per parameter per prompt token (as precision.py estimates)."""
    return 2.0 * size.params * STEP_TOKENS / CPU_FLOPS


def _fits(need: int, free_bytes: int) -> bool:
    return need + HEADROOM_BYTES <= free_bytes


def _minutes(seconds: float) -> str:
    return f"about {seconds / 60:.0f} min" if seconds >= 90 else f"about {seconds:.0f} s"


def advise(requested: ModelSize | None, free_bytes: int, cuda: bool) -> Advice | None:
    """Advice for running ``requested`` in process, or None when it fits and nothing better applies.

    ``free_bytes`` is free GPU memory with CUDA, else available system RAM.
    """
    free = f"{free_bytes / GIB:.1f} GiB"
    if not cuda:
        smallest = SIZES[-1]
        fits = smallest if _fits(smallest.nf4_bytes, free_bytes) else None
        precision = None
        if fits is not None:
            precision = "bf16" if _fits(fits.bf16_bytes, free_bytes) else "nf4"
        slow = (
            f"{requested.label} in process takes {_minutes(seconds_per_step_on_cpu(requested))} per step here"
            if requested is not None
            else "a model in process takes minutes per step here"
        )
        if fits is None:
            alternative = f"not even the 2B model fits in {free} of RAM"
        elif requested is not None and requested.label == fits.label:
            alternative = "a server on a machine with a GPU is much faster"
        else:
            alternative = (
                f"else use {fits.model_id} ({_minutes(seconds_per_step_on_cpu(fits))} per step, "
                f"{_gb(fits, precision)} of the {free} RAM free)"
            )
        return Advice(
            fits,
            precision,
            True,
            f"no NVIDIA GPU: {slow}; prefer a model server (--backend openai --base-url URL); {alternative}",
        )
    for size in SIZES:
        for precision, need in (("bf16", size.bf16_bytes), ("nf4", size.nf4_bytes)):
            if _fits(need, free_bytes):
                if requested is None or requested.bf16_bytes <= size.bf16_bytes:
                    return None  # the requested model fits (at some precision auto will find)
                return Advice(
                    size,
                    precision,
                    False,
                    f"{requested.label} does not fit in {free} of free GPU memory even at nf4 "
                    f"({requested.nf4_bytes / GB:.1f} GB + headroom); {size.model_id} fits at "
                    f"{precision} ({_gb(size, precision)}), or use a model server (--backend openai)",
                )
    return Advice(
        None,
        None,
        True,
        f"not even the 2B model fits in {free} of free GPU memory "
        f"({SIZES[-1].nf4_bytes / GB:.1f} GB at nf4 + headroom): use a model server (--backend openai)",
    )


def _gb(size: ModelSize, precision: str | None) -> str:
    need = size.bf16_bytes if precision == "bf16" else size.nf4_bytes
    return f"{need / GB:.1f} GB"


def sizes_that_fit(free_bytes: int, smaller_than: ModelSize | None = None) -> list[tuple[ModelSize, str]]:
    """The Qwen3-VL sizes (largest first) that fit ``free_bytes``, each at the best precision that fits."""
    fitting: list[tuple[ModelSize, str]] = []
    for size in SIZES:
        if smaller_than is not None and size.bf16_bytes >= smaller_than.bf16_bytes:
            continue
        if _fits(size.bf16_bytes, free_bytes):
            fitting.append((size, "bf16"))
        elif _fits(size.nf4_bytes, free_bytes):
            fitting.append((size, "nf4"))
    return fitting


def missing_model_for_settings(
    model: str, problem: str, free_bytes: int, cuda: bool, servers: Sequence[tuple[str, str, str]]
) -> str:
    """What to change in a settings window when ``model`` is not here: no command-line flag in it.

    ``servers`` are (who, base URL, model it serves) of model servers found on this machine.
    Field names are the settings window's: Backend, Model, Server URL.
    """
    memory = "GPU memory" if cuda else "memory (no NVIDIA GPU: each step takes minutes)"
    lines = [f"{problem[:1].upper()}{problem[1:]}."]
    fitting = sizes_that_fit(free_bytes, size_of(model))
    if fitting:
        named = ", ".join(f"{size.model_id} ({_gb(size, precision)})" for size, precision in fitting)
        lines.append(
            f"In Settings, set Model to the folder of a downloaded model, or to a smaller model that "
            f"fits the {free_bytes / GIB:.1f} GiB of free {memory}: {named}; it downloads on the next run."
        )
    else:
        lines.append(
            f"In Settings, set Model to the folder of a downloaded model; no Qwen3-VL size fits the "
            f"{free_bytes / GIB:.1f} GiB of free {memory}, so a model server is the way here."
        )
    for who, base_url, served in servers:
        lines.append(
            f"A model server answers on this machine ({who} at {base_url}): in Settings, set Backend to "
            f"OpenAI-compatible server, Server URL to {base_url} and Model to {served}."
        )
    if not servers:
        lines.append(
            "Or run a model server (Ollama, llama.cpp, vLLM, LM Studio) and, in Settings, set Backend to "
            "OpenAI-compatible server and Server URL to its address."
        )
    return "\n".join(lines)


# A command-line option in a message, and what a settings window calls it (the tray has no
# flags). Longest first: "--backend openai --base-url URL --model NAME" is one instruction.
_FLAG_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"--backend openai --base-url (\S+) --model (\S+)"),
        r"Backend OpenAI-compatible server, Server URL \1 and Model \2 in Settings",
    ),
    (
        re.compile(r"--backend openai --base-url URL"),
        "Backend OpenAI-compatible server and a Server URL in Settings",
    ),
    (re.compile(r"--backend openai"), "Backend OpenAI-compatible server in Settings"),
    (re.compile(r"--precision (\w+)"), r"Precision \1 in Settings"),
    (re.compile(r"--base-url"), "Server URL in Settings"),
    (re.compile(r"--model"), "Model in Settings"),
)


def in_settings_terms(text: str) -> str:
    """``text`` with the model's command-line options named as the settings window names them."""
    for flag, words in _FLAG_WORDS:
        text = flag.sub(words, text)
    return text

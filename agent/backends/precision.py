"""Choosing a precision from the model's size and the memory at hand; pure arithmetic.

``auto`` picks bf16 when the device holds the bf16 weights comfortably, else int8,
else NF4. The estimates count the parts bitsandbytes leaves unquantized (vision tower,
embeddings, lm_head) at 16 bits, as ``agent.backends.local`` loads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from agent.errors import ConfigError

GIB = 1024**3
# Room for activations, the KV cache of a few thousand tokens and allocator slack.
HEADROOM_BYTES = int(1.5 * GIB)
COMFORT = 1.15
# A rough sustained CPU throughput for the time-per-step warning (2 cores, bf16/fp32).
CPU_FLOPS = 1.0e11


class Precision(StrEnum):
    AUTO = "auto"
    NF4 = "nf4"
    INT8 = "int8"
    BF16 = "bf16"
    FP16 = "fp16"
    FP32 = "fp32"


def parse_precision(value: str) -> Precision:
    try:
        return Precision(value.lower())
    except ValueError:
        choices = "|".join(p.value for p in Precision)
        raise ConfigError(f"unknown precision {value!r}; choose {choices}") from None


@dataclass(frozen=True)
class ParamCounts:
    """Parameters that bitsandbytes would quantize, and those it keeps in 16 bits."""

    quantizable: int
    kept: int

    @property
    def total(self) -> int:
        return self.quantizable + self.kept


def weight_bytes(params: ParamCounts, precision: Precision) -> int:
    """Bytes the weights take on the device at ``precision`` (not AUTO)."""
    kept16 = params.kept * 2
    match precision:
        case Precision.FP32:
            return params.total * 4
        case Precision.BF16 | Precision.FP16:
            return params.total * 2
        case Precision.INT8:
            # one byte per weight plus a float scale per output row (~1%)
            return int(params.quantizable * 1.01) + kept16
        case Precision.NF4:
            # half a byte per weight plus double-quantized absmax per 64-block (~0.4 bits)
            return int(params.quantizable * (0.5 + 0.05)) + kept16
    raise ConfigError(f"no size for precision {precision}")


def choose_precision(params: ParamCounts, free_bytes: int) -> Precision:
    """The widest of bf16 → int8 → nf4 whose weights fit ``free_bytes`` comfortably."""
    for candidate in (Precision.BF16, Precision.INT8, Precision.NF4):
        if weight_bytes(params, candidate) * COMFORT + HEADROOM_BYTES <= free_bytes:
            return candidate
    return Precision.NF4


def cpu_seconds_per_step(params: ParamCounts, prompt_tokens: int) -> float:
    """Order-of-magnitude prefill time on a CPU: 2 FLOPs per parameter per token."""
    return 2.0 * params.total * prompt_tokens / CPU_FLOPS

"""Precision choice and memory estimates: pure arithmetic, checked against the real 8B sizes."""

from __future__ import annotations

import pytest

from agent.backends.precision import (
    GIB,
    ParamCounts,
    Precision,
    choose_precision,
    cpu_seconds_per_step,
    parse_precision,
    weight_bytes,
)
from agent.errors import ConfigError

# Qwen3-VL-8B: 8.77 B parameters; vision tower 0.58 B, embeddings and lm_head 2 x 0.62 B.
QWEN3_VL_8B = ParamCounts(quantizable=int(8.77e9 - 0.58e9 - 2 * 0.622e9), kept=int(0.58e9 + 2 * 0.622e9))


def test_estimates_match_the_published_sizes() -> None:
    assert weight_bytes(QWEN3_VL_8B, Precision.BF16) / 1e9 == pytest.approx(17.5, abs=0.1)
    assert weight_bytes(QWEN3_VL_8B, Precision.NF4) / 1e9 == pytest.approx(7.5, abs=0.5)
    assert weight_bytes(QWEN3_VL_8B, Precision.NF4) < weight_bytes(QWEN3_VL_8B, Precision.INT8) < weight_bytes(
        QWEN3_VL_8B, Precision.BF16
    )


@pytest.mark.parametrize(
    ("free_gib", "expected"),
    [(80, Precision.BF16), (24, Precision.BF16), (16, Precision.INT8), (13, Precision.INT8), (12, Precision.NF4), (4, Precision.NF4)],
)
def test_auto_takes_the_widest_precision_that_fits(free_gib: float, expected: Precision) -> None:
    assert choose_precision(QWEN3_VL_8B, int(free_gib * GIB)) is expected


def test_cpu_estimate_is_minutes_for_the_8b_model() -> None:
    assert cpu_seconds_per_step(QWEN3_VL_8B, 1100) > 60


@pytest.mark.parametrize("value", ["NF4", "int8", "Auto"])
def test_parse_precision_accepts_any_case(value: str) -> None:
    assert parse_precision(value).value == value.lower()


def test_parse_precision_rejects_unknown() -> None:
    with pytest.raises(ConfigError, match="auto|nf4"):
        parse_precision("int3")

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


# ---------------------------------------------------------------------------- which size fits

from agent.backends.advice import SIZES, advise, size_for_params, size_of  # noqa: E402

B8, B4, B2 = SIZES


@pytest.mark.parametrize(
    ("model", "label"),
    [
        ("Qwen/Qwen3-VL-8B-Instruct", "8B"),
        ("Qwen/Qwen3-VL-4B-Thinking", "4B"),
        ("Qwen/Qwen3-VL-2B-Instruct", "2B"),
        ("qwen3-vl:8b", "8B"),
        ("someone/my-qwen3-vl-2b-finetune", "2B"),
        ("Qwen/Qwen3-VL-32B-Instruct", None),
        ("Qwen/Qwen3-VL-404B-Instruct", None),
        ("/models/local-folder", None),
    ],
)
def test_the_size_a_model_name_states(model: str, label: str | None) -> None:
    size = size_of(model)
    assert (size.label if size else None) == label


@pytest.mark.parametrize(("params", "label"), [(8.77e9, "8B"), (4.4e9, "4B"), (2.1e9, "2B"), (5e6, "2B")])
def test_the_nearest_size_to_a_parameter_count(params: float, label: str) -> None:
    assert size_for_params(int(params)).label == label


@pytest.mark.parametrize(
    ("requested", "free_gb", "fits", "precision", "server"),
    [
        # Enough GPU memory for the model asked for (at some precision): nothing to say.
        (B8, 24, None, None, None),
        (B8, 10, None, None, None),  # 8B at nf4: 7.2 GB + headroom
        (B2, 4, None, None, None),
        # Too little for the 8B even at nf4: the largest that fits, widest precision first.
        (B8, 8, "4B", "nf4", False),
        (B8, 6, "4B", "nf4", False),
        (B4, 4, "2B", "nf4", False),
        (B8, 3, None, None, True),  # not even the 2B at nf4: a server
    ],
)
def test_with_cuda_the_largest_size_that_fits(requested, free_gb: float, fits: str | None, precision: str | None, server: bool | None) -> None:
    advice = advise(requested, int(free_gb * 1e9), cuda=True)
    if server is None:
        assert advice is None
        return
    assert advice is not None
    assert (advice.fits.label if advice.fits else None, advice.precision, advice.prefer_server) == (fits, precision, server)
    if fits:
        assert f"Qwen/Qwen3-VL-{fits}-Instruct fits at {precision}" in advice.line


@pytest.mark.parametrize(
    ("requested", "ram_gb", "fits", "precision", "fragment"),
    [
        (B8, 32, "2B", "bf16", "8B in process takes about 3 min per step here"),
        (B8, 5, "2B", "nf4", "else use Qwen/Qwen3-VL-2B-Instruct"),
        (B2, 32, "2B", "bf16", "a server on a machine with a GPU is much faster"),
        (B8, 2, None, None, "not even the 2B model fits"),
        (None, 32, "2B", "bf16", "a model in process takes minutes per step here"),
    ],
)
def test_without_cuda_a_server_first_and_the_smallest_model_second(requested, ram_gb: float, fits: str | None, precision: str | None, fragment: str) -> None:
    advice = advise(requested, int(ram_gb * 1e9), cuda=False)
    assert advice is not None and advice.prefer_server
    assert (advice.fits.label if advice.fits else None, advice.precision) == (fits, precision)
    assert advice.line.startswith("no NVIDIA GPU: ") and fragment in advice.line and "--backend openai" in advice.line
    assert "\n" not in advice.line

"""The GPU benchmark's full-size configuration is the real Qwen3-VL-8B architecture."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from agent.backends.local import count_params

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))


def test_bench_8b_config_has_the_published_parameter_count(tiny_model_dir: Path) -> None:
    from bench_model import qwen3vl_8b_config

    params = count_params(qwen3vl_8b_config(tiny_model_dir))
    assert params.total / 1e9 == pytest.approx(8.77, abs=0.01)
    # vision tower (0.58 B) + embeddings + lm_head stay unquantized
    assert params.kept / 1e9 == pytest.approx(0.58 + 2 * 0.622, abs=0.02)

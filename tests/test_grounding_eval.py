"""The grounding eval on a synthetic ScreenSpot set with a fake model of known pointing error."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.grounding.dataset import load_dataset
from agent.grounding.evaluate import evaluate, read_results
from agent.grounding.locate import GroundingAsker
from agent.grounding.refine import RefineMode, Refiner
from agent.testing.grounding import FakeGroundingBackend
from agent.testing.screenspot import synthetic_targets, write_synthetic_screenspot
from tests.support import call, deskpilot, write_script

# 10 grid units right, 6 down: 19.2 x 6.5 px on the full 1920x1080 frame, 4.8 x 1.6 px on a 480x270 crop.
ERROR = (10.0, 6.0)


def _by_hand(refined: bool) -> dict[str, int]:
    """Hits per side computed from the error alone: inside when the offset is within half the side."""
    dx, dy = (ERROR[0] / 1000 * 1920, ERROR[1] / 1000 * 1080)
    if refined:
        dx, dy = dx / 4, dy / 4
    return {str(t.side): int(dx <= t.side / 2 and dy <= t.side / 2) for t in synthetic_targets()}


def _variant(targets: dict[str, tuple[int, int, int]], mode: RefineMode):
    def make():
        asker = GroundingAsker(FakeGroundingBackend(targets, error=ERROR))
        return asker, (None if mode is RefineMode.OFF else Refiner(asker, mode))

    return (mode.value, make)


@pytest.fixture(scope="module", params=["v2", "pro"])
def dataset(request, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp(f"screenspot-{request.param}")
    return root, write_synthetic_screenspot(root, request.param)


def test_accuracy_equals_the_count_by_hand_and_refinement_hits_what_one_pass_missed(dataset) -> None:
    root, targets = dataset
    samples = load_dataset(root)
    assert len(samples) == 10
    report = evaluate(
        samples, [_variant(targets, RefineMode.OFF), _variant(targets, RefineMode.AUTO)], threading.Event()
    )
    single_hand = sum(_by_hand(False).values()) * 2  # two platforms (or applications), same layout
    refined_hand = sum(_by_hand(True).values()) * 2
    assert (single_hand, refined_hand) == (4, 8)
    rows = dict(report.rows())
    assert [(t.hits, t.total) for t in rows["overall"]] == [(single_hand, 10), (refined_hand, 10)]
    assert [(t.hits, t.total) for t in rows["icon"]] == [(0, 6), (4, 6)]
    assert [(t.hits, t.total) for t in rows["text"]] == [(4, 4), (4, 4)]
    kind = "platform" if (root / "screenspotv2_image").is_dir() else "application"
    assert [(t.hits, t.total) for t in rows[f"{kind} desktop"]] == [(2, 5), (4, 5)]
    text = report.text()
    overall = next(line for line in text.splitlines() if line.startswith("overall"))
    assert "4/10 40.0%" in overall and "8/10 80.0%" in overall
    # The 64 and 128 px targets are on large structure: auto refines only the three small ones.
    assert "refinement auto: refined 6 of 10; 4 hits the single pass missed, 0 misses it had hit" in text


def test_results_are_written_per_sample_and_resume_skips_what_is_done(dataset, tmp_path: Path) -> None:
    root, targets = dataset
    samples = load_dataset(root)
    out = tmp_path / "results.jsonl"
    evaluate(samples[:4], [_variant(targets, RefineMode.ALWAYS)], threading.Event(), out=out)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    first = read_results(out)
    assert [r.id for r in first] == [s.id for s in samples[:4]]
    assert all(r.point is not None and r.variant == "always" for r in first)
    with pytest.raises(ConfigError, match="--resume"):
        evaluate(samples, [_variant(targets, RefineMode.ALWAYS)], threading.Event(), out=out)
    asked: list[int] = []

    def counting():
        asker, refiner = _variant(targets, RefineMode.ALWAYS)[1]()
        asked.append(1)
        original = asker.backend.complete

        def complete(*args, **kwargs):
            asked.append(1)
            return original(*args, **kwargs)

        asker.backend.complete = complete  # type: ignore[method-assign]
        return asker, refiner

    report = evaluate(samples, [("always", counting)], threading.Event(), out=out, resume=True)
    assert len(asked) == 1 + 2 * 6  # made once; two requests for each of the 6 samples left
    assert len(read_results(out)) == 10
    assert dict(report.rows())["overall"][0].total == 10


def test_a_half_written_last_line_is_dropped_on_resume(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    line = {
        "id": "a",
        "variant": "v",
        "instruction": "i",
        "data_type": "icon",
        "group_kind": "platform",
        "group": "web",
        "box": [0, 0, 1, 1],
        "point": None,
        "hit": False,
    }
    out.write_text(json.dumps(line) + "\n" + '{"id": "b", "var', encoding="utf-8")
    assert [r.id for r in read_results(out)] == ["a"]


@pytest.mark.process
def test_cli_eval_prints_overall_and_writes_json_lines(tmp_path: Path) -> None:
    root = tmp_path / "ss"
    write_synthetic_screenspot(root, "v2")
    # Scripted replies: the first sample's box centre, then nowhere (a terminate), through --limit 2.
    replies = [
        call('{"action": "left_click", "coordinate": [886, 500]}'),
        call('{"action": "terminate", "status": "failure"}'),
    ]
    script = write_script(tmp_path / "replies.jsonl", replies)
    out = tmp_path / "out.jsonl"
    result = deskpilot(
        "eval",
        "grounding",
        str(root),
        "--limit",
        "2",
        "--script",
        str(script),
        "--refine",
        "off",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    overall = result.stdout.splitlines()[0]
    assert overall.split() == ["overall", "1/2", "50.0%"]
    assert "[script 2/2]" in result.stderr  # progress
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(x["hit"], x["point"] is None) for x in lines] == [(True, False), (False, True)]


@pytest.mark.process
def test_cli_eval_bad_dataset_is_one_line(tmp_path: Path) -> None:
    result = deskpilot("eval", "grounding", str(tmp_path), "--script", str(tmp_path / "x.jsonl"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "neither ScreenSpot-Pro" in result.stderr


@pytest.mark.process
def test_cli_compare_runs_the_same_samples_per_model_side_by_side(tmp_path: Path) -> None:
    from tests.loopback_servers import StubServer, serving

    root = tmp_path / "ss"
    write_synthetic_screenspot(root, "v2")
    hit = call('{"action": "left_click", "coordinate": [886, 500]}')  # the first sample's box centre
    miss = call('{"action": "left_click", "coordinate": [10, 10]}')
    # Model a answers both samples (hit, miss), then model b (miss, miss); refinement off.
    with serving(StubServer(models=["a", "b"], replies=[hit, miss, miss, miss])) as stub:
        result = deskpilot("eval", "grounding", str(root), "--limit", "2", "--backend", "openai",
                           "--base-url", stub.url, "--model", "a", "--compare", "a,b", "--refine", "off")
    assert result.returncode == 0, result.stderr
    header, overall = result.stdout.splitlines()[:2]
    assert header.split() == ["a", "b"]
    assert overall.split() == ["overall", "1/2", "50.0%", "0/2", "0.0%"]
    models = [body["model"] for method, _, body, _ in stub.calls if method == "POST"]
    assert models == ["a", "a", "b", "b"]

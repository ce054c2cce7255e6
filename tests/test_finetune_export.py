"""Fine-tuning export: recorded runs → a LLaMA-Factory dataset that validates and reads back."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from agent.backends.base import Completion
from agent.backends.scripted import ScriptedBackend
from agent.cli.options import agent_run_named
from agent.computer_use.loop import AgentLoop
from agent.computer_use.planner import Planner
from agent.errors import ConfigError
from agent.finetune.export import export_runs, load_recorded_run, validate_export
from agent.geometry import Region
from agent.grounding.locate import GroundingAsker
from agent.grounding.refine import RefineMode, Refiner
from agent.records.history import RunRecorder, list_runs, load_run
from agent.records.schema import RunInfo, StepRecord
from agent.run.policy import ConfirmMode, Policy, PolicyConfig
from agent.run.ports import ConfirmResult
from agent.testing.fake import FakeComputer
from agent.testing.grounding import FakeGroundingBackend
from agent.testing.operator import FakeOperator
from tests.support import call, deskpilot

CLICK = call('{"action": "left_click", "coordinate": [500, 500]}')
SAVE = call('{"action": "key", "keys": ["ctrl", "s"]}')
ENTER = call('{"action": "key", "keys": ["enter"]}')
DONE = call('{"action": "terminate", "status": "success"}')


def _record(root: Path, backend, operator: FakeOperator, computer: FakeComputer, planner: Planner | None = None,
            task: str = "save the file") -> str:
    recorder = RunRecorder.start(
        root,
        RunInfo(id="", task=task, backend="script", model="Qwen/Qwen3-VL-2B-Instruct",
                settings={"max_pixels": 1024 * 32 * 32, "frame": "rel1000"}, started_at="2026-12-01T08:00:00+00:00"),
    )
    loop = AgentLoop.on(
        computer, planner or Planner(backend), Policy(PolicyConfig(confirm=ConfirmMode("risky")), extra_denied=("ctrl+alt+k",)),
        operator, computer.cancel, recorder=recorder,
    )
    loop.run(task)
    return recorder.run_dir.name


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("runs")
    backend = ScriptedBackend([CLICK, SAVE, ENTER, DONE])
    # ctrl+s is rejected by the user, Enter approved; the click and the terminate need no one.
    operator = FakeOperator(answers=[ConfirmResult("rejected"), ConfirmResult("approved")])
    run_id = _record(root, backend, operator, FakeComputer())
    return root, run_id, backend


def _load_like_llama_factory(folder: Path) -> list[tuple[list[dict], list[Image.Image], list]]:
    """Read the export the way LLaMA-Factory does: dataset_info.json → file → columns → images."""
    info = json.loads((folder / "dataset_info.json").read_text())["deskpilot"]
    assert info["formatting"] == "sharegpt"
    columns = info["columns"]
    rows = json.loads((folder / info["file_name"]).read_text())
    out = []
    for row in rows:
        images = [Image.open(folder / path) for path in row[columns["images"]]]
        out.append((row[columns["messages"]], images, json.loads(row[columns["tools"]])))
    return out


def test_export_keeps_approved_and_successful_steps_and_reads_back(recorded, tmp_path: Path) -> None:
    root, run_id, backend = recorded
    out = tmp_path / "ds"
    summary = export_runs([load_recorded_run(root, run_id)], out)
    assert (summary.samples, summary.skipped) == (3, 1)  # the rejected ctrl+s is left out
    rows = _load_like_llama_factory(out)
    assert len(rows) == 3
    for (messages, images, tools), sent in zip(rows, [backend.requests[i] for i in (0, 2, 3)], strict=True):
        assert [m["role"] for m in messages] == ["system", "user", "assistant"]
        assert sum(m["content"].count("<image>") for m in messages) == len(images) == 1
        assert images[0].size == (1920, 1080)
        assert tools == sent.tools  # the very tool schema the agent sent
        assert messages[0]["content"] == sent.messages[0]["content"][0]["text"]
        sent_user = "".join(p.get("text", "<image>") for p in sent.messages[1]["content"])
        assert messages[1]["content"] == sent_user  # the same task, history lines and placeholder
    assert rows[1][0][2]["content"] == ENTER
    assert "Step 2: key" in rows[1][0][1]["content"]  # the rejected step still shows in the history
    yaml = (out / "lora_sft.yaml").read_text()
    for line in ("template: \"qwen3_vl\"", "lora_rank: 64", "lora_alpha: 16", "finetuning_type: \"lora\"",
                 "model_name_or_path: \"Qwen/Qwen3-VL-2B-Instruct\"", "dataset: \"deskpilot\""):
        assert line in yaml
    for path in [out / "deskpilot.json", *(out / "images").iterdir()]:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_all_exports_every_step_and_validation_catches_a_missing_image(recorded, tmp_path: Path) -> None:
    root, run_id, _ = recorded
    out = tmp_path / "all"
    assert export_runs([load_recorded_run(root, str(root / run_id))], out, include_all=True).samples == 4
    next((out / "images").iterdir()).unlink()
    with pytest.raises(ConfigError, match="is missing"):
        validate_export(out)


def test_refined_click_is_kept_in_the_step_record(tmp_path: Path) -> None:
    image = Image.new("RGB", (1920, 1080), (235, 235, 235))
    ImageDraw.Draw(image).rectangle((1880, 40, 1895, 55), fill=(200, 40, 160))
    fake = FakeGroundingBackend({"pink": (200, 40, 160)}, error=(10, 0))

    class ClickThenDone:  # the fake model for the click and its crop, then the task ends
        name = "click-then-done"
        calls = 0

        def complete(self, request, cancel, on_text=None):
            self.calls += 1
            return fake.complete(request, cancel, on_text) if self.calls <= 2 else Completion(DONE)

    backend = ClickThenDone()
    planner = Planner(backend, refiner=Refiner(GroundingAsker(backend), RefineMode.AUTO))
    computer = FakeComputer(region=Region(0, 0, 1920, 1080), image=image)
    run_id = _record(tmp_path, None, FakeOperator(), computer, planner=planner, task="click the pink icon")
    _, records = load_run(tmp_path, run_id)
    refinement = records[0].refinement
    assert refinement is not None and refinement["used"] and refinement["crop"]["left"] == 1440
    (click,) = computer.performed
    assert 1880 <= click.x < 1896 and 40 <= click.y < 56  # the refined point is what was clicked
    assert records[0].actions[0].screen["x"] == click.x


@pytest.mark.process
def test_cli_export_and_bad_input(recorded, tmp_path: Path) -> None:
    root, run_id, _ = recorded
    out = tmp_path / "cli"
    result = deskpilot("export-finetune", "latest", "--history-dir", str(root), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "exported 3 steps of 1 run " in result.stderr
    again = deskpilot("export-finetune", "latest", "--history-dir", str(root), "--out", str(out))
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "not an empty folder" in again.stderr
    macro = tmp_path / "m.json"
    macro.write_text("{}")
    missing = deskpilot("export-finetune", str(macro), "--history-dir", str(root), "--out", str(tmp_path / "x"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1


def test_a_macro_made_from_a_run_exports_that_run_and_a_recorded_one_is_refused(recorded, tmp_path: Path) -> None:
    from agent.macros.from_run import macro_from_run
    from agent.macros.schema import save_macro

    root, run_id, _ = recorded
    macro = macro_from_run(root, run_id)
    assert macro.run_id == run_id
    path = tmp_path / "from-run.json"
    save_macro(macro, path)
    summary = export_runs([load_recorded_run(root, str(path))], tmp_path / "ds")
    assert (summary.samples, summary.skipped) == (3, 1)  # the same steps as exporting the run itself
    recorded_macro = macro.model_copy(update={"source": "recorded", "run_id": ""})
    save_macro(recorded_macro, tmp_path / "recorded.json")
    with pytest.raises(ConfigError, match="keeps only crops around its targets"):
        load_recorded_run(root, str(tmp_path / "recorded.json"))


class _Broken(FakeComputer):
    def perform(self, action) -> None:  # type: ignore[no-untyped-def]
        from agent.errors import DisplayError

        raise DisplayError("the pointer moved; not clicking")


@pytest.mark.parametrize(
    ("first", "answers", "computer", "told"),
    [
        (call('{"action": "key", "keys": ["ctrl", "alt", "k"]}'), [], FakeComputer(), "was refused ("),
        (SAVE, [ConfirmResult("rejected", "use the menu")], FakeComputer(), "The user says: use the menu"),
        (SAVE, [ConfirmResult("timed_out")], FakeComputer(), "nobody confirmed it in time"),
        (CLICK, [], _Broken(), "failed: the pointer moved; not clicking"),
    ],
    ids=["refused", "rejected with a note", "timed out", "failed"],
)
def test_the_export_says_what_the_loop_told_the_model_about_an_action_not_done(
    tmp_path: Path, first: str, answers: list[ConfirmResult], computer: FakeComputer, told: str
) -> None:
    backend = ScriptedBackend([first, DONE])
    run_id = _record(tmp_path, backend, FakeOperator(answers=list(answers)), computer)
    out = tmp_path / "ds"
    export_runs([load_recorded_run(tmp_path, run_id)], out)
    (row,) = _load_like_llama_factory(out)  # the step after the action not done
    sent = backend.requests[1]
    sent_user = "".join(p.get("text", "<image>") for p in sent.messages[1]["content"])
    assert told in sent_user
    assert row[0][1]["content"] == sent_user  # word for word what the model saw at run time


def _click_by_name_run(root: Path, started_at: str) -> str:
    """What `deskpilot click Save` leaves: a recorded run with a screenshot and no model answer."""
    recorder = RunRecorder.start(
        root, RunInfo(id="", task="click Save", backend="ocr", model="rapidocr", started_at=started_at)
    )
    recorder.record_step(
        StepRecord(number=1, started_at=started_at), Image.new("RGB", (64, 48), (255, 255, 255))
    )
    recorder.finish("success", "clicked Save")
    return recorder.run_dir.name


@pytest.mark.process
def test_latest_is_the_latest_agent_run_and_says_which(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    agent_run = _record(root, ScriptedBackend([CLICK, DONE]), FakeOperator(), FakeComputer(), task="open the editor")
    click_run = _click_by_name_run(root, "2026-12-06T12:03:00+00:00")  # newer than the agent run
    assert list_runs(root)[0].id == click_run  # `history show latest` still means any run
    result = deskpilot("export-finetune", "latest", "--history-dir", str(root), "--out", str(tmp_path / "ds"))
    assert result.returncode == 0, result.stderr
    assert f'using run {agent_run} ("open the editor")' in result.stderr
    assert "exported 2 steps of 1 run" in result.stderr
    notes: list[str] = []
    assert agent_run_named(root, "latest", notes) == agent_run and agent_run_named(root, click_run, notes) == click_run
    assert notes == [f'using run {agent_run} ("open the editor")']


@pytest.mark.process
def test_a_run_without_model_steps_is_refused_with_the_reason(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    click_run = _click_by_name_run(root, "2026-12-06T12:03:00+00:00")
    with pytest.raises(ConfigError, match="no model steps to export: it was a click by name"):
        load_recorded_run(root, click_run)
    with pytest.raises(ConfigError, match="no agent run yet"):
        agent_run_named(root, "latest", [])
    out = tmp_path / "ds"
    result = deskpilot("export-finetune", click_run, "--history-dir", str(root), "--out", str(out))
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "no model steps" in result.stderr and not out.exists()

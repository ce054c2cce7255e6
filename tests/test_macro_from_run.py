"""``macro from-run``: anchors cut where each step's recorded capture area puts its screen point.

Runs are recorded by the real agent loop with a scripted model on the fake computer,
on a monitor that is not at (0, 0) and at two captured pixels per input unit, so a
mapping that ignores either cuts the anchor in the wrong place. Old runs, recorded
before steps kept their capture area, are still read as the primary monitor at (0, 0).
"""

from __future__ import annotations

import json
from pathlib import Path

from agent.backends.scripted import ScriptedBackend
from agent.computer_use.loop import AgentLoop
from agent.computer_use.planner import Planner
from agent.geometry import Region
from agent.macros.from_run import macro_from_run
from agent.macros.healing import Healer
from agent.macros.player import MacroPlayer, PlaySettings
from agent.macros.schema import Monitor, decode_png
from agent.records.history import RunRecorder, load_run
from agent.records.schema import CapturedArea, RunInfo
from agent.run.capture import Capture, SettleSettings
from agent.run.executor import GuardedExecutor
from agent.run.harness import RunHarness
from agent.run.policy import ConfirmMode, Policy, PolicyConfig
from agent.testing.fake import FakeComputer
from agent.testing.operator import FakeOperator
from tests.macro_images import screen
from tests.support import DONE, call

MONITOR_2 = Region(1280, 0, 960, 540)  # captured at 1920x1080: 2 pixels per input unit
BUTTON = (400, 300)  # the Save button, drawn at these image pixels
TARGET = (460, 320)  # a point on it, in image pixels


def _run(root: Path, computer: FakeComputer, reply: str) -> str:
    recorder = RunRecorder.start(root, RunInfo(id="", task="save", backend="script", model="s", started_at=""))
    loop = AgentLoop.on(
        computer, Planner(ScriptedBackend([reply, DONE])), Policy(PolicyConfig(confirm=ConfirmMode.NEVER)),
        FakeOperator(), computer.cancel, recorder=recorder,
    )
    assert loop.run("save").outcome == "success"
    return recorder.run_dir.name


def _click_at(image_xy: tuple[int, int], size: tuple[int, int], description: str = "") -> str:
    x, y = image_xy
    about = f', "element_description": "{description}"' if description else ""
    rel = f"[{(x + 0.5) * 1000 / size[0]:.2f}, {(y + 0.5) * 1000 / size[1]:.2f}]"
    return call(f'{{"action": "left_click", "coordinate": {rel}{about}}}')


def test_steps_record_where_their_screenshot_sat(tmp_path: Path) -> None:
    computer = FakeComputer(region=MONITOR_2, image=screen())
    run_id = _run(tmp_path, computer, _click_at(TARGET, (1920, 1080)))
    _, steps = load_run(tmp_path, run_id)
    assert steps[0].capture == CapturedArea(left=1280, top=0, width=960, height=540, scale=2.0)
    # The click itself landed in input units on monitor 2.
    assert steps[0].actions[0].screen["x"] == 1280 + TARGET[0] // 2


def test_a_run_on_monitor_2_at_scale_2_is_cut_at_the_right_place_and_replays_there(tmp_path: Path) -> None:
    image = screen(at=BUTTON)
    run_id = _run(tmp_path, FakeComputer(region=MONITOR_2, image=image),
                  _click_at(TARGET, image.size, "the blue Save button"))
    macro = macro_from_run(tmp_path, run_id)
    assert macro.monitor == Monitor(left=1280, top=0, width=960, height=540, scale=2.0)
    anchor = macro.steps[0].anchor
    assert anchor is not None
    left, top, width, height = anchor.box
    # The point inside the crop is the target's pixel (within the one-unit rounding of the click)...
    assert abs(left + anchor.offset[0] - TARGET[0]) <= 1 and abs(top + anchor.offset[1] - TARGET[1]) <= 1
    # ...and the crop is that part of the screenshot.
    assert decode_png(anchor.crop).tobytes() == image.crop((left, top, left + width, top + height)).tobytes()
    assert anchor.description == "the blue Save button"  # the model's own words, for tier (d)

    # Replayed on the same monitor with the button moved: clicked where it is now, in input units.
    moved = (BUTTON[0] + 200, BUTTON[1] + 100)
    computer = FakeComputer(region=MONITOR_2, image=screen(at=moved))
    harness = RunHarness(computer)
    executor = GuardedExecutor(computer, Policy(PolicyConfig(confirm=ConfirmMode.NEVER)), FakeOperator(),
                               computer.cancel, harness.emit)
    capture = Capture(computer, computer.cancel, SettleSettings(quiet_s=0.0, timeout_s=0.1))
    player = MacroPlayer(executor, capture, harness, Healer(), PlaySettings(anchor_timeout_s=0.0))
    assert player.play(macro, [{}], "macro").outcome == "success"
    ((x, y),) = computer.clicked
    assert abs(x - (1280 + (TARGET[0] + 200) // 2)) <= 1 and abs(y - (TARGET[1] + 100) // 2) <= 1


def test_an_old_run_without_capture_areas_is_read_as_the_primary_monitor(tmp_path: Path) -> None:
    image = screen(at=BUTTON)
    run_id = _run(tmp_path, FakeComputer(image=image), _click_at(TARGET, image.size))
    steps_file = tmp_path / run_id / "steps.jsonl"
    old = []
    for line in steps_file.read_text().splitlines():
        record = json.loads(line)
        del record["capture"]  # what runs recorded before the field existed
        old.append(json.dumps(record))
    steps_file.write_text("\n".join(old) + "\n")
    macro = macro_from_run(tmp_path, run_id)
    assert macro.monitor == Monitor(left=0, top=0, width=1920, height=1080, scale=1.0)
    anchor = macro.steps[0].anchor
    assert anchor is not None and (anchor.box[0] + anchor.offset[0], anchor.box[1] + anchor.offset[1]) == TARGET
    assert anchor.description == ""


def test_a_click_on_a_marked_element_becomes_a_click_at_its_point(tmp_path: Path) -> None:
    from agent.computer_use.marks import Marker
    from agent.computer_use.prompts import PromptSettings
    from agent.ports import Element
    from agent.testing.tree import FakeTree

    # Save's box in input units on monitor 2: image pixels (400..520, 300..340) at scale 2.
    save = Element("push button", "Save", Region(1280 + 200, 150, 60, 20))
    computer = FakeComputer(region=MONITOR_2, image=screen())
    recorder = RunRecorder.start(tmp_path, RunInfo(id="", task="save", backend="script", model="s", started_at=""))
    reply = call('{"action": "left_click", "element": 1}')
    loop = AgentLoop.on(
        computer, Planner(ScriptedBackend([reply, DONE]), settings=PromptSettings(marks=True)),
        Policy(PolicyConfig(confirm=ConfirmMode.NEVER)), FakeOperator(), computer.cancel, recorder=recorder,
        marker=Marker(FakeTree([save])),
    )
    assert loop.run("save").outcome == "success"
    macro = macro_from_run(tmp_path, recorder.run_dir.name)
    [step] = macro.steps
    assert step.action == {"action": "left_click", "x": 1510, "y": 160}  # no number: it means nothing later
    assert step.anchor is not None and step.anchor.description == "Save push button"

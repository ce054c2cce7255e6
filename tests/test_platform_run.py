"""A guarded run on a ``FakePlatform``: the platform check_run selects is the one every part of the run uses."""

from __future__ import annotations

import threading
from pathlib import Path

from agent.actions import MouseMove, ScreenAction
from agent.config import Settings
from agent.testing.operator import FakeOperator
from agent.testing.platform import FakePlatform
from agent.wiring import RunSpec, check_run, guarded_run


def test_a_guarded_run_acts_watches_and_marks_through_the_platform_it_was_given(tmp_path: Path) -> None:
    platform = FakePlatform()
    settings = Settings(history_dir=str(tmp_path / "runs"))
    checked = check_run(settings, platform)
    assert checked.platform is platform and checked.monitor == platform.desktop.region
    stop = threading.Event()
    spec = RunSpec(task="fake", backend="script", model="none", settings={})
    with guarded_run(checked, spec, FakeOperator(), stop=stop) as run:
        watches = [w for *_, w in platform.watching.chords] + [w for _, w in platform.watching.watchers]
        assert len(watches) == 2 and all(w.is_alive() for w in watches)  # the kill chord, the takeover
        run.computer.perform(ScreenAction(action=MouseMove(coordinate=(5, 5)), x=5, y=5))
        assert platform.desktop.performed and platform.mark.marked == 1
        platform.watching.click(10, 10)  # the user's hand on the mouse: a takeover, so a pause
        assert run.executor.pause.pending
        platform.watching.press_chord(("ctrl", "alt", "k"))
        assert stop.is_set()
    assert not any(w.is_alive() for w in watches)

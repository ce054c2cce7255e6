"""The macro player on the fake computer: healing tiers, never clicking blind, variables, dry run, stop."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from agent.actions import LeftClick, Type
from agent.errors import ConfigError
from agent.macros.anchors import make_anchor
from agent.macros.healing import Found, Healer, Miss
from agent.macros.player import MacroPlayer, PlaySettings
from agent.macros.schema import Macro, MacroStep, Monitor
from agent.records.history import RunRecorder, load_run
from agent.records.schema import RunInfo
from agent.run.capture import Capture, SettleSettings
from agent.run.events import RunResult
from agent.run.executor import GuardedExecutor
from agent.run.harness import RunHarness
from agent.run.policy import ConfirmMode, Policy, PolicyConfig
from agent.run.ports import LostTarget, Operator
from agent.testing.fake import FakeComputer
from agent.testing.operator import FakeOperator, FakeTargetFinder
from tests.macro_images import screen, window_point, window_screen

POINT = (460, 320)
MOVED = (400 + 137, 300 + 91)
RECOLOURED = dict(fg=(200, 60, 40), bg=(30, 30, 30))


@pytest.fixture(scope="module")
def recorded_macro() -> Macro:
    image = screen()
    anchor = make_anchor(image, POINT)
    return Macro(
        monitor=Monitor(width=1920, height=1080),
        steps=[
            MacroStep(action={"action": "left_click", "x": POINT[0], "y": POINT[1]}, anchor=anchor),
            MacroStep(action={"action": "type", "text": "hello {name}"}, delay_s=0.2),
        ],
    )


def player(
    image: Image.Image | None,
    *,
    tmp: Path | None = None,
    settings: PlaySettings | None = None,
    stop: threading.Event | None = None,
) -> tuple[MacroPlayer, FakeComputer]:
    computer = FakeComputer(image=image)
    if stop is not None:
        computer.cancel = stop
    recorder = RunRecorder.start(tmp, RunInfo(id="", task="macro", backend="macro", model="none", started_at="")) if tmp else None
    harness = RunHarness(computer, recorder=recorder)
    executor = GuardedExecutor(
        computer, Policy(PolicyConfig(confirm=ConfirmMode.NEVER)), FakeOperator(), computer.cancel, harness.emit,
        dry_run=settings.dry_run if settings else False,
    )
    capture = Capture(computer, computer.cancel, SettleSettings(quiet_s=0.0, timeout_s=0.1))
    return MacroPlayer(executor, capture, harness, Healer(), settings or PlaySettings(anchor_timeout_s=0.0)), computer


@pytest.mark.parametrize(
    ("name", "now", "tier"),
    [
        ("unchanged", dict(), "a-near"),
        ("moved by (137, 91)", dict(at=MOVED), "a-near"),
        ("moved far", dict(at=(1500, 900)), "a-screen"),
        ("rescaled 1.25x", dict(at=MOVED, scale=1.25), "b-scale"),
        ("rescaled and recoloured", dict(at=MOVED, scale=1.25, **RECOLOURED), "b-edges"),
    ],
)
def test_each_change_is_healed_by_the_tier_that_should(recorded_macro: Macro, name: str, now: dict, tier: str) -> None:
    frame = FakeComputer(image=screen(**now)).capture()
    found = Healer().locate(frame, recorded_macro.steps[0].anchor, recorded_macro.monitor)  # type: ignore[arg-type]
    assert isinstance(found, Found), found
    assert found.tier == tier
    at, scale = now.get("at", (400, 300)), now.get("scale", 1.0)
    expected = (at[0] + (POINT[0] - 400) * scale, at[1] + (POINT[1] - 300) * scale)
    assert abs(found.point[0] - expected[0]) <= 4 and abs(found.point[1] - expected[1]) <= 4


TWINS = dict(scale=1.25, extra_buttons=((1500, 200),))


@pytest.mark.parametrize(
    ("name", "now"),
    [
        ("two identical 1.25x buttons far from the recorded place", dict(at=(1200, 700), **TWINS)),
        ("two identical 1.25x buttons near it", dict(at=(300, 100), scale=1.25, extra_buttons=((520, 450),))),
        ("two identical, rescaled and recoloured", dict(at=(1200, 700), **TWINS, **RECOLOURED)),
    ],
)
def test_two_equally_good_places_at_another_scale_are_a_miss(recorded_macro: Macro, name: str, now: dict) -> None:
    # Tier (b) alone would take the better of the two by a rounding error: a guess.
    frame = FakeComputer(image=screen(**now)).capture()
    miss = Healer().locate(frame, recorded_macro.steps[0].anchor, recorded_macro.monitor)  # type: ignore[arg-type]
    assert isinstance(miss, Miss), miss
    assert miss.best is not None and miss.best.score > 0.8  # a good candidate, refused


def test_a_twin_button_at_another_scale_is_never_clicked(recorded_macro: Macro) -> None:
    play, computer = player(screen(at=(1200, 700), **TWINS))
    result = play.play(recorded_macro, [{"name": "x"}], "macro")
    assert result.outcome == "failure" and computer.performed == []


def test_a_gone_anchor_is_a_miss_with_its_best_candidate(recorded_macro: Macro) -> None:
    frame = FakeComputer(image=screen(at=None)).capture()
    miss = Healer().locate(frame, recorded_macro.steps[0].anchor, recorded_macro.monitor)  # type: ignore[arg-type]
    assert isinstance(miss, Miss) and miss.best is not None and miss.best.score < 0.6


def test_replay_clicks_the_moved_button_and_types_the_variable(recorded_macro: Macro, tmp_path: Path) -> None:
    play, computer = player(screen(at=MOVED), tmp=tmp_path)
    result = play.play(recorded_macro, [{"name": "Ada"}], "macro")
    assert result.outcome == "success", result
    click, typed = computer.performed
    assert isinstance(click.action, LeftClick) and not click.from_model
    assert click.screen_xy == (POINT[0] + 137, POINT[1] + 91)
    assert isinstance(typed.action, Type) and typed.action.text == "hello Ada"
    info, steps = load_run(tmp_path, "latest")
    assert info.outcome == "success" and [s.actions[0].performed for s in steps] == [True, True]
    assert steps[0].screenshot  # the frame the anchor was found on is kept


def test_one_run_per_row(recorded_macro: Macro) -> None:
    play, computer = player(screen())
    result = play.play(recorded_macro, [{"name": "a"}, {"name": "b"}, {"name": "c"}], "macro")
    assert result.outcome == "success" and result.steps == 6
    assert computer.typed == ["hello a", "hello b", "hello c"]


def test_a_gone_button_stops_with_failure_and_nothing_performed(recorded_macro: Macro) -> None:
    play, computer = player(screen(at=None))
    result = play.play(recorded_macro, [{"name": "x"}], "macro")
    assert result.outcome == "failure" and result.exit_code == 1
    assert "not on the screen" in result.detail
    assert computer.performed == []  # no click at the recorded point, and no later step


def test_a_pointer_step_without_an_anchor_is_never_clicked_blind() -> None:
    macro = Macro(monitor=Monitor(width=1920, height=1080),
                  steps=[MacroStep(action={"action": "left_click", "x": 10, "y": 10})])
    play, computer = player(screen())
    result = play.play(macro, [{}], "macro")
    assert result.outcome == "failure" and computer.performed == []


def test_dry_run_performs_nothing(recorded_macro: Macro) -> None:
    play, computer = player(screen(at=MOVED), settings=PlaySettings(dry_run=True))
    result = play.play(recorded_macro, [{"name": "x"}], "macro")
    assert result.outcome == "success" and computer.performed == []
    assert play.log.steps[0].found is not None  # the anchor was still looked for


def test_a_stop_ends_playback_before_the_next_step(recorded_macro: Macro) -> None:
    stop = threading.Event()
    play, computer = player(screen(), stop=stop)
    play.on_found = lambda *_: stop.set()  # the kill hotkey fires while step 1 is being aimed
    result = play.play(recorded_macro, [{"name": "x"}], "macro")
    assert isinstance(result, RunResult) and result.outcome == "stopped" and result.exit_code == 3
    assert computer.performed == []


def test_waiting_for_an_anchor_is_interrupted_by_a_stop(recorded_macro: Macro) -> None:
    stop = threading.Event()
    play, computer = player(screen(at=None), stop=stop, settings=PlaySettings(anchor_timeout_s=60.0))
    looked = threading.Event()
    locate = play.healer.locate

    def look(*args: Any, **kwargs: Any) -> Found | Miss:
        result = locate(*args, **kwargs)
        looked.set()  # a first look missed: the player is in its wait for the anchor
        return result

    play.healer.locate = look  # type: ignore[method-assign]
    results: list[RunResult] = []
    runner = threading.Thread(
        target=lambda: results.append(play.play(recorded_macro, [{"name": "x"}], "macro")), daemon=True
    )
    runner.start()
    assert looked.wait(10), "the player never looked for the anchor"
    stop.set()  # the kill hotkey, from another thread, while the anchor is awaited
    runner.join(10)  # at once: 10 s is slack for a loaded machine, the wait would last 60
    assert not runner.is_alive(), "the anchor wait went on after the stop"
    (result,) = results
    assert result.outcome == "stopped" and result.exit_code == 3 and computer.performed == []


def test_a_missing_variable_is_bad_input(recorded_macro: Macro) -> None:
    from agent.macros.playback import check_rows
    from agent.macros.schema import variable_names

    with pytest.raises(ConfigError, match=r"\{name\}") as info:
        check_rows(variable_names(recorded_macro), [{"name": "a"}, {"other": "b"}])
    assert str(info.value) == "the macro types {name} but row 2 of 2 gives no value for it (--vars name=...)"
    with pytest.raises(ConfigError) as info:
        check_rows(variable_names(recorded_macro), [{}])
    assert str(info.value) == "the macro types {name} but the values given give no value for it (--vars name=...)"


def test_a_missing_column_names_the_data_file_and_its_columns(recorded_macro: Macro) -> None:
    from agent.macros.playback import DataFile, check_rows
    from agent.macros.schema import variable_names

    with pytest.raises(ConfigError) as info:
        check_rows(variable_names(recorded_macro), [{"nom": "a"}], DataFile(Path("/x/data.csv"), ["nom", "id"]))
    assert str(info.value) == (
        "the macro types {name} but data.csv has no column 'name' (its columns: nom, id); "
        "add it or give --vars name=..."
    )


def asking_player(image: Image.Image, operator: Operator, confirm: ConfirmMode, tmp: Path, **play: object) -> tuple[MacroPlayer, FakeComputer, list[int]]:
    computer = FakeComputer(image=image)
    recorder = RunRecorder.start(tmp, RunInfo(id="", task="macro", backend="macro", model="none", started_at=""))
    harness = RunHarness(computer, recorder=recorder)
    executor = GuardedExecutor(computer, Policy(PolicyConfig(confirm=confirm)), operator, computer.cancel, harness.emit,
                               dry_run=bool(play.get("dry_run", False)))
    capture = Capture(computer, computer.cancel, SettleSettings(quiet_s=0.0, timeout_s=0.1))
    said: list[str] = []
    misses: list[int] = []
    player = MacroPlayer(executor, capture, harness, Healer(), PlaySettings(anchor_timeout_s=0.0, **play),  # type: ignore[arg-type]
                         on_miss=lambda number, *_: misses.append(number), say=said.append)
    player.said = said  # type: ignore[attr-defined]
    return player, computer, misses


@pytest.mark.parametrize("answer", ["a point", "the best candidate"])
def test_tier_e_the_users_answer_is_clicked_reported_and_still_confirmed(
    recorded_macro: Macro, tmp_path: Path, answer: str
) -> None:
    from agent.run.ports import ConfirmResult

    point = (lambda q: (700, 500)) if answer == "a point" else (lambda q: q.best_point)
    operator = FakeTargetFinder(point=point, answers=[ConfirmResult("approved"), ConfirmResult("approved")])
    play, computer, misses = asking_player(screen(at=None), operator, ConfirmMode.ALWAYS, tmp_path)
    result = play.play(recorded_macro, [{"name": "Ada"}], "macro")
    assert result.outcome == "success", result
    (question,) = operator.lost
    assert question.number == 1 and "Click" in question.words and question.crop.size[0] > 0
    assert question.best_box is not None and question.best_point is not None and question.frame.image.size == (1920, 1080)
    expected = (700, 500) if answer == "a point" else question.best_point
    click, typed = computer.performed
    assert isinstance(click.action, LeftClick) and click.screen_xy == expected
    # The user's point went through the policy: confirm=always asked about that very click.
    assert operator.questions[0].action.screen_xy == expected
    assert misses == [1]  # the evidence (miss-0001-*.png) is kept before asking
    assert play.log.steps[0].found is not None and play.log.steps[0].found.tier == "e-user"
    assert any("healed by tier e-user" in line for line in play.said)  # type: ignore[attr-defined]
    _, steps = load_run(tmp_path, "latest")
    assert [s.anchor_tier for s in steps] == ["e-user", ""]


def test_tier_e_a_rejected_confirmation_of_the_users_point_clicks_nothing(recorded_macro: Macro, tmp_path: Path) -> None:
    from agent.run.ports import ConfirmResult

    operator = FakeTargetFinder(point=lambda q: (700, 500), answers=[ConfirmResult("rejected")])
    play, computer, _ = asking_player(screen(at=None), operator, ConfirmMode.ALWAYS, tmp_path)
    result = play.play(recorded_macro, [{"name": "Ada"}], "macro")
    assert result.outcome == "failure" and computer.performed == []


@pytest.mark.parametrize("why", ["the user stops", "a point off the monitor"])
def test_tier_e_no_answer_stops_with_exit_1_and_nothing_clicked(recorded_macro: Macro, tmp_path: Path, why: str) -> None:
    operator = FakeTargetFinder(point=lambda q: None if why == "the user stops" else (5000, 10))
    play, computer, misses = asking_player(screen(at=None), operator, ConfirmMode.NEVER, tmp_path)
    result = play.play(recorded_macro, [{"name": "Ada"}], "macro")
    assert result.outcome == "failure" and result.exit_code == 1
    assert "stopped, nothing clicked" in result.detail
    assert len(operator.lost) == 1 and computer.performed == [] and misses == [1]


def test_tier_e_the_kill_hotkey_while_asking_stops_the_run(recorded_macro: Macro, tmp_path: Path) -> None:
    def kill_then_answer(question: LostTarget) -> tuple[int, int]:
        play.stop.set()  # the hotkey fires while the user is being asked
        return (700, 500)

    operator = FakeTargetFinder(point=kill_then_answer)
    play, computer, _ = asking_player(screen(at=None), operator, ConfirmMode.NEVER, tmp_path)
    result = play.play(recorded_macro, [{"name": "Ada"}], "macro")
    assert result.outcome == "stopped" and result.exit_code == 3 and computer.performed == []


def test_tier_e_is_not_asked_in_a_dry_run(recorded_macro: Macro, tmp_path: Path) -> None:
    operator = FakeTargetFinder(point=lambda q: (700, 500))
    play, computer, _ = asking_player(screen(at=None), operator, ConfirmMode.NEVER, tmp_path, dry_run=True)
    play.play(recorded_macro, [{"name": "Ada"}], "macro")
    assert operator.lost == [] and computer.performed == []


def test_an_operator_without_find_lost_stops_as_before(recorded_macro: Macro, tmp_path: Path) -> None:
    from agent.terminal import TerminalOperator

    for operator in (FakeOperator(), TerminalOperator()):
        play, computer, _ = asking_player(screen(at=None), operator, ConfirmMode.NEVER, tmp_path)
        result = play.play(recorded_macro, [{"name": "Ada"}], "macro")
        assert result.outcome == "failure" and result.exit_code == 1 and computer.performed == []


# -- what a replay reports: dry-run misses, the report's rows, rows and repeats, wording ----


def test_a_dry_run_looks_at_every_step_and_fails_naming_the_missing_targets(recorded_macro: Macro, tmp_path: Path) -> None:
    click = recorded_macro.steps[0]
    macro = Macro(monitor=recorded_macro.monitor, steps=[click, recorded_macro.steps[1], click])
    play, computer, _ = asking_player(screen(at=None), FakeOperator(), ConfirmMode.NEVER, tmp_path, dry_run=True)
    result = play.play(macro, [{"name": "x"}], "macro")
    assert result.outcome == "failure" and result.exit_code == 1, result
    assert result.detail == "dry run: 2 of 3 steps' targets not found (steps 1, 3)"
    assert [s.miss is not None for s in play.log.steps] == [True, False, True]  # every step looked at
    assert computer.performed == []


def test_a_dry_run_that_finds_everything_succeeds_in_words(recorded_macro: Macro) -> None:
    play, _ = player(screen(at=MOVED), settings=PlaySettings(dry_run=True))
    result = play.play(recorded_macro, [{"name": "x"}], "macro")
    assert (result.outcome, result.detail) == ("success", "checked 2 steps (dry run)")


def test_the_report_times_a_miss_by_its_whole_wait_and_lists_steps_not_reached(
    recorded_macro: Macro, tmp_path: Path
) -> None:
    from agent.macros.report import render

    play, computer, _ = asking_player(screen(at=None), FakeOperator(), ConfirmMode.NEVER, tmp_path)
    play.settings = PlaySettings(anchor_timeout_s=0.3)
    result = play.play(recorded_macro, [{"name": "a"}, {"name": "b"}], "macro")
    assert result.outcome == "failure"
    missed, *later = play.log.steps
    assert missed.miss is not None and missed.seconds >= 0.3  # the whole wait for the anchor, not one look
    assert [(s.number, s.status) for s in later] == [(2, "not reached"), (3, "not reached"), (4, "not reached")]
    page = render("t", "failure", play.log.steps)
    assert f"{missed.seconds * 1000:.0f} ms" in page and page.count("not reached") == 3
    assert "Type &#x27;hello {name}&#x27;" in page


def test_the_report_and_a_rejection_name_the_action_as_played(recorded_macro: Macro, tmp_path: Path) -> None:
    from agent.macros.report import render
    from agent.run.ports import ConfirmResult

    played = f"Click at ({POINT[0] + 137}, {POINT[1] + 91})"
    operator = FakeOperator(answers=[ConfirmResult("rejected")])
    play, computer, _ = asking_player(screen(at=MOVED), operator, ConfirmMode.ALWAYS, tmp_path)
    result = play.play(recorded_macro, [{"name": "a"}], "macro")
    assert result.outcome == "failure" and computer.performed == []
    assert result.detail.startswith(f"step 1 ({played}) was rejected"), result.detail
    step = play.log.steps[0]
    assert (step.words, step.recorded) == (played, f"Click at ({POINT[0]}, {POINT[1]})")
    page = render("t", result.detail, play.log.steps)
    assert played in page and f"recorded: Click at ({POINT[0]}, {POINT[1]})" in page


def test_each_row_and_repeat_says_when_it_starts(recorded_macro: Macro, tmp_path: Path) -> None:
    play, computer, _ = asking_player(screen(), FakeOperator(), ConfirmMode.NEVER, tmp_path, repeat=2)
    result = play.play(recorded_macro, [{"name": "a"}, {"name": "b"}], "macro")
    assert result.outcome == "success" and computer.typed == ["hello a", "hello b"] * 2
    progress = [line for line in play.said if line.startswith(("row ", "repeat "))]  # type: ignore[attr-defined]
    assert progress == ["repeat 1 of 2", "row 1 of 2", "row 2 of 2", "repeat 2 of 2", "row 1 of 2", "row 2 of 2"]
    assert result.detail == "played 2 steps 4 times (8 steps)"


def test_one_row_played_once_says_no_row_and_counts_in_words(tmp_path: Path) -> None:
    macro = Macro(monitor=Monitor(width=1920, height=1080), steps=[MacroStep(action={"action": "type", "text": "x"})])
    play, _, _ = asking_player(screen(), FakeOperator(), ConfirmMode.NEVER, tmp_path)
    result = play.play(macro, [{}], "macro")
    assert result.detail == "played 1 step"
    assert not [line for line in play.said if line.startswith(("row ", "repeat "))]  # type: ignore[attr-defined]


# -- before playback: the monitor to play on, the first line, the model probe --------------


def test_the_monitor_the_macro_was_recorded_on_is_found_and_said() -> None:
    from agent.geometry import Region
    from agent.macros.playback import pick_monitor

    left, right = Region(0, 0, 1280, 1024), Region(1280, 0, 1920, 1080)
    on_right = Monitor(left=1280, top=0, width=1920, height=1080)
    assert pick_monitor(on_right, [left, right], 1, left, find=True) == (
        2, "playing on monitor 2, where it was recorded"
    )
    assert pick_monitor(on_right, [left, right], 2, right, find=False) == (2, None)  # given, and it matches
    given = pick_monitor(on_right, [left, right], 1, left, find=False)  # --monitor 1 given: kept, said
    assert given == (1, "recorded on a 1920x1080 monitor at (1280, 0); playing on monitor 1, 1280x1024 at (0, 0)")
    nowhere = Monitor(left=0, top=0, width=2560, height=1440)
    monitor, note = pick_monitor(nowhere, [left, right], 1, left, find=True)  # no match: the default, said
    assert monitor == 1 and note is not None and note.startswith("recorded on a 2560x1440 monitor at (0, 0)")


def test_the_first_line_says_what_is_about_to_be_played(recorded_macro: Macro) -> None:
    from agent.macros.playback import _first_line

    line = _first_line(Path("m.json"), recorded_macro, 1, True, PlaySettings(), 1)
    assert line == "Playing m.json: 2 steps recorded on monitor 1 (1920x1080), max speed"
    line = _first_line(Path("m.json"), recorded_macro, 1, False, PlaySettings(speed=2, repeat=2, dry_run=True), 3)
    assert line == (
        "Playing m.json: 2 steps recorded on a 1920x1080 monitor, speed 2, 3 rows of data, 2 times over, dry run"
    )


def test_the_model_probe_finds_a_dead_server_and_a_missing_local_model_without_loading_either(tmp_path: Path) -> None:
    from agent.config import Settings
    from agent.macros.playback import model_problem
    from tests.loopback_servers import StubServer, dead_port, serving

    with dead_port() as port:
        dead = model_problem(Settings(backend="openai", base_url=f"http://127.0.0.1:{port}/v1", model="m"))
    assert dead is not None and "cannot reach the model server" in dead, dead
    with serving(StubServer(models=["m"], reply="")) as stub:
        assert model_problem(Settings(backend="openai", base_url=stub.url, model="m")) is None
    missing = model_problem(Settings(backend="local", model=str(tmp_path / "no-model")))
    assert missing is not None and "does not exist" in missing
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}", encoding="utf-8")
    assert model_problem(Settings(backend="local", model=str(tmp_path / "model"))) is None


# -- an ordinary window on a black desktop: an empty field, typing, a Save button ----------

MOVED_WINDOW = (437, 291)
TWIN_WINDOWS = ((900, 600), (1400, 150))  # both far from where it was recorded


@pytest.fixture(scope="module")
def form_macro() -> Macro:
    image = window_screen()
    field, save = window_point("field"), window_point("save")
    return Macro(
        monitor=Monitor(width=1920, height=1080),
        steps=[
            MacroStep(action={"action": "left_click", "x": field[0], "y": field[1]}, anchor=make_anchor(image, field)),
            MacroStep(action={"action": "type", "text": "Ada"}),
            MacroStep(action={"action": "left_click", "x": save[0], "y": save[1]}, anchor=make_anchor(image, save)),
        ],
    )


@pytest.mark.parametrize(
    ("name", "at", "theme", "tier"),
    [
        ("moved", MOVED_WINDOW, "light", "a-near"),
        ("moved far", (1300, 800), "light", "a-screen"),
        ("dark theme, same place", (300, 200), "dark", "b-edges"),
        ("dark theme, moved", MOVED_WINDOW, "dark", "b-edges"),
    ],
)
@pytest.mark.parametrize("what", ["field", "save"])
def test_a_field_and_a_button_on_a_black_desktop_are_healed_by_the_tier_that_should(
    form_macro: Macro, what: str, name: str, at: tuple[int, int], theme: str, tier: str
) -> None:
    step = form_macro.steps[0 if what == "field" else 2]
    frame = FakeComputer(image=window_screen((at,), theme=theme)).capture()
    found = Healer().locate(frame, step.anchor, form_macro.monitor)  # type: ignore[arg-type]
    assert isinstance(found, Found), found
    assert found.tier == tier and found.point == window_point(what, at)


def test_the_form_replays_into_a_dark_window_elsewhere(form_macro: Macro) -> None:
    play, computer = player(window_screen((MOVED_WINDOW,), theme="dark"))
    result = play.play(form_macro, [{}], "macro")
    assert result.outcome == "success", result
    field, typed, save = computer.performed
    assert field.screen_xy == window_point("field", MOVED_WINDOW) and save.screen_xy == window_point("save", MOVED_WINDOW)
    assert isinstance(typed.action, Type) and typed.action.text == "Ada"


@pytest.mark.parametrize(
    ("name", "now", "why"),
    [
        ("the same window twice", dict(at=TWIN_WINDOWS), "two places match equally well"),
        ("the same window twice, dark", dict(at=TWIN_WINDOWS, theme="dark"), "two places match equally well"),
        ("the field holds text over its centre", dict(field_text="Ada Lovelace and Grace Hopper"),
         "the target's centre differs"),
    ],
)
def test_a_good_score_refused_says_why_in_the_miss(form_macro: Macro, name: str, now: dict, why: str) -> None:
    frame = FakeComputer(image=window_screen(**now)).capture()
    miss = Healer().locate(frame, form_macro.steps[0].anchor, form_macro.monitor)  # type: ignore[arg-type]
    assert isinstance(miss, Miss), miss
    assert miss.best is not None and miss.best.score > 0.8 and why in miss.reason, miss.reason


def test_a_twin_window_is_never_clicked(form_macro: Macro) -> None:
    play, computer = player(window_screen(TWIN_WINDOWS))
    result = play.play(form_macro, [{}], "macro")
    assert result.outcome == "failure" and computer.performed == []
    assert "two places match equally well" in result.detail


def test_a_save_button_restyled_altogether_is_not_taken_for_the_cancel_beside_it(form_macro: Macro) -> None:
    frame = FakeComputer(image=window_screen(restyled=True)).capture()
    miss = Healer().locate(frame, form_macro.steps[2].anchor, form_macro.monitor)  # type: ignore[arg-type]
    assert isinstance(miss, Miss), miss


def test_an_ambiguous_anchor_leaves_the_edge_tier_to_the_replays_own_uniqueness_check() -> None:
    # Its runner-up is its twin: a floor from it would refuse the one button left.
    twin = make_anchor(screen(busy=False, extra_buttons=((1200, 700),)), POINT)
    assert twin.ambiguous and twin.edge_runner_up is None
    frame = FakeComputer(image=screen(at=MOVED, scale=1.25, busy=False, **RECOLOURED)).capture()
    found = Healer().locate(frame, twin, Monitor(width=1920, height=1080))
    assert isinstance(found, Found) and found.tier == "b-edges", found

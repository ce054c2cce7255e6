"""Policy: denylist, off-monitor points, risky actions per confirm mode, session approval."""

from __future__ import annotations

import pytest

from agent.actions import Answer, Key, LeftClick, LeftClickDrag, MouseMove, ScreenAction, Type, Wait
from agent.errors import ConfigError
from agent.geometry import Region
from agent.run.policy import ConfirmMode, Policy, PolicyConfig, parse_confirm_mode

MONITOR = Region(0, 0, 1920, 1080)


def at(action: object, x: int | None = None, y: int | None = None) -> ScreenAction:
    return ScreenAction(action=action, x=x, y=y)


CLICK = at(LeftClick(coordinate=(0, 0)), 100, 100)

CASES = [
    # (action, mode, decision)
    (CLICK, "risky", "allow"),
    (CLICK, "always", "confirm"),
    (CLICK, "never", "allow"),
    (at(Key(keys=("ctrl", "s"))), "risky", "confirm"),
    (at(Key(keys=("ctrl", "s"))), "never", "allow"),
    (at(Key(keys=("enter",))), "risky", "confirm"),
    (at(Key(keys=("a",))), "risky", "allow"),
    (at(Type(text="hello")), "risky", "allow"),
    (at(Type(text="rm -rf ~\n")), "risky", "confirm"),
    (at(LeftClickDrag(coordinate=(0, 0)), 10, 10), "risky", "confirm"),
    (at(Wait(time=1)), "always", "allow"),
    (at(Answer(text="42")), "always", "allow"),
    (at(Key(keys=("ctrl", "alt", "delete"))), "never", "deny"),
    (at(Key(keys=("alt", "ctrl", "delete"))), "risky", "deny"),  # order does not matter
    (at(Key(keys=("ctrl", "alt", "backspace"))), "never", "deny"),
    (at(MouseMove(coordinate=(0, 0)), 1920, 5), "never", "deny"),  # one past the right edge
    (at(LeftClick(coordinate=(0, 0)), -1, 5), "never", "deny"),
]


@pytest.mark.parametrize(("action", "mode", "decision"), CASES)
def test_decisions(action: ScreenAction, mode: str, decision: str) -> None:
    policy = Policy(PolicyConfig(confirm=ConfirmMode(mode)))
    assert policy.decide(action, MONITOR).decision == decision


def test_the_kill_hotkey_is_denied_to_the_model() -> None:
    policy = Policy(PolicyConfig(confirm=ConfirmMode.NEVER), extra_denied=("ctrl+alt+k",))
    verdict = policy.decide(at(Key(keys=("ctrl", "alt", "k"))), MONITOR)
    assert verdict.decision == "deny" and "denylist" in verdict.reason


def test_risky_regions_and_windows() -> None:
    titles = {(500, 500): "Online Banking - Firefox", (100, 100): "Notes"}
    policy = Policy(
        PolicyConfig(risky_regions=(Region(1800, 0, 120, 40),), risky_windows=("bank",)),
        window_title_at=lambda x, y: titles.get((x, y)),
    )
    assert policy.decide(at(LeftClick(coordinate=(0, 0)), 1850, 10), MONITOR).decision == "confirm"
    verdict = policy.decide(at(LeftClick(coordinate=(0, 0)), 500, 500), MONITOR)
    assert verdict.decision == "confirm" and "Online Banking" in verdict.reason
    assert policy.decide(CLICK, MONITOR).decision == "allow"


def test_approve_for_session_covers_the_same_reason_only() -> None:
    policy = Policy()
    enter = policy.decide(at(Key(keys=("enter",))), MONITOR)
    policy.approve_for_session(enter)
    assert policy.decide(at(Key(keys=("enter",))), MONITOR).decision == "allow"
    assert policy.decide(at(Key(keys=("ctrl", "w"))), MONITOR).decision == "confirm"


def test_session_approval_never_lifts_a_denial() -> None:
    policy = Policy()
    verdict = policy.decide(at(Key(keys=("ctrl", "alt", "delete"))), MONITOR)
    policy.approve_for_session(verdict)
    assert policy.decide(at(Key(keys=("ctrl", "alt", "delete"))), MONITOR).decision == "deny"


@pytest.mark.parametrize("bad", [PolicyConfig(denied_chords=("ctrl+hyper",)), PolicyConfig(risky_windows=("(",))])
def test_bad_policy_config_is_a_config_error(bad: PolicyConfig) -> None:
    with pytest.raises(ConfigError):
        Policy(bad)


def test_parse_confirm_mode() -> None:
    assert parse_confirm_mode("RISKY") is ConfirmMode.RISKY
    with pytest.raises(ConfigError, match="always|risky|never"):
        parse_confirm_mode("sometimes")

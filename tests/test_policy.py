"""Policy: denylist, off-monitor points, risky actions per confirm mode, session approval."""

from __future__ import annotations

import pytest

from agent.actions import (
    Answer,
    DoubleClick,
    Key,
    LeftClick,
    LeftClickDrag,
    MiddleClick,
    MouseMove,
    RightClick,
    ScreenAction,
    Scroll,
    TripleClick,
    Type,
    Wait,
)
from agent.errors import ConfigError
from agent.geometry import Region
from agent.run.policy import (
    DEFAULT_DENIED_CHORDS,
    ConfirmMode,
    Policy,
    PolicyConfig,
    Verdict,
    parse_confirm_mode,
)

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
    with pytest.raises(ConfigError) as info:
        parse_confirm_mode("sometimes")
    assert str(info.value) == "unknown confirm mode 'sometimes'; choose always|risky|never"


MODIFIER_NAMES = ("ctrl", "alt", "shift", "super")


def variants(chord: str) -> list[tuple[str, ...]]:
    """Ways to press ``chord``: reordered modifiers, each extra modifier, all of them, aliases."""
    keys = chord.split("+")
    mods = [k for k in keys if k in MODIFIER_NAMES]
    rest = [k for k in keys if k not in MODIFIER_NAMES]
    out = [tuple(keys), tuple(reversed(mods)) + tuple(rest), tuple(rest) + tuple(mods)]
    for extra in MODIFIER_NAMES:
        if extra not in mods:
            out.append((extra, *mods, *rest))
            out.append((*reversed(mods), extra, *rest))
    out.append((*[m for m in MODIFIER_NAMES if m not in mods], *mods, *rest))
    return out


@pytest.mark.parametrize("chord", DEFAULT_DENIED_CHORDS)
@pytest.mark.parametrize("mode", ["never", "risky", "always"])
def test_every_default_denied_chord_is_denied_however_it_is_pressed(chord: str, mode: str) -> None:
    policy = Policy(PolicyConfig(confirm=ConfirmMode(mode)))
    for keys in variants(chord):
        verdict = policy.decide(at(Key(keys=keys)), MONITOR)
        assert verdict.decision == "deny", keys
        assert "denylist" in verdict.reason and chord in verdict.reason


@pytest.mark.parametrize(
    "keys",
    [
        ("shift", "ctrl", "alt", "delete"),  # the case that was sent under --confirm never
        ("Control_L", "Alt_R", "Shift", "Del"),  # aliases normalise first
        ("ctrl+alt", "delete"),
        ("ctrl", "alt", "delete", "a"),  # delete went down with ctrl+alt held
    ],
)
def test_extra_keys_do_not_hide_a_denied_chord(keys: tuple[str, ...]) -> None:
    verdict = Policy(PolicyConfig(confirm=ConfirmMode.NEVER)).decide(at(Key(keys=keys)), MONITOR)
    assert verdict.decision == "deny"
    assert "ctrl+alt+delete" in verdict.reason and verdict.reason.endswith("is on the denylist")


@pytest.mark.parametrize(
    "keys",
    [("ctrl", "delete"), ("alt", "delete"), ("ctrl", "alt"), ("delete",), ("super",), ("l",), ("ctrl", "alt", "f7"), ("shift", "l")],
)
def test_parts_of_a_denied_chord_are_not_denied(keys: tuple[str, ...]) -> None:
    assert Policy(PolicyConfig(confirm=ConfirmMode.NEVER)).decide(at(Key(keys=keys)), MONITOR).decision == "allow"


def test_a_denylist_entry_is_normalised_like_the_pressed_keys() -> None:
    policy = Policy(PolicyConfig(confirm=ConfirmMode.NEVER, denied_chords=("Alt+Control+T",)))
    assert policy.decide(at(Key(keys=("ctrl", "shift", "alt", "t"))), MONITOR).decision == "deny"
    kill = Policy(PolicyConfig(confirm=ConfirmMode.NEVER), extra_denied=("ctrl+alt+k",))
    assert kill.decide(at(Key(keys=("super", "alt", "ctrl", "k"))), MONITOR).decision == "deny"


POINTER_CLICKS = [LeftClick(), RightClick(), MiddleClick(), DoubleClick(), TripleClick()]


@pytest.mark.parametrize("click", POINTER_CLICKS)
def test_a_click_at_the_pointer_is_judged_where_the_pointer_is(click: object) -> None:
    pointer = {"at": (100, 100)}
    policy = Policy(
        PolicyConfig(confirm=ConfirmMode.NEVER, risky_regions=(Region(1800, 0, 120, 40),)),
        pointer_at=lambda: pointer["at"],
    )
    assert policy.decide(at(click), MONITOR).decision == "allow"
    pointer["at"] = (2500, 100)  # on another monitor
    verdict = policy.decide(at(click), MONITOR)
    assert verdict.decision == "deny" and "the pointer is at (2500, 100), outside the captured monitor" in verdict.reason
    pointer["at"] = (1850, 10)
    risky = Policy(PolicyConfig(risky_regions=(Region(1800, 0, 120, 40),)), pointer_at=lambda: pointer["at"])
    assert risky.decide(at(click), MONITOR) == Verdict("confirm", "acts inside the protected region 120x40+1800+0")


def test_a_click_at_an_unknown_pointer_is_confirmed_when_places_are_protected() -> None:
    plain = Policy(PolicyConfig())
    assert plain.decide(at(LeftClick()), MONITOR).decision == "allow"
    guarded = Policy(PolicyConfig(risky_windows=("bank",)))
    verdict = guarded.decide(at(LeftClick()), MONITOR)
    assert verdict.decision == "confirm" and "pointer" in verdict.reason


def test_a_pointerless_scroll_is_not_moved_to_the_pointer_check() -> None:
    # Scroll without a point scrolls where the pointer is too, but only clicks are refused off-monitor.
    policy = Policy(PolicyConfig(confirm=ConfirmMode.NEVER), pointer_at=lambda: (5000, 5000))
    assert policy.decide(at(Scroll(pixels=3)), MONITOR).decision == "allow"


def test_where_the_pointer_cannot_be_read_the_denial_says_it_was_remembered() -> None:
    """Wayland: the policy judges by where Deskpilot last put the pointer, and says so."""
    policy = Policy(PolicyConfig(confirm=ConfirmMode.NEVER), pointer_at=lambda: (2500, 100), pointer_remembered=True)
    verdict = policy.decide(at(POINTER_CLICKS[0]), MONITOR)
    assert verdict == Verdict("deny", f"the pointer was last put at (2500, 100), outside the captured monitor {MONITOR}")

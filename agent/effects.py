"""Did an action on an element do anything? An event or a second reading, said in words (pure).

A tree-found click or press is confirmed by evidence from the element's application
after the action (``AccessibleTree.watch``): an accessibility event, or the element read
again differing from how it read just before. The action's own success is not evidence:
AT-SPI's ``do_action`` answers True on an insensitive GTK button and does nothing
(measured: no event, no change, no callback).
"""

from __future__ import annotations

from agent.ports import Effect, Reading

# How long a click's or press's effect is waited for. Measured (issue 21): events come
# 0.3-25 ms after a click or press (GTK3, Chromium, Qt), GTK4's ~255 ms and Qt's animated
# Press ~105 ms; 1 s is four times the slowest, and a run waits it only when nothing came.
CONFIRM_TIMEOUT_S = 1.0

# Events that are no effect of an action. Measured on GTK3: reading a window's elements
# makes it send "defunct" (and fillers "accessible-role") for live objects some ms later,
# i.e. after the watch began; a real removal also sends children-changed or window:destroy.
_NOT_EFFECTS = (
    "object:state-changed:defunct",
    "object:property-change:accessible-role",
    "object:property-change:accessible-parent",
)
# A tooltip shows ~0.5 s after the pointer stops on a control, click or no click.
_NOT_SOURCES = frozenset({"tool tip"})


def counts_as_effect(kind: str, role: str) -> bool:
    """Whether an event of type ``kind`` from an object of ``role`` can confirm an action."""
    return not kind.startswith(_NOT_EFFECTS) and role not in _NOT_SOURCES


# The most specific prefix wins: "object:state-changed:focused" before "object:state-changed".
_EVENT_WORDS = (
    ("object:state-changed:focused", "focus moved"),
    ("object:state-changed:checked", "a check state changed"),
    ("object:state-changed:selected", "a selection changed"),
    ("object:state-changed:expanded", "something expanded or collapsed"),
    ("object:state-changed:showing", "something appeared or disappeared"),
    ("object:state-changed", "a state changed"),
    ("object:text-changed", "text changed"),
    ("object:children-changed", "the window's contents changed"),
    ("object:property-change:accessible-name", "a name changed"),
    ("object:property-change:accessible-value", "a value changed"),
    ("object:value-changed", "a value changed"),
    ("object:property-change", "a property changed"),
    ("window:activate", "a window became active"),
    ("window:create", "a window opened"),
    ("window:destroy", "a window closed"),
    ("document:load-complete", "a page loaded"),
    ("document:reload", "a page reloaded"),
)


def disabled(states: frozenset[str]) -> bool:
    """Whether an element's states say it ignores input (neither "enabled" nor "sensitive").

    Unknown (no states read) is not disabled: only what the tree said counts.
    """
    return bool(states) and not states & {"enabled", "sensitive"}


def event_words(kind: str) -> str:
    """An AT-SPI event type in words ("object:state-changed:focused" → "focus moved")."""
    for prefix, words in _EVENT_WORDS:
        if kind.startswith(prefix):
            return words
    return kind


def reading_change(before: Reading, after: Reading | None) -> str:
    """What differs between two readings of one element, in words; "" when nothing does.

    ``after`` None means the element is gone (removed, or replaced by a reload): that is
    an effect too, since it was there just before the action.
    """
    if after is None:
        return "the element is gone"
    parts: list[str] = []
    if after.role != before.role:
        parts.append(f"role {before.role} → {after.role}")
    if after.states != before.states:
        gained = [f"+{s}" for s in sorted(after.states - before.states)]
        lost = [f"-{s}" for s in sorted(before.states - after.states)]
        parts.append("states " + " ".join(gained + lost))
    if after.name != before.name:
        parts.append(f"name {before.name!r} → {after.name!r}")
    if after.text != before.text:
        parts.append("text changed")
    if after.value != before.value:
        parts.append(f"value {before.value} → {after.value}")
    return "; ".join(parts)


def effect_words(effect: Effect) -> str:
    """The evidence in words for the result line ("focus moved", "re-read: states +checked")."""
    if effect.how == "event":
        return event_words(effect.detail)
    if effect.how == "re-read":
        return f"re-read: {effect.detail}"
    return "no effect seen"

"""The one keysym table X11, wlroots and GNOME share: names and values agree with X's own."""

from __future__ import annotations

import Xlib.XK

from agent.computers.keysyms import KEYSYM_VALUES, NAMED_KEYSYMS
from agent.keys import KEY_NAMES

Xlib.XK.load_keysym_group("xf86")


def _x_value(name: str) -> int:
    # python-xlib spells the XF86 keysyms "XF86_AudioMute" where X writes "XF86AudioMute".
    return Xlib.XK.string_to_keysym(name.replace("XF86", "XF86_", 1) if name.startswith("XF86") else name)


def test_every_multi_letter_key_name_has_a_keysym() -> None:
    named = {key for key in KEY_NAMES if len(key) > 1}
    assert named == set(NAMED_KEYSYMS) == set(KEYSYM_VALUES)


def test_each_name_and_value_is_the_same_keysym_in_x() -> None:
    wrong = {key: (name, hex(KEYSYM_VALUES[key]), hex(_x_value(name)))
             for key, name in NAMED_KEYSYMS.items() if _x_value(name) != KEYSYM_VALUES[key]}
    assert wrong == {}

"""Keymaps for the virtual keyboard: every key and character a text needs gets its own keycode (wtype's way).

A Wayland virtual keyboard brings its own XKB keymap, so any Unicode character can be
typed as one key press: a keycode whose only keysym is that character. The keymap
holds the modifiers and named keys at fixed codes and the characters of the texts
typed so far after them; a text with a character it lacks makes a new one. Pure
text, no Wayland here, so it is table-tested.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from agent.computers.keysyms import NAMED_KEYSYMS
from agent.errors import ActionError

# The modifier each modifier key sets: (XKB real modifier, its mask bit) as the
# compositor serialises them (Shift 1, Control 4, Mod1 = Alt 8, Mod4 = Super 64).
MODIFIER_MASKS: dict[str, tuple[str, int]] = {
    "shift": ("Shift", 1),
    "ctrl": ("Control", 4),
    "alt": ("Mod1", 8),
    "super": ("Mod4", 64),
}

FIRST_KEYCODE = 9  # XKB keycodes start at 8; evdev code = XKB code - 8
MAX_KEYCODE = 255  # Xwayland clients cannot see keycodes above 255


def char_keysym(char: str) -> str:
    """The XKB keysym name of one character ("U00E9" for é; xkbcommon maps U0020-U00FF to Latin-1)."""
    return f"U{ord(char):04X}"


@dataclass(frozen=True)
class Keymap:
    """An XKB keymap text and the evdev code of each key (canonical names) and character in it."""

    text: str
    named: dict[str, int]
    chars: dict[str, int]

    def code_of_key(self, key: str) -> int:
        """The evdev code of a canonical key: a named key, or a one-character key ("a", "1", "/")."""
        if key in self.named:
            return self.named[key]
        if len(key) == 1 and key in self.chars:
            return self.chars[key]
        raise ActionError(f"the key {key!r} is not in the virtual keyboard's keymap")

    def covers(self, chars: Iterable[str]) -> bool:
        return all(c in self.chars for c in chars)


def build_keymap(chars: Iterable[str]) -> Keymap:
    """A keymap with every named key, then ``chars`` (deduplicated, in order); ActionError when too many."""
    unique = list(dict.fromkeys(c for c in chars if c not in "\n\t"))
    names = list(NAMED_KEYSYMS)
    total = len(names) + len(unique)
    if FIRST_KEYCODE + total - 1 > MAX_KEYCODE:
        raise ActionError(
            f"a text with {len(unique)} different characters does not fit one keymap; split it"
        )
    keycodes, symbols = [], []
    named: dict[str, int] = {}
    chars_at: dict[str, int] = {}
    code = FIRST_KEYCODE
    for name in names:
        keycodes.append(f"<K{code}> = {code};")
        symbols.append(f"key <K{code}> {{[ {NAMED_KEYSYMS[name]} ]}};")
        named[name] = code - 8
        if name in MODIFIER_MASKS:
            symbols.append(f"modifier_map {MODIFIER_MASKS[name][0]} {{ <K{code}> }};")
        code += 1
    for char in unique:
        keycodes.append(f"<K{code}> = {code};")
        symbols.append(f"key <K{code}> {{[ {char_keysym(char)} ]}};")
        chars_at[char] = code - 8
        code += 1
    text = (
        "xkb_keymap {\n"
        f'xkb_keycodes "deskpilot" {{\nminimum = 8;\nmaximum = {max(code, 255)};\n'
        + "\n".join(keycodes)
        + "\n};\n"
        'xkb_types "deskpilot" { include "complete" };\n'
        'xkb_compatibility "deskpilot" { include "complete" };\n'
        'xkb_symbols "deskpilot" {\n'
        + "\n".join(symbols)
        + "\n};\n};\n"
    )
    return Keymap(text, named, chars_at)


def modifier_mask(keys: Iterable[str]) -> int:
    """The depressed-modifier mask for the modifier keys among ``keys``."""
    mask = 0
    for key in keys:
        if key in MODIFIER_MASKS:
            mask |= MODIFIER_MASKS[key][1]
    return mask


# The ASCII a base keymap carries, so chords ("ctrl+c") and plain typing need no new keymap.
BASE_CHARS = "".join(chr(c) for c in range(0x20, 0x7F))

"""Canonical key names (agent.keys) as X keysyms, shared by every backend that speaks keysyms.

X11 (XTEST, through the live keymap), wlroots (the virtual keyboard's own XKB keymap and
sway's bindsym) take the keysym's name; GNOME (Mutter's ``NotifyKeyboardKeysym``) takes its
value. Both come from X11's keysymdef.h / XF86keysym.h, one row per key here. Pure data:
no desktop library, so any backend may import it. (KDE's fake-input takes evdev key codes,
not keysyms: its table is agent/computers/kde/keys.py.)
"""

from __future__ import annotations

# Canonical key name -> (X keysym name, X keysym value), for keys that are not one character.
_KEYS: dict[str, tuple[str, int]] = {
    "ctrl": ("Control_L", 0xFFE3),
    "alt": ("Alt_L", 0xFFE9),
    "shift": ("Shift_L", 0xFFE1),
    "super": ("Super_L", 0xFFEB),
    "enter": ("Return", 0xFF0D),
    "tab": ("Tab", 0xFF09),
    "space": ("space", 0x0020),
    "backspace": ("BackSpace", 0xFF08),
    "delete": ("Delete", 0xFFFF),
    "escape": ("Escape", 0xFF1B),
    "insert": ("Insert", 0xFF63),
    "home": ("Home", 0xFF50),
    "end": ("End", 0xFF57),
    "pageup": ("Prior", 0xFF55),
    "pagedown": ("Next", 0xFF56),
    "up": ("Up", 0xFF52),
    "down": ("Down", 0xFF54),
    "left": ("Left", 0xFF51),
    "right": ("Right", 0xFF53),
    "capslock": ("Caps_Lock", 0xFFE5),
    "numlock": ("Num_Lock", 0xFF7F),
    "scrolllock": ("Scroll_Lock", 0xFF14),
    "printscreen": ("Print", 0xFF61),
    "pause": ("Pause", 0xFF13),
    "menu": ("Menu", 0xFF67),
    "volumeup": ("XF86AudioRaiseVolume", 0x1008FF13),
    "volumedown": ("XF86AudioLowerVolume", 0x1008FF11),
    "volumemute": ("XF86AudioMute", 0x1008FF12),
    "playpause": ("XF86AudioPlay", 0x1008FF14),
    "nexttrack": ("XF86AudioNext", 0x1008FF17),
    "prevtrack": ("XF86AudioPrev", 0x1008FF16),
} | {f"f{n}": (f"F{n}", 0xFFBE + n - 1) for n in range(1, 25)}

# Canonical key name -> X keysym name ("pageup" -> "Prior").
NAMED_KEYSYMS: dict[str, str] = {key: name for key, (name, _) in _KEYS.items()}
# Canonical key name -> X keysym value ("pageup" -> 0xFF55).
KEYSYM_VALUES: dict[str, int] = {key: value for key, (_, value) in _KEYS.items()}

"""Answers xdg-desktop-portal-gnome's "Remote desktop" dialog as a person would, through Mutter's own API.

Runs inside a headless gnome-shell session (tests/wayland.py ``headless_mutter(shell=True,
portals=True)``) as the session's user: ``python tests/portal_consent.py allow|deny|view-only``.
It watches the screen (Mutter's screen cast) until the dialog's Share button shows
(GNOME's accent blue, a button-sized box), then, for ``allow``, clicks the "Allow remote
interaction" switch (where it sits relative to Share in GNOME 43's dialog: measured,
``../shared/wayland-facts.md`` §1c), waits until the switch shows blue (switched on), and
clicks Share; ``deny`` presses Escape (the dialog's Cancel, from the keyboard); ``view-only`` clicks Share
with the switch off. Where no Share button is found, ``allow`` falls back to the measured
screen positions of the dialog on a 1920x1080 monitor. Prints one JSON line: what it did.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import numpy as np

from agent.computers.gnome.desktop import warm_up
from agent.computers.gnome.keys import KEYSYMS
from agent.computers.gnome.mutter import MutterSession
from agent.computers.gnome.stream import StreamReader

ACCENT = np.array([53, 132, 228])  # Adwaita's blue: the suggested button, a switch that is on
TOLERANCE = 24
# Measured on gnome-shell 43 / xdg-desktop-portal-gnome 43 at 1920x1080 (outside the overview).
MEASURED_SHARE, MEASURED_SWITCH = (1172, 413), (1148, 612)
SWITCH_FROM_SHARE = (MEASURED_SWITCH[0] - MEASURED_SHARE[0], MEASURED_SWITCH[1] - MEASURED_SHARE[1])
BUTTON_W, BUTTON_H = (40, 140), (20, 50)  # the size range a Share button's box may have
BTN_LEFT = 272


def accent_box(pixels: np.ndarray, near: tuple[int, int] | None = None, radius: int = 40) -> tuple[int, int, int, int] | None:
    """The bounding box (x, y, w, h) of the accent-blue pixels (around ``near``), or None."""
    mask = np.all(np.abs(pixels[:, :, :3].astype(int) - ACCENT) <= TOLERANCE, axis=2)
    if near is not None:
        x, y = near
        window = np.zeros_like(mask)
        window[max(y - radius, 0):y + radius, max(x - radius, 0):x + radius] = True
        mask &= window
    ys, xs = np.nonzero(mask)
    if len(xs) < 50:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def share_button(pixels: np.ndarray) -> tuple[int, int] | None:
    box = accent_box(pixels)
    if box is None:
        return None
    _, _, w, h = box
    if not (BUTTON_W[0] <= w <= BUTTON_W[1] and BUTTON_H[0] <= h <= BUTTON_H[1]):
        return None  # something else is blue too: not the dialog alone
    return box[0] + w // 2, box[1] + h // 2


def main(answer: str, timeout_s: float = 60.0) -> dict[str, Any]:
    session = MutterSession.open()
    reader = StreamReader(session.node)
    done: dict[str, Any] = {"answer": answer}
    try:
        deadline = time.monotonic() + timeout_s
        share = None
        while share is None and time.monotonic() < deadline:
            share = share_button(np.asarray(reader.frame().image()))
        done["found"] = share is not None
        reader.close()

        def click(point: tuple[int, int]) -> None:
            session.motion(*point)
            session.button(BTN_LEFT, True)
            session.button(BTN_LEFT, False)

        if answer == "deny":
            if share is None:
                return {**done, "error": "no dialog"}
            warm_up(session)  # a fresh session's first key reaches nobody
            session.keysym(KEYSYMS["escape"], True)
            session.keysym(KEYSYMS["escape"], False)
            return done
        if share is None:
            share = MEASURED_SHARE
        switch = (share[0] + SWITCH_FROM_SHARE[0], share[1] + SWITCH_FROM_SHARE[1])
        if answer == "allow":
            click(switch)
            # Switched on when its blue stops growing (GTK animates the knob across).
            last, on = None, None
            while time.monotonic() < deadline:
                on = accent_box(np.asarray(reader.frame().image()), near=switch)
                if on is not None and on == last:
                    break
                last = on
            reader.close()
            done["switched_on"] = on is not None
        click(share)
        done.update(share=share, switch=switch)
        return done
    finally:
        reader.close()
        session.close()


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(sys.argv[1])) + "\n")

"""Answers xdg-desktop-portal-gnome's "Remote desktop" dialog as a person would, through Mutter's own API.

Runs inside a headless gnome-shell session (tests/wayland.py ``headless_mutter(shell=True,
portals=True)``) as the session's user: ``python tests/portal_consent.py allow|deny|view-only``.
It watches the screen (Mutter's screen cast) until the dialog's Share button shows
(GNOME's accent blue, a button-sized box), then, for ``allow``, clicks the "Allow remote
interaction" switch (where it sits relative to Share in GNOME 43's dialog, measured here), waits until the switch shows blue (switched on), and
clicks Share; ``deny`` presses Escape (the dialog's Cancel, from the keyboard); ``view-only`` clicks Share
with the switch off. Where no Share button is found, ``allow`` falls back to the measured
screen positions of the dialog on a 1920x1080 monitor. Prints one JSON line: what it did.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from agent.computers.gnome.desktop import warm_up
from agent.computers.gnome.mutter import MutterSession
from agent.computers.gnome.stream import StreamReader
from agent.computers.keysyms import KEYSYM_VALUES

ACCENT = np.array([53, 132, 228])  # Adwaita's blue: the suggested button, a switch that is on
TOLERANCE = 24
# Measured on gnome-shell 43 / xdg-desktop-portal-gnome 43 at 1920x1080 (outside the overview).
MEASURED_SHARE, MEASURED_SWITCH = (1173, 429), (1149, 628)
SWITCH_FROM_SHARE = (MEASURED_SWITCH[0] - MEASURED_SHARE[0], MEASURED_SWITCH[1] - MEASURED_SHARE[1])
BUTTON_W, BUTTON_H = (36, 140), (16, 50)  # after the erosion: 4 px smaller  # the size range a Share button's box may have
BTN_LEFT = 272
SEARCH_RADIUS = 120  # px around the measured Share button: the dialog is centred on the monitor


def accent_box(pixels: np.ndarray, near: tuple[int, int] | None = None, radius: int = 40) -> tuple[int, int, int, int] | None:
    """The bounding box (x, y, w, h) of the accent-blue pixels (around ``near``), or None."""
    blue = np.all(np.abs(pixels[:, :, :3].astype(int) - ACCENT) <= TOLERANCE, axis=2)
    # Solid areas only (a 5x5 square of blue around each pixel): a focused row's 2 px
    # accent-blue focus ring is not a button.
    mask = blue.copy()
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            mask &= np.roll(np.roll(blue, dy, axis=0), dx, axis=1)
    if near is not None:
        x, y = near
        window = np.zeros_like(mask)
        window[max(y - radius, 0):y + radius, max(x - radius, 0):x + radius] = True
        mask &= window
    ys, xs = np.nonzero(mask)
    if len(xs) < 30:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def share_button(pixels: np.ndarray) -> tuple[int, int] | None:
    """The centre of the Share button: the accent-blue box near where GNOME 43 centres the dialog.

    Only near it: a focused GTK entry elsewhere has an accent-blue focus ring too.
    """
    box = accent_box(pixels, near=MEASURED_SHARE, radius=SEARCH_RADIUS)
    if box is None:
        return None
    _, _, w, h = box
    if not (BUTTON_W[0] <= w <= BUTTON_W[1] and BUTTON_H[0] <= h <= BUTTON_H[1]):
        return None  # something else is blue too: not the dialog alone
    return box[0] + w // 2, box[1] + h // 2


def main(answer: str, timeout_s: float = 60.0) -> dict[str, Any]:
    session = MutterSession.open()
    # A fresh session's virtual devices join the seat with their first event, which reaches
    # nobody (a first click on the switch was lost that way): tap Shift, move, let them bind.
    warm_up(session)
    reader = StreamReader(session.node, last_input=lambda: session.last_input_at, repaint=session.nudge)
    done: dict[str, Any] = {"answer": answer}
    try:
        deadline = time.monotonic() + timeout_s
        # Found when it stays put in two frames in a row: the shell animates a new window in.
        share, seen = None, None
        while time.monotonic() < deadline:
            image = reader.frame().image()
            share, seen = share_button(np.asarray(image)), share
            if share is not None and share == seen:
                break
        else:
            share = None
        if os.environ.get("PORTAL_CONSENT_FRAMES"):  # what it saw, for whoever debugs a failing test
            image.save(Path(os.environ["PORTAL_CONSENT_FRAMES"]) / "dialog.png")
        done["found"] = share is not None
        reader.close()

        def click(point: tuple[int, int]) -> None:
            session.motion(*point)
            session.button(BTN_LEFT, True)
            session.button(BTN_LEFT, False)

        if answer == "deny":
            if share is None:
                return {**done, "error": "no dialog"}
            session.keysym(KEYSYM_VALUES["escape"], True)
            session.keysym(KEYSYM_VALUES["escape"], False)
            return done
        if share is None:
            share = MEASURED_SHARE
        switch = (share[0] + SWITCH_FROM_SHARE[0], share[1] + SWITCH_FROM_SHARE[1])
        if answer == "allow":
            click(switch)
            # Switched on when its blue stops growing (GTK animates the knob across).
            last, on = None, None
            while time.monotonic() < deadline:
                image = reader.frame().image()
                on = accent_box(np.asarray(image), near=switch)
                if on is not None and on == last:
                    break
                last = on
            reader.close()
            done["switched_on"] = on is not None
            done["switch_box"] = on
            if os.environ.get("PORTAL_CONSENT_FRAMES"):
                image.save(Path(os.environ["PORTAL_CONSENT_FRAMES"]) / "switched.png")
        click(share)
        done.update(share=share, switch=switch)
        return done
    finally:
        reader.close()
        session.close()
        if os.environ.get("PORTAL_CONSENT_CLOSED"):
            # The command being tested waits for this: while this harness's own session is
            # still open, Mutter's seat has two remote desktops (not what a user's desktop has).
            Path(os.environ["PORTAL_CONSENT_CLOSED"]).write_text(str(time.monotonic()))


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(sys.argv[1])) + "\n")

"""The design-to-HTML preview: the page rendered by headless Chromium beside the design."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from agent.errors import ConfigError, DisplayError, StoppedError

if TYPE_CHECKING:
    from PIL.Image import Image

# Chromium's own switch for this (--blink-settings=scriptEnabled=false) stops
# --screenshot from writing anything (measured, Chromium 156), so the page says it.
_NO_SCRIPTS = '<meta http-equiv="Content-Security-Policy" content="script-src \'none\'">'
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
GAP = 16


def find_browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise ConfigError("--preview needs Chromium (apt-get install chromium); none found on PATH")


def without_scripts(html: str) -> str:
    """The page for rendering only, with scripts forbidden by a policy in its head."""
    head = _HEAD.search(html)
    if head is None:
        return _NO_SCRIPTS + html
    return html[: head.end()] + _NO_SCRIPTS + html[head.end() :]


def render_html(
    html: str,
    size: tuple[int, int],
    stop: threading.Event,
    browser: str | None = None,
    timeout_s: float = 60.0,
) -> Image:
    """A screenshot of ``html`` at ``size`` from headless Chromium, scripts off and no network:
    the page is the model's output, so it is shown, never run."""
    from PIL import Image as PILImage

    command = browser or find_browser()
    with tempfile.TemporaryDirectory(prefix="deskpilot-preview-") as folder:
        page = Path(folder) / "page.html"
        page.write_text(without_scripts(html), encoding="utf-8")
        shot = Path(folder) / "render.png"
        args = [
            command,
            "--headless",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            f"--user-data-dir={folder}/profile",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--window-size={size[0]},{size[1]}",
            f"--screenshot={shot}",
            page.as_uri(),
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to start as root with its sandbox
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            finished = threading.Event()

            def watch() -> None:
                proc.wait()
                finished.set()

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            deadline = timeout_s
            while not finished.wait(0.1):  # wake up for a stop as well as for the exit
                deadline -= 0.1
                if stop.is_set():
                    raise StoppedError("stopped while rendering the preview")
                if deadline <= 0:
                    raise DisplayError(f"Chromium did not render the preview in {timeout_s:.0f} s")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if not shot.is_file():
            err = proc.stderr.read().decode("utf-8", "replace").strip().splitlines() if proc.stderr else []
            raise DisplayError(f"Chromium rendered no preview: {err[-1] if err else 'no output'}")
        with PILImage.open(shot) as image:
            image.load()
            return image.convert("RGB")


def side_by_side(design: Image, render: Image) -> Image:
    """The design on the left, the render on the right, at the same height, on a grey ground."""
    from PIL import Image as PILImage

    height = max(design.height, render.height)
    width = design.width + GAP + render.width
    canvas = PILImage.new("RGB", (width + 2 * GAP, height + 2 * GAP), (128, 128, 128))
    canvas.paste(design.convert("RGB"), (GAP, GAP))
    canvas.paste(render.convert("RGB"), (2 * GAP + design.width, GAP))
    return canvas

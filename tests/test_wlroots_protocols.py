"""The shipped wlroots protocol bindings are what pywayland's scanner makes from the vendored XML."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROTOCOLS = Path(__file__).resolve().parent.parent / "agent" / "computers" / "wlroots" / "protocols"
WAYLAND_XML = Path("/usr/share/wayland/wayland.xml")  # libwayland-dev
GENERATED = ("wlr_screencopy_unstable_v1.py", "wlr_virtual_pointer_unstable_v1.py", "virtual_keyboard_unstable_v1.py")


def test_each_vendored_protocol_keeps_its_mit_license() -> None:
    files = sorted(p.name for p in (PROTOCOLS / "xml").glob("*.xml"))
    assert files == ["virtual-keyboard-unstable-v1.xml", "wlr-screencopy-unstable-v1.xml",
                     "wlr-virtual-pointer-unstable-v1.xml"]
    for name in files:
        text = (PROTOCOLS / "xml" / name).read_text(encoding="utf-8")
        assert "<copyright>" in text and "Permission is hereby granted, free of charge" in text, name


@pytest.mark.process
def test_the_bindings_match_a_fresh_scan(tmp_path: Path) -> None:
    if not WAYLAND_XML.exists():
        pytest.fail(f"{WAYLAND_XML} is missing: apt-get install libwayland-dev (scripts/install.sh --test)")
    xml = sorted(str(p) for p in (PROTOCOLS / "xml").glob("*.xml"))
    done = subprocess.run([sys.executable, "-m", "pywayland.scanner", "-o", str(tmp_path), "-i", str(WAYLAND_XML), *xml],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for name in GENERATED:
        assert (tmp_path / name).read_text() == (PROTOCOLS / name).read_text(), f"{name} differs: regenerate it"

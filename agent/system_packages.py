"""The apt packages each desktop backend needs, and which of them this machine lacks.

The table is data, ``agent/system_packages.txt``: ``deskpilot doctor`` checks it here and
``scripts/install.sh`` installs from it (``python3 -m agent.system_packages`` prints the
packages for the detected desktop), so the two cannot drift apart. Checks look at files
only (PATH, library, GStreamer plugin and typelib folders): no process is started and
neither gi nor GStreamer is imported, so the doctor stays fast.

    python3 -m agent.system_packages     the packages the detected desktop needs, one line
"""

from __future__ import annotations

import glob
import os
import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

from agent.errors import ConfigError

TABLE = Path(__file__).with_name("system_packages.txt")
Check = Literal["exe", "file", "lib", "gst", "typelib"]
CHECKS: tuple[Check, ...] = ("exe", "file", "lib", "gst", "typelib")
PLATFORMS = ("x11", "wlroots", "gnome", "kde", "atspi")


@dataclass(frozen=True)
class Requirement:
    """One row of the table: ``package`` is present when any one of ``targets`` is found."""

    platform: str
    package: str
    check: Check
    targets: tuple[str, ...]
    why: str


def parse_table(text: str) -> tuple[Requirement, ...]:
    """The rows of ``system_packages.txt``; a malformed row is a ``ValueError`` naming its line."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split(maxsplit=4)
        if len(parts) < 5 or parts[0] not in PLATFORMS or parts[2] not in CHECKS:
            raise ValueError(f"system_packages.txt line {number}: {line.strip()!r} is not "
                             f"'platform package check target why' (platforms {PLATFORMS}, checks {CHECKS})")
        platform, package, check, target, why = parts
        rows.append(Requirement(platform, package, cast(Check, check), tuple(target.split("|")), why.strip()))
    return tuple(rows)


def load_table() -> tuple[Requirement, ...]:
    return parse_table(TABLE.read_text(encoding="utf-8"))


def _lib_dirs(environ: Mapping[str, str], root: Path) -> tuple[Path, ...]:
    """The folders shared libraries are loaded from: LD_LIBRARY_PATH, then the multiarch and plain ones."""
    listed = [Path(p) for p in environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p]
    multiarch = sorted(Path(p) for p in glob.glob(str(root / "usr/lib/*-linux-*")))
    multiarch += sorted(Path(p) for p in glob.glob(str(root / "lib/*-linux-*")))
    plain = [root / "usr/lib64", root / "usr/lib", root / "lib64", root / "lib"]
    return tuple(listed + multiarch + plain)


def _listed(environ: Mapping[str, str], *names: str) -> list[Path]:
    return [Path(p) for name in names for p in environ.get(name, "").split(os.pathsep) if p]


@dataclass(frozen=True)
class SearchPaths:
    """Where each check looks; ``from_environment`` for this machine, or made up in tests."""

    path: str  # PATH, for "exe"
    lib_dirs: tuple[Path, ...]
    gst_dirs: tuple[Path, ...]
    typelib_dirs: tuple[Path, ...]
    root: Path = field(default=Path("/"))  # "file" targets are absolute paths under it

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ, root: Path = Path("/")) -> SearchPaths:
        libs = _lib_dirs(environ, root)
        gst = _listed(environ, "GST_PLUGIN_PATH_1_0", "GST_PLUGIN_PATH")
        gst += _listed(environ, "GST_PLUGIN_SYSTEM_PATH_1_0", "GST_PLUGIN_SYSTEM_PATH") or [
            d / "gstreamer-1.0" for d in libs
        ]
        typelibs = _listed(environ, "GI_TYPELIB_PATH") + [d / "girepository-1.0" for d in libs]
        return cls(environ.get("PATH", os.defpath), libs, tuple(gst), tuple(typelibs), root)

    def finds(self, requirement: Requirement) -> bool:
        """Whether any of the requirement's targets is on this machine (file lookups only)."""
        return any(self._finds(requirement.check, target) for target in requirement.targets)

    def _finds(self, check: Check, target: str) -> bool:
        if check == "exe":
            return shutil.which(target, path=self.path) is not None
        if check == "file":
            return (self.root / target.lstrip("/")).exists()
        folders = {"lib": self.lib_dirs, "gst": self.gst_dirs, "typelib": self.typelib_dirs}[check]
        name = f"{target}.typelib" if check == "typelib" else target
        return any((folder / name).exists() for folder in folders)


def platforms_for(environ: Mapping[str, str], system: str = sys.platform) -> tuple[str, ...]:
    """The table's platforms this session needs: its backend's, and the accessibility tree's.

    From the environment alone (no compositor or bus is asked): a GNOME session counts
    as GNOME even before a GNOME remote-desktop API answers, since its packages are needed
    either way. Nothing for a session no backend drives (no display, an unknown Wayland).
    """
    from agent.computers.selection import Verdict, choose_platform

    if not system.startswith("linux"):
        return ()
    try:
        verdict = choose_platform(environ, system=system, gnome_on_bus=lambda: True).verdict
    except ConfigError:  # a bad DESKPILOT_PLATFORM: the platform check says so
        return ()
    if verdict in (Verdict.X11, Verdict.WLROOTS, Verdict.GNOME, Verdict.KDE):
        return (str(verdict), "atspi")
    return ()


def needed(platforms: Iterable[str], table: Sequence[Requirement]) -> list[Requirement]:
    wanted = set(platforms)
    return [r for r in table if r.platform in wanted]


def missing(requirements: Iterable[Requirement], where: SearchPaths) -> list[Requirement]:
    """The requirements not found, in table order."""
    return [r for r in requirements if not where.finds(r)]


def package_names(requirements: Iterable[Requirement]) -> list[str]:
    """The distinct package names, in first-seen order."""
    return list(dict.fromkeys(r.package for r in requirements))


def apt_command(packages: Sequence[str]) -> str:
    """The one command that installs ``packages``."""
    return "sudo apt-get install -y " + " ".join(packages)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the packages this session's desktop needs (always X11's and the accessibility tree's too).

    X11's are always included: without a desktop session Deskpilot runs on Xvfb.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args:
        sys.stderr.write("usage: python3 -m agent.system_packages (no arguments)\n")
        return 2
    platforms = ("x11", "atspi", *platforms_for(os.environ))
    sys.stdout.write(" ".join(package_names(needed(platforms, load_table()))) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

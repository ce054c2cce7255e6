"""Writing user data that may hold screenshots or typed text: private (0600) from the start."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from agent.errors import ConfigError

if TYPE_CHECKING:
    from PIL.Image import Image

_IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def open_private(path: Path, mode: str = "wb") -> int:
    """Create or truncate ``path`` with mode 0600 before any byte is written to it."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its old mode through os.open
    return fd


def write_private_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``, mode 0600, so a reader sees the old file or the new one, never half.

    The bytes go to a temporary file beside ``path`` (same file system, so the rename is atomic),
    are fsynced, then renamed over ``path``. Any failure (OSError, or an interrupt) removes the
    temporary file and leaves the old ``path`` as it was; the OSError goes to the caller, who
    words it for its own file.
    """
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)  # mkstemp makes it 0600; say so where it matters
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_image_private(image: Image, path: Path) -> None:
    fmt = _IMAGE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(_IMAGE_FORMATS))
        raise ConfigError(f"cannot save {path.name!r}: use one of the suffixes {known}")
    if not path.parent.is_dir():
        raise ConfigError(f"cannot save {path}: the folder {path.parent} does not exist")
    try:
        fd = open_private(path)
    except OSError as err:
        raise ConfigError(f"cannot write {path}: {err.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            image.save(handle, format=fmt)
    except OSError:
        path.unlink(missing_ok=True)  # a half-written picture is worse than none
        raise

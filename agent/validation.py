"""One line for a pydantic validation error: where, what, and how many more (bad input in one line)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


def one_line(err: ValidationError) -> str:
    """``loc: message (and N more)`` of the first error; pydantic's "Value error, " prefix dropped."""
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return (f"{where}: " if where else "") + message + more

"""The one exception tree of Deskpilot; every error a user can see is one of these.

    DeskpilotError                  base; ``str(err)`` is a one-line message for users
    ├── ReplyError                  the model's text is not a usable tool call
    │   └── DescriptionOnlyError    a click named by description only (resolved by locate)
    ├── ActionError                 a well-formed call that cannot be done as asked
    │   ├── OffGridError            coordinates outside the model's coordinate frame
    │   └── OffScreenError          a point outside the captured monitor
    ├── ConfigError                 bad options, config file or command-line values
    ├── HistoryError                the run history cannot be written (disk full, read-only)
    ├── BackendError                the model cannot be loaded or reached, or failed
    │   └── ModelMissingError       the model is not on this machine and cannot be fetched now
    ├── DisplayError                no display, or capture/input failed on it
    │   ├── ClipboardError          the clipboard route for non-ASCII text failed
    │   ├── CursorMismatchError     the pointer is not where it was sent; no click
    │   └── UnsupportedDesktopError a desktop with no backend yet (a Wayland session)
    └── StoppedError                the user stopped the agent (hotkey, fail-safe)

The CLI's exit code for each is one table, ``EXIT_CODES`` in ``agent/cli/options.py``
(``StoppedError`` 3; ``HistoryError``, ``BackendError`` and ``TargetNotFoundError`` 1;
every other ``DeskpilotError`` 2), with ``str(err)`` on stderr; anything else is a bug and
keeps its traceback. Inside a run, any ``DeskpilotError`` ends the run as ``error``, and
the run's result keeps it, so the command exits with the table's code for it.
"""

from __future__ import annotations


class DeskpilotError(Exception):
    """Base class: the message is meant for the user (and, for replies, the model)."""


class ReplyError(DeskpilotError):
    """The model's reply holds a tool call that cannot be turned into actions."""


class DescriptionOnlyError(ReplyError):
    """A click named its target only by description (the seed guide's shape, no coordinates).

    Callers that can ground a description (the planner with a locator) resolve it; to
    everyone else it is an ordinary unusable reply.
    """

    def __init__(self, message: str, action: str, description: str) -> None:
        super().__init__(message)
        self.action = action
        self.description = description


class ActionError(DeskpilotError):
    """A valid action that cannot be carried out as asked."""


class OffGridError(ActionError):
    """A coordinate lies outside the model's coordinate frame (e.g. 2530 on 0..1000)."""


class OffScreenError(ActionError):
    """A point lies outside the monitor or region that was captured."""


class ConfigError(DeskpilotError):
    """Invalid user configuration or command-line input."""


class HistoryError(DeskpilotError):
    """The run's record cannot be written: the history folder is read-only, full or missing."""


class BackendError(DeskpilotError):
    """The model backend failed: load error, out of memory, server down or garbage."""


class ModelMissingError(BackendError):
    """The model is not on this machine (a missing folder, not downloaded) and cannot be fetched now.

    ``model`` is what was asked for and ``problem`` the message without what to do about it,
    so a front end can say what to change in its own words.
    """

    def __init__(self, message: str, model: str, problem: str | None = None) -> None:
        super().__init__(message)
        self.model = model
        self.problem = problem or message


class DisplayError(DeskpilotError):
    """The desktop cannot be captured or driven (no display, X errors, missing tools)."""


class ClipboardError(DisplayError):
    """Setting, pasting or restoring the clipboard failed."""


class CursorMismatchError(DisplayError):
    """The pointer did not arrive where it was sent, so a click was refused."""


class UnsupportedDesktopError(DisplayError):
    """This session's desktop has no backend (a Wayland session today): refuse, never act blind."""


class StoppedError(DeskpilotError):
    """The user stopped the agent; nothing more may be performed."""


class TargetNotFoundError(ActionError):
    """The model did not point at the described element: a failure, never a guessed click."""

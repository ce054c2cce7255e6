"""The accessibility tree through AT-SPI (X11 and Wayland alike); gi is imported only when one is opened."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.computers.atspi.tree import AtspiTree
    from agent.ports import WindowStack


def open_tree(stack: WindowStack, *, windows_known: bool = True) -> AtspiTree | None:
    """The AT-SPI tree, switched on for the session; None when no accessibility bus answers.

    None too where the platform cannot tell where windows are (``windows_known`` False:
    GNOME on Wayland): a Wayland toolkit reports its elements relative to its own
    window, and which window covers a point cannot be checked, so the pixels decide.
    The bus is checked first: libatspi kills the process when it cannot reach one.
    """
    from agent.computers.atspi.bus import bus_address, switch_on

    if not windows_known or bus_address() is None:
        return None
    switch_on()
    from agent.computers.atspi.tree import AtspiTree

    return AtspiTree(stack)

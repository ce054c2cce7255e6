"""The accessibility tree through AT-SPI (X11 and Wayland alike); gi is imported only when one is opened."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.computers.atspi.tree import AtspiTree
    from agent.ports import WindowStack


def open_tree(stack: WindowStack) -> AtspiTree | None:
    """The AT-SPI tree, switched on for the session; None when no accessibility bus answers.

    The bus is checked first: libatspi kills the process when it cannot reach one.
    """
    from agent.computers.atspi.bus import bus_address, switch_on

    if bus_address() is None:
        return None
    switch_on()
    from agent.computers.atspi.tree import AtspiTree

    return AtspiTree(stack)

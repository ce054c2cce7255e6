"""The core protocol for the generated modules' ``from .wayland import ...``: pywayland's own classes."""

from pywayland.protocol.wayland import *  # noqa: F403

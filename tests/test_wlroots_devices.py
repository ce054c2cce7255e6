"""The wlroots devices' one settle wait (applications binding the new pointer and keyboard) ends on a stop."""

from __future__ import annotations

import threading
from unittest.mock import MagicMock

import pytest

from agent.computers.wlroots import desktop
from agent.geometry import Region


def _connection() -> MagicMock:
    """A Wayland connection whose seat reports the devices at once (binding and dispatch are no-ops)."""
    wl = MagicMock()
    wl.lock = threading.RLock()
    wl.layout.return_value = Region(0, 0, 1920, 1080)
    return wl


def test_a_stop_during_the_settle_wait_ends_it_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # An hour: with a plain sleep the devices would not be ready before the join gives up.
    monkeypatch.setattr(desktop, "DEVICE_SETTLE_S", 3600.0)
    cancel = threading.Event()
    made: list[desktop.VirtualDevices] = []
    worker = threading.Thread(target=lambda: made.append(desktop.VirtualDevices(_connection(), cancel)), daemon=True)
    worker.start()
    cancel.set()
    worker.join(timeout=30)
    assert not worker.is_alive(), "the settle wait ignored the stop"
    assert made and made[0].keymap is not None


def test_without_a_stop_the_devices_are_made_after_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(desktop, "DEVICE_SETTLE_S", 0.0)
    devices = desktop.VirtualDevices(_connection(), threading.Event())
    assert devices.pointer is not None and devices.keyboard is not None
    assert devices.pointer_xy == (960, 540)

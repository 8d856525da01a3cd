"""What every simulated device shares: a handle on the world and a connected flag."""

from __future__ import annotations

from typing import Any

from drivers.interfaces import DeviceIdentity
from sim_backends.world import SimulatedBench


class SimDeviceMixin:
    """Connect/close bookkeeping for devices that live in the simulated world."""

    model = "simulated device"

    def __init__(self, world: SimulatedBench, name: str):
        self.world = world
        self.name = name
        self._connected = False

    @property
    def connected(self) -> bool:
        return self._connected

    def connect(self) -> None:
        self._connected = True

    def identity(self) -> DeviceIdentity:
        return DeviceIdentity(vendor="qiup", model=self.model, serial=f"SIM-{self.name}", firmware="sim-1")

    def status(self) -> dict[str, Any]:
        return {"connected": self._connected}

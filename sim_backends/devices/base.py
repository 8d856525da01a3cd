"""What every simulated device shares: a handle on the world, a connected flag and fault injection."""

from __future__ import annotations

from typing import Any

from drivers.interfaces import DeviceIdentity
from sim_backends.faults import FaultInjector
from sim_backends.world import SimulatedBench


class SimDeviceMixin:
    """Connect/close bookkeeping for devices that live in the simulated world."""

    model = "simulated device"

    def __init__(self, world: SimulatedBench, name: str, *, faults=None):
        self.world = world
        self.name = name
        self._connected = False
        self.faults = FaultInjector(faults, name)

    def _call(self, method: str) -> int:
        """Every contract call goes through here: counted, and faulted when configured."""
        self.faults.device = self.name
        return self.faults.on_call(method)

    @property
    def connected(self) -> bool:
        return self._connected

    def connect(self) -> None:
        self._call("connect")
        self._connected = True

    def identity(self) -> DeviceIdentity:
        self._call("identity")
        return DeviceIdentity(vendor="qiup", model=self.model, serial=f"SIM-{self.name}", firmware="sim-2")

    def status(self) -> dict[str, Any]:
        return {"connected": self._connected, "calls": self.faults.calls}

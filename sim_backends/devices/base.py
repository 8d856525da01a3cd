"""What every simulated device shares: a handle on the world, a connected flag, fault injection, and
the world's simulated clock for waits. The contracts (``drivers.contracts``) hold every rule; simulated
devices implement only the hooks, exactly like the real drivers."""

from __future__ import annotations

from drivers.contracts import DeviceIdentity
from sim_backends.faults import FaultInjector
from sim_backends.world import SimulatedBench


class SimDeviceMixin:
    """Connect/close bookkeeping for devices that live in the simulated world."""

    model = "simulated device"

    def __init__(self, world: SimulatedBench, name: str, *, faults=None):
        super().__init__(name)
        self.world = world
        self._connected = False
        self.faults = FaultInjector(faults, name)

    def _call(self, method: str) -> int:
        """Every contract call goes through here: counted, and faulted when configured. Readbacks
        (``read_state``, the poller) are never counted, so polling does not shift configured faults."""
        self.faults.device = self.name
        return self.faults.on_call(method)

    @property
    def connected(self) -> bool:
        return self._connected

    def _connect_hw(self) -> None:
        self._call("connect")
        self._connected = True

    def _close_hw(self) -> None:
        self._connected = False

    def _identity_hw(self) -> DeviceIdentity:
        self._call("identity")
        return DeviceIdentity(vendor="qiup", model=self.model, serial=f"SIM-{self.name}", firmware="sim-2")

    def _clock_s(self) -> float:
        return self.world.clock_s  # waits pass simulated time

    def _wait_s(self, seconds: float) -> None:
        if seconds > 0:
            self.world.advance(seconds)

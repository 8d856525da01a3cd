"""Simulated pump laser: emission and power setpoint act on the world's pump power."""

from __future__ import annotations

from drivers.interfaces import InterlockError, Laser, LimitError
from sim_backends.devices.base import SimDeviceMixin


class SimLaser(SimDeviceMixin, Laser):
    model = "simulated CW pump laser"

    def __init__(self, world, name: str = "laser", *, max_power_w: float = 0.2):
        super().__init__(world, name)
        self.max_power_w = max_power_w
        self._setpoint_w = 0.0
        self.interlock_is_closed = True

    def close(self) -> None:
        with self.world.lock:
            self.world.state.laser_emission = False  # safe state, even when never connected
        self._connected = False

    def set_emission(self, on: bool) -> None:
        self.require_connected()
        if on and not self.interlock_is_closed:
            raise InterlockError("interlock open: emission refused", device=self.name)
        with self.world.lock:
            self.world.state.laser_emission = bool(on)
            self.world.state.laser_power_w = self._setpoint_w

    def emission_on(self) -> bool:
        return self.world.state.laser_emission

    def set_power_w(self, power_w: float) -> None:
        self.require_connected()
        low, high = self.power_limits_w()
        if not low <= power_w <= high:
            raise LimitError(f"power {power_w:g} W outside [{low:g}, {high:g}] W", device=self.name)
        self._setpoint_w = float(power_w)
        with self.world.lock:
            self.world.state.laser_power_w = self._setpoint_w

    def power_setpoint_w(self) -> float:
        return self._setpoint_w

    def measured_power_w(self) -> float:
        return self._setpoint_w if self.world.state.laser_emission else 0.0

    def power_limits_w(self) -> tuple[float, float]:
        return 0.0, self.max_power_w

    def interlock_closed(self) -> bool:
        return self.interlock_is_closed

    def status(self):
        return {**super().status(), "emission": self.emission_on(), "power_w": self.measured_power_w()}

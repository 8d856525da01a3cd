"""Simulated pump laser: emission, power setpoint with a ramp, RIN, interlock input, faults."""

from __future__ import annotations

from drivers.contracts import Laser, LaserReadback
from drivers.errors import InterlockError
from sim_backends.devices.base import SimDeviceMixin


class SimLaser(SimDeviceMixin, Laser):
    """CW laser. Output power follows the setpoint with the world's ramp (1/e time ``power_ramp_time_s``);
    relative intensity noise ``rin_rms`` is drawn per camera frame by the optics. Opening the interlock
    (``open_interlock()``, or a configured trip) drops emission; switching on is then refused."""

    model = "simulated CW pump laser"

    def __init__(self, world, name: str = "laser", *, max_power_w: float = 0.2, power_ramp_time_s: float = 0.0,
                 rin_rms: float = 0.0, faults=None):
        super().__init__(world, name, faults=faults)
        self.max_power_w = max_power_w
        self._setpoint_w = 0.0
        world.laser_ramp.time_constant_s = power_ramp_time_s
        world.state.laser_rin_rms = rin_rms
        self._trip_reported = False

    # -- the interlock input (a test or the GUI's "door opened" button) --------------------------
    @property
    def interlock_is_closed(self) -> bool:
        return self.world.state.laser_interlock_closed

    @interlock_is_closed.setter
    def interlock_is_closed(self, closed: bool) -> None:
        with self.world.lock:
            self.world.state.laser_interlock_closed = bool(closed)
            if not closed:
                self.world.state.laser_emission = False

    def open_interlock(self) -> None:
        self.interlock_is_closed = False

    def close_interlock(self) -> None:
        self.interlock_is_closed = True
        self._trip_reported = False

    # -- hooks ------------------------------------------------------------------------------------
    def _connect_hw(self) -> None:
        super()._connect_hw()
        trip_s = getattr(self.faults.config, "interlock_trip_after_s", None)
        if trip_s is not None:
            self.world.interlock_trip_at_s = self.world.clock_s + trip_s

    def _laser_call(self, method: str) -> None:
        call = self._call(method)
        if self.faults.interlock_trips(call) and self.interlock_is_closed and not self._trip_reported:
            self.open_interlock()
        self.world.pump_power_w()  # applies a time-based trip that is due
        if not self.interlock_is_closed and not self._trip_reported:
            self._trip_reported = True
            raise InterlockError("interlock opened: emission is off", device=self.name)

    def _close_hw(self) -> None:
        with self.world.lock:
            self.world.state.laser_emission = False  # safe state, even when never connected
        self._connected = False

    def _set_emission_hw(self, on: bool) -> None:
        self._laser_call("set_emission")
        if on and not self.interlock_is_closed:
            raise InterlockError("interlock open: emission refused", device=self.name)
        with self.world.lock:
            if on and not self.world.state.laser_emission:
                self.world.laser_ramp.restart(self.world.clock_s, 0.0, self._setpoint_w)
            self.world.state.laser_emission = bool(on)
            self.world.state.laser_power_w = self._setpoint_w

    def _emission_on_hw(self) -> bool:
        self._laser_call("emission_on")
        return self.world.state.laser_emission

    def _set_power_w_hw(self, power_w: float) -> None:
        self._laser_call("set_power_w")
        with self.world.lock:
            self.world.laser_ramp.restart(self.world.clock_s, self.world.pump_power_w(), float(power_w))
            self._setpoint_w = float(power_w)
            self.world.state.laser_power_w = self._setpoint_w

    def _power_setpoint_w_hw(self) -> float:
        self._laser_call("power_setpoint_w")
        return self._setpoint_w

    def _measured_power_w_hw(self) -> float:
        self._laser_call("measured_power_w")
        with self.world.lock:
            return self.world.pump_power_w()

    def _power_limits_w(self) -> tuple[float, float]:
        return 0.0, self.max_power_w

    def _power_ramp(self) -> tuple[float | None, str]:
        ramp = self.world.laser_ramp
        return float(ramp.time_constant_s), ramp.shape

    def _interlock_closed_hw(self) -> bool:
        self._laser_call("interlock_closed")
        return self.interlock_is_closed

    def _read_state_hw(self) -> LaserReadback:
        """Straight from the world, uncounted (polling must not shift configured faults)."""
        with self.world.lock:
            s = self.world.state
            return LaserReadback(emission=s.laser_emission, setpoint_w=self._setpoint_w,
                                 measured_w=self.world.pump_power_w(), interlock_closed=s.laser_interlock_closed,
                                 fault=None if s.laser_interlock_closed else "interlock open")

"""The pump laser contract: emission (off is safe and always accepted), power in watts, interlock."""

from __future__ import annotations

import abc
import math
import threading

from drivers.contracts.base import Device
from drivers.contracts.readbacks import LaserCapabilities, LaserReadback
from drivers.errors import LimitError, PowerNotSettled


class Laser(Device):
    """Emission on/off, power setpoint and readback in watts, limits, interlock, settle wait."""

    readback_type = LaserReadback
    has_interlock_readout = True  # False where the protocol has no interlock query (iBeam smart)

    # ------------------------------------------------------------------ hooks
    @abc.abstractmethod
    def _set_emission_hw(self, on: bool) -> None:
        """Switch emission; raise InterlockError when the interlock forbids switching on."""

    @abc.abstractmethod
    def _emission_on_hw(self) -> bool: ...

    @abc.abstractmethod
    def _set_power_w_hw(self, power_w: float) -> None: ...

    @abc.abstractmethod
    def _power_setpoint_w_hw(self) -> float: ...

    @abc.abstractmethod
    def _measured_power_w_hw(self) -> float: ...

    @abc.abstractmethod
    def _power_limits_w(self) -> tuple[float, float]:
        """(min, max) allowed setpoint in watts, from facts cached at connect (no I/O)."""

    @abc.abstractmethod
    def _interlock_closed_hw(self) -> bool: ...

    def _fault_hw(self) -> str | None:
        """A fault the laser reports (text), or None."""
        return None

    # ------------------------------------------------------------------ contract
    def set_emission(self, on: bool) -> None:
        """Switch emission. Off is accepted from any thread at any time, ahead of queued calls; from a
        thread outside the run that owns the bench it also ends that run (emergency stop)."""
        if on:
            self.check_may_act("switching emission on")
            with self.transaction():
                self.require_connected()
                self._set_emission_hw(True)
                self._update_cache(emission=True)
            return
        outsider = not self.ownership.may_act()
        try:
            with self.transaction(priority=True):
                self.require_connected()
                self._set_emission_hw(False)
                self._update_cache(emission=False)
        finally:
            if outsider:
                self.ownership.emergency_stop(
                    f"laser emission switched off from outside the run (thread {threading.current_thread().name})")

    def emission_on(self) -> bool:
        with self.transaction():
            self.require_connected()
            return self._emission_on_hw()

    def set_power_w(self, power_w: float) -> None:
        """Set the output power setpoint; LimitError outside ``power_limits_w()`` (nothing sent)."""
        self.check_may_act(f"setting the power to {power_w * 1e3:g} mW")
        self.require_connected()
        self.check_power(power_w)
        with self.transaction():
            self._set_power_w_hw(float(power_w))
            self._update_cache(setpoint_w=float(power_w))

    def power_setpoint_w(self) -> float:
        with self.transaction():
            self.require_connected()
            return self._power_setpoint_w_hw()

    def measured_power_w(self) -> float:
        """The measured output power in watts (0 when emission is off)."""
        with self.transaction():
            self.require_connected()
            return self._measured_power_w_hw()

    def power_limits_w(self) -> tuple[float, float]:
        return self._power_limits_w()

    def interlock_closed(self) -> bool:
        with self.transaction():
            self.require_connected()
            return self._interlock_closed_hw()

    def fault(self) -> str | None:
        with self.transaction():
            self.require_connected()
            return self._fault_hw()

    def check_power(self, power_w: float) -> None:
        """The one power-limit rule and message for every laser (mW in the message)."""
        low, high = self.power_limits_w()
        if not (math.isfinite(power_w) and low <= power_w <= high):
            raise LimitError(
                f"power {power_w * 1e3:g} mW is outside the allowed range [{low * 1e3:g}, {high * 1e3:g}] mW",
                device=self.name,
            )

    def wait_until_power_settled(self, *, tolerance_fraction: float = 0.01, timeout_s: float = 30.0,
                                 poll_interval_s: float = 0.05, checkpoint=None) -> float:
        """Block until the measured power is within ``tolerance_fraction`` of the setpoint and return it.

        Lasers ramp up after emission on; frames taken during the ramp would give the phase steps
        unequal brightness. PowerNotSettled if the power has not settled within ``timeout_s``.
        ``checkpoint`` (e.g. the runner's abort check) is called between polls and may raise. Each
        poll is its own short transaction; the wait between polls holds no lock.
        """
        start = self._clock_s()
        while True:
            setpoint, measured = self.power_setpoint_w(), self.measured_power_w()
            if setpoint > 0 and abs(measured - setpoint) <= tolerance_fraction * setpoint:
                return measured
            if checkpoint is not None:
                checkpoint()
            if self._clock_s() - start >= timeout_s:
                raise PowerNotSettled(
                    f"output power {measured * 1e3:.2f} mW did not settle within {100 * tolerance_fraction:g} % "
                    f"of the setpoint {setpoint * 1e3:.2f} mW in {timeout_s:g} s", device=self.name)
            self._wait_s(poll_interval_s)

    # ------------------------------------------------------------------ observable state
    def _read_state_hw(self) -> LaserReadback:
        return LaserReadback(
            emission=self._emission_on_hw(),
            setpoint_w=self._power_setpoint_w_hw(),
            measured_w=self._measured_power_w_hw(),
            interlock_closed=self._interlock_closed_hw(),
            fault=self._fault_hw(),
        )

    def _power_ramp(self) -> tuple[float | None, str]:
        """(ramp time in s, "exponential" | "linear") of the output power after emission on, if known (no I/O)."""
        return None, "exponential"

    def _capabilities_hw(self) -> LaserCapabilities:
        ramp_s, shape = self._power_ramp()
        return LaserCapabilities(power_range_w=tuple(self._power_limits_w()),
                                 has_interlock_readout=self.has_interlock_readout,
                                 has_fault_readout=type(self)._fault_hw is not Laser._fault_hw,
                                 power_ramp_time_s=ramp_s, power_ramp_shape=shape)

"""Toptica iBeam smart as the bench's pump :class:`Laser`, through pymeasure's own ``IBeamSmart`` driver.

pymeasure speaks the protocol (commands, ``[OK]`` handshake, value extraction); this class adds watts,
limits, the interlock and the safe close. The protocol has no interlock query, so the interlock state
is what the last emission attempt revealed (a ``%SYS`` message naming the interlock).
"""

from __future__ import annotations

import time

from pymeasure.instruments.toptica import IBeamSmart

from drivers.contracts import DeviceIdentity
from drivers.errors import CorruptReply, DeviceError, InterlockError
from drivers.serial_laser import SerialLaser

_PYMEASURE_MAX_UW = 200_000.0  # the range pymeasure's channel power setting accepts


class IBeamSmartLaser(SerialLaser):
    """iBeam smart in CW mode: power on one driver channel (2 by default), emission with ``la on/off``."""

    read_termination = "\r\n"
    write_termination = "\r\n"
    has_interlock_readout = False  # the protocol has no interlock query

    def __init__(self, *, port: str, max_power_w: float, channel: int = 2, baudrate: int = 115200,
                 timeout_s: float = 1.0, name: str = "laser"):
        super().__init__(port=port, baudrate=baudrate, timeout_s=timeout_s, max_power_w=max_power_w, name=name)
        self.channel = channel
        self._setpoint_w = 0.0
        self._interlock_open_seen = False

    def _make_instrument(self, adapter) -> IBeamSmart:
        laser = IBeamSmart(adapter, name=self.name)
        time.sleep(0.02)
        adapter.flush_read_buffer()  # late echo/prompt bytes from before 'echo off' / 'prom off'
        laser.version  # answers sensibly, or this raises
        return laser

    def _read_device_limits_w(self) -> tuple[float, float]:
        return 0.0, _PYMEASURE_MAX_UW * 1e-6

    def _send_emission_off(self) -> None:
        self.instrument().emission = False

    def _channel(self):
        return getattr(self.instrument(), f"ch_{self.channel}")

    # ------------------------------------------------------------------ hooks
    def _identity_hw(self) -> DeviceIdentity:
        laser = self.instrument()

        def read() -> DeviceIdentity:
            serial = str(laser.serial).removeprefix("SN:").strip()
            return DeviceIdentity(vendor="Toptica", model="iBeam smart", serial=serial, firmware=str(laser.version))
        return self.io("reading the identity", read)

    def _set_emission_hw(self, on: bool) -> None:
        laser = self.instrument()
        if not on:
            self.io("switching emission off", self._send_emission_off)
            return

        def switch_on() -> None:
            laser.write("di ext")  # CW: no external modulation
            laser.check_set_errors()
            self._channel().enabled = True
            try:
                laser.emission = True
            except ValueError as err:
                if "interlock" in str(err).lower():
                    self._interlock_open_seen = True
                    raise InterlockError(f"the interlock is open: emission is not possible ({err})",
                                         device=self.name) from None
                raise
            self._interlock_open_seen = False
            if not laser.emission:
                raise DeviceError("emission was switched on but the laser reports it off", device=self.name)

        self.io("switching emission on", switch_on)

    def _emission_on_hw(self) -> bool:
        return self.io("reading the emission state", lambda: bool(self.instrument().emission))

    def _set_power_w_hw(self, power_w: float) -> None:
        def send() -> None:
            self._channel().power = power_w * 1e6
        self.io(f"setting the power to {power_w * 1e3:g} mW", send)
        self._setpoint_w = power_w

    def _power_setpoint_w_hw(self) -> float:
        self.instrument()
        return self._setpoint_w

    def _measured_power_w_hw(self) -> float:
        def read() -> float:
            value = self.instrument().power
            if isinstance(value, str):
                raise CorruptReply(f"measuring the power: expected a number, got {value!r}", device=self.name)
            return float(value) * 1e-6
        return self.io("measuring the power", read)

    def _interlock_closed_hw(self) -> bool:
        """False once an emission attempt was refused for the interlock (the protocol has no query)."""
        self.instrument()
        return not self._interlock_open_seen

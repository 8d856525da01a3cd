"""Coherent OBIS as the bench's pump :class:`Laser`: watts in, emission off as the safe state."""

from __future__ import annotations

from typing import Any

from drivers.interfaces import DeviceError, DeviceIdentity, InterlockError
from drivers.obis_protocol import Obis, ObisError
from drivers.serial_laser import SerialLaser


class ObisLaser(SerialLaser):
    """An OBIS head on a serial port (or ``socket://``); switched to CW power mode at connect."""

    read_termination = "\r\n"
    write_termination = "\r"

    def __init__(self, *, port: str, max_power_w: float, baudrate: int = 115200, timeout_s: float = 1.0,
                 name: str = "laser"):
        super().__init__(port=port, baudrate=baudrate, timeout_s=timeout_s, max_power_w=max_power_w, name=name)

    def _make_instrument(self, adapter) -> Obis:
        obis = Obis(adapter, name=self.name)
        adapter.flush_read_buffer()
        obis.enable_handshake()
        obis.idn  # the device answers sensibly, or this raises
        return obis

    def _read_device_limits_w(self) -> tuple[float, float]:
        obis = self.instrument()
        return obis.power_limit_low_w, obis.power_limit_high_w

    def _send_emission_off(self) -> None:
        self.instrument().emission = False

    # ------------------------------------------------------------------ Laser contract
    def identity(self) -> DeviceIdentity:
        obis = self.instrument()
        with self.guard("reading the identity"):
            return DeviceIdentity(
                vendor="Coherent", model=obis.model, serial=obis.serial_number, firmware=obis.firmware
            )

    def set_emission(self, on: bool) -> None:
        obis = self.instrument()
        if not on:
            with self.guard("switching emission off"):
                obis.emission = False
            return
        with self.guard("switching emission on"):
            if not obis.interlock_closed:
                raise InterlockError("the interlock is open: emission is not possible", device=self.name)
            if obis.operating_mode != "CWP":
                obis.operating_mode = "CWP"
            try:
                obis.emission = True
            except ObisError as err:
                if not obis.interlock_closed:
                    raise InterlockError("the interlock opened: emission is not possible", device=self.name) from err
                raise
            if not obis.emission:
                raise DeviceError("emission was switched on but the laser reports it off", device=self.name)

    def emission_on(self) -> bool:
        with self.guard("reading the emission state"):
            return self.instrument().emission

    def set_power_w(self, power_w: float) -> None:
        self.check_power(power_w)
        with self.guard(f"setting the power to {power_w * 1e3:g} mW"):
            self.instrument().power_setpoint_w = power_w

    def power_setpoint_w(self) -> float:
        with self.guard("reading the power setpoint"):
            return float(self.instrument().power_setpoint_w)

    def measured_power_w(self) -> float:
        with self.guard("measuring the power"):
            return float(self.instrument().power_w)

    def interlock_closed(self) -> bool:
        with self.guard("reading the interlock"):
            return self.instrument().interlock_closed

    def fault_code(self) -> int:
        """The OBIS fault word (0 = no fault)."""
        with self.guard("reading the fault word"):
            return self.instrument().fault_code

    def status(self) -> dict[str, Any]:
        obis = self.instrument()
        with self.guard("reading the status"):
            return {
                "emission": obis.emission,
                "power_setpoint_w": obis.power_setpoint_w,
                "power_w": obis.power_w,
                "interlock_closed": obis.interlock_closed,
                "operating_mode": obis.operating_mode,
                "fault_code": f"0x{obis.fault_code:08X}",
            }

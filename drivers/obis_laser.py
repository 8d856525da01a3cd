"""Coherent OBIS as the bench's pump :class:`Laser`: watts in, emission off as the safe state."""

from __future__ import annotations

from drivers.contracts import DeviceIdentity
from drivers.errors import DeviceError, InterlockError
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

    # ------------------------------------------------------------------ hooks
    def _identity_hw(self) -> DeviceIdentity:
        obis = self.instrument()
        return self.io("reading the identity", lambda: DeviceIdentity(
            vendor="Coherent", model=obis.model, serial=obis.serial_number, firmware=obis.firmware))

    def _set_emission_hw(self, on: bool) -> None:
        obis = self.instrument()
        if not on:
            self.io("switching emission off", self._send_emission_off)
            return

        def switch_on() -> None:
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

        self.io("switching emission on", switch_on)

    def _emission_on_hw(self) -> bool:
        return self.io("reading the emission state", lambda: self.instrument().emission)

    def _set_power_w_hw(self, power_w: float) -> None:
        def send() -> None:
            self.instrument().power_setpoint_w = power_w
        self.io(f"setting the power to {power_w * 1e3:g} mW", send)

    def _power_setpoint_w_hw(self) -> float:
        return self.io("reading the power setpoint", lambda: float(self.instrument().power_setpoint_w))

    def _measured_power_w_hw(self) -> float:
        return self.io("measuring the power", lambda: float(self.instrument().power_w))

    def _interlock_closed_hw(self) -> bool:
        return self.io("reading the interlock", lambda: self.instrument().interlock_closed)

    def _fault_hw(self) -> str | None:
        code = self.fault_code()
        return None if code == 0 else f"fault word 0x{code:08X}"

    def fault_code(self) -> int:
        """The OBIS fault word (0 = no fault)."""
        with self.transaction():
            return self.io("reading the fault word", lambda: self.instrument().fault_code)

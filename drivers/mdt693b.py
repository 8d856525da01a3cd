"""Thorlabs MDT693B/MDT694B open-loop piezo controller as the phase-piezo :class:`Stage` (volts).

Protocol (Thorlabs manual): 115200 8N1, commands end with CR, replies end with a prompt (``>``;
configurable since firmware and compatibility modes differ), values come in brackets. The controller
clamps out-of-range setpoints silently, so this driver checks limits itself (config and the device's
min/max/vlimit) and reads every setpoint back.
"""

from __future__ import annotations

import re
import time
from typing import Any

from drivers.interfaces import DeviceError, DeviceIdentity, Stage
from drivers.link import DeadlineSerialAdapter, SerialLinkMixin, link_errors, parse_float

_BRACKETED = re.compile(r"\[\s*([-+0-9.eE]+)\s*\]")
_PLAIN = re.compile(r"^\s*([-+]?[0-9]+(?:\.[0-9]*)?)\s*$")


class Mdt693bPiezo(SerialLinkMixin, Stage):
    """One channel (x, y or z) of an MDT693B, or the MDT694B's single channel (x)."""

    unit = "V"

    def __init__(
        self,
        *,
        port: str,
        min_v: float,
        max_v: float,
        channel: str = "x",
        prompt: str = ">",
        baudrate: int = 115200,
        timeout_s: float = 1.0,
        readback_tolerance_v: float = 0.15,
        settle_time_s: float = 0.0,
        name: str = "phase_piezo",
    ):
        if channel not in ("x", "y", "z"):
            raise ValueError(f"channel must be x, y or z, not {channel!r}")
        self.name = name
        self.port = port
        self.channel = channel
        self.prompt = prompt
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self.readback_tolerance_v = readback_tolerance_v
        self.settle_time_s = settle_time_s
        self.config_limits_v = (min_v, max_v)
        self._device_limits_v = (min_v, max_v)
        self._adapter: DeadlineSerialAdapter | None = None
        self._identity = DeviceIdentity(vendor="Thorlabs", model="MDT69xB")
        self._last_move_s = 0.0

    # ------------------------------------------------------------------ protocol
    def transact(self, command: str) -> str:
        """Send ``command`` and return the reply text before the prompt, echo removed."""
        adapter = self._require_adapter()
        with link_errors(self.name, f"sending {command!r}"):
            adapter.write(command)
            raw = adapter.read_until(self.prompt)
        lines = [line.strip() for line in raw.replace("\n", "\r").split("\r")]
        if lines and lines[0] == command:
            lines = lines[1:]
        reply = "\n".join(line for line in lines if line)
        if reply.startswith("CMD_"):
            raise DeviceError(f"the controller refused {command!r}: {reply}", device=self.name)
        return reply

    def query_value(self, command: str) -> float:
        reply = self.transact(command)
        match = _BRACKETED.search(reply) or _PLAIN.match(reply)
        if match is None:
            raise DeviceError(f"{command!r}: expected a value in brackets, got {reply!r}", device=self.name)
        return parse_float(match.group(1), device=self.name, what=command)

    # ------------------------------------------------------------------ life cycle
    def connect(self) -> None:
        self._open_link(self._handshake, termination="\r")

    def _handshake(self) -> None:
        self.transact("echo=0")
        self._identity = self._read_identity()
        low = self.query_value(f"{self.channel}min?")
        high = min(self.query_value(f"{self.channel}max?"), self.query_value("vlimit?"))
        self._device_limits_v = (low, high)

    def close(self) -> None:
        """Release the port; the output voltage stays where it is (a piezo holds no hazard)."""
        self._release_link()

    def _read_identity(self) -> DeviceIdentity:
        text = self.transact("id?")
        model = re.search(r"(MDT69\d[AB])", text)
        firmware = re.search(r"Firmware Version:\s*(\S+)", text)
        serial = self.transact("serial?")
        return DeviceIdentity(
            vendor="Thorlabs",
            model=model.group(1) if model else "MDT69xB",
            serial=serial.strip("[] "),
            firmware=firmware.group(1) if firmware else "",
        )

    # ------------------------------------------------------------------ Stage contract
    def identity(self) -> DeviceIdentity:
        self.require_connected()
        return self._identity

    def limits(self) -> tuple[float, float]:
        (cfg_low, cfg_high), (dev_low, dev_high) = self.config_limits_v, self._device_limits_v
        return max(cfg_low, dev_low), min(cfg_high, dev_high)

    def move_to(self, position: float, *, wait: bool = True) -> None:
        self.require_connected()
        self.check_in_limits(position)
        self.transact(f"{self.channel}voltage={position:.3f}")
        self._last_move_s = time.monotonic()
        readback = self.position()
        if abs(readback - position) > self.readback_tolerance_v:
            raise DeviceError(
                f"set {position:.3f} V but the controller reads back {readback:.3f} V "
                "(clamped by its limit switch or channel limits?)",
                device=self.name,
            )
        if wait:
            self.wait_settled()

    def position(self) -> float:
        return self.query_value(f"{self.channel}voltage?")

    def wait_settled(self, timeout_s: float = 10.0) -> None:
        """Open loop: settling is the configured mechanical settle time after the last move."""
        remaining = self._last_move_s + self.settle_time_s - time.monotonic()
        if remaining > 0:
            time.sleep(min(remaining, timeout_s))

    def status(self) -> dict[str, Any]:
        return {"channel": self.channel, "voltage_v": self.position(), "limits_v": self.limits()}

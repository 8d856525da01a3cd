"""Thorlabs MDT693B/MDT694B open-loop piezo controller as the phase-piezo :class:`Stage` (volts).

Protocol (Thorlabs manual): 115200 8N1, commands end with CR, replies end with a prompt (``>``;
configurable since firmware and compatibility modes differ), values come in brackets. The controller
clamps out-of-range setpoints silently, so this driver checks limits itself (config and the device's
min/max/vlimit) and reads every setpoint back. Open loop: a move is a voltage step, "moving" lasts the
configured mechanical settle time, and there is nothing to stop (``has_stop`` is False). Every command
used is a query or sets an absolute voltage, so a corrupted reply is retried once.
"""

from __future__ import annotations

import re
import time
from drivers.contracts import DeviceIdentity, Stage
from drivers.errors import CorruptReply, DeviceError
from drivers.link import DeadlineSerialAdapter, SerialLinkMixin, link_errors, parse_float

_BRACKETED = re.compile(r"\[\s*([-+0-9.eE]+)\s*\]")
_PLAIN = re.compile(r"^\s*([-+]?[0-9]+(?:\.[0-9]*)?)\s*$")


class Mdt693bPiezo(SerialLinkMixin, Stage):
    """One channel (x, y or z) of an MDT693B, or the MDT694B's single channel (x)."""

    unit = "V"
    closed_loop = False

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
        super().__init__(name)
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
        self._last_move_s = -1e9

    # ------------------------------------------------------------------ protocol
    def transact(self, command: str) -> str:
        """Send ``command`` and return the reply text before the prompt, echo removed; retried once
        after a corrupted reply (queries and absolute settings only, both safe to repeat)."""
        return self._retrying(lambda: self._transact_once(command), f"sending {command!r}")

    def _transact_once(self, command: str) -> str:
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
        return self._retrying(lambda: self._query_value_once(command), f"querying {command!r}")

    def _query_value_once(self, command: str) -> float:
        reply = self._transact_once(command)
        match = _BRACKETED.search(reply) or _PLAIN.match(reply)
        if match is None:
            raise CorruptReply(f"{command!r}: expected a value in brackets, got {reply!r}", device=self.name)
        return parse_float(match.group(1), device=self.name, what=command)

    # ------------------------------------------------------------------ life cycle
    def _connect_hw(self) -> None:
        self._open_link(self._handshake, termination="\r")

    def _handshake(self) -> None:
        self.transact("echo=0")
        self._identity = self._read_identity()
        low = self.query_value(f"{self.channel}min?")
        high = min(self.query_value(f"{self.channel}max?"), self.query_value("vlimit?"))
        self._device_limits_v = (low, high)

    def _close_hw(self) -> None:
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

    # ------------------------------------------------------------------ Stage hooks
    def _identity_hw(self) -> DeviceIdentity:
        return self._identity

    def _limits(self) -> tuple[float, float]:
        (cfg_low, cfg_high), (dev_low, dev_high) = self.config_limits_v, self._device_limits_v
        return max(cfg_low, dev_low), min(cfg_high, dev_high)

    def _move_to_hw(self, position: float) -> None:
        self.transact(f"{self.channel}voltage={position:.3f}")
        self._last_move_s = time.monotonic()
        readback = self._position_hw()
        if abs(readback - position) > self.readback_tolerance_v:
            raise DeviceError(
                f"set {position:.3f} V but the controller reads back {readback:.3f} V "
                "(clamped by its limit switch or channel limits?)",
                device=self.name,
            )

    def _position_hw(self) -> float:
        return self.query_value(f"{self.channel}voltage?")

    def _is_moving_hw(self) -> bool:
        """Open loop: settling is the configured mechanical settle time after the last move."""
        return time.monotonic() < self._last_move_s + self.settle_time_s

    def _settle_eta_s(self) -> float | None:
        return self._last_move_s + self.settle_time_s - time.monotonic()

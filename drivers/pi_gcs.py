"""Physik Instrumente GCS 2.0 closed-loop stage (E-709 / E-727 class) as the delay :class:`Stage` (um).

Speaks GCS directly over pyserial (a COM port or ``socket://host:50000``): ``*IDN?``, ``SVO``, ``MOV``,
``POS?``, ``ONT?``, ``TMN?``/``TMX?``, and ``ERR?`` after every command, because GCS set commands
are silent and only ``ERR?`` tells whether they were accepted (docs/decisions/0011-pi-gcs-direct.md).
"""

from __future__ import annotations

import time
from typing import Any

from drivers.interfaces import DeviceError, DeviceIdentity, DeviceTimeout, Stage
from drivers.link import DeadlineSerialAdapter, SerialLinkMixin, link_errors, parse_float

#: GCS controller error codes a delay stage meets (PI GCS error list), code -> meaning.
GCS_ERRORS: dict[int, str] = {
    1: "parameter syntax error",
    2: "unknown command",
    3: "command too long",
    5: "move attempted with the servo off (or on an unreferenced axis)",
    7: "position out of limits",
    8: "velocity out of limits",
    10: "controller was stopped by command",
    15: "invalid axis identifier",
    17: "parameter out of range",
}

_MAX_REPLY_LINES = 16


class GcsError(DeviceError):
    """The controller reported GCS error ``code`` after a command."""

    def __init__(self, code: int, command: str, *, device: str | None = None):
        self.code = code
        meaning = GCS_ERRORS.get(code, "see the controller's GCS error list")
        super().__init__(f"GCS error {code} after {command!r}: {meaning}", device=device)


class PiGcsStage(SerialLinkMixin, Stage):
    """One axis of a PI GCS controller, servo on while connected."""

    unit = "um"

    def __init__(
        self,
        *,
        port: str,
        min_um: float,
        max_um: float,
        axis: str = "1",
        baudrate: int = 115200,
        timeout_s: float = 1.0,
        settle_timeout_s: float = 5.0,
        poll_interval_s: float = 0.005,
        name: str = "delay_stage",
    ):
        self.name = name
        self.port = port
        self.axis = axis
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self.settle_timeout_s = settle_timeout_s
        self.poll_interval_s = poll_interval_s
        self.config_limits_um = (min_um, max_um)
        self._device_limits_um = (min_um, max_um)
        self._adapter: DeadlineSerialAdapter | None = None
        self._identity = DeviceIdentity(vendor="Physik Instrumente", model="GCS controller")

    # ------------------------------------------------------------------ protocol
    def query(self, command: str) -> list[str]:
        """Send a query; return its lines (GCS marks continued lines with a space before LF)."""
        adapter = self._require_adapter()
        lines: list[str] = []
        with link_errors(self.name, f"querying {command!r}"):
            adapter.write(command)
            for _ in range(_MAX_REPLY_LINES):
                line = adapter.read_until("\n")
                lines.append(line.strip())
                if not line.endswith(" "):
                    return lines
        raise DeviceError(f"{command!r}: reply longer than {_MAX_REPLY_LINES} lines", device=self.name)

    def command(self, command: str) -> None:
        """Send a set command, then ``ERR?``; a nonzero code raises :class:`GcsError`."""
        adapter = self._require_adapter()
        with link_errors(self.name, f"sending {command!r}"):
            adapter.write(command)
        code = self.error_code()
        if code:
            raise GcsError(code, command, device=self.name)

    def error_code(self) -> int:
        reply = self.query("ERR?")
        try:
            return int(reply[0])
        except (ValueError, IndexError):
            raise DeviceError(f"ERR?: expected an error code, got {reply!r}", device=self.name) from None

    def axis_value(self, command: str) -> str:
        """``'POS? 1'`` -> the text after ``1=`` in the reply."""
        for line in self.query(f"{command} {self.axis}"):
            key, sep, value = line.partition("=")
            if sep and key.strip() == self.axis:
                return value.strip()
        raise DeviceError(f"{command}: no value for axis {self.axis!r} in the reply", device=self.name)

    # ------------------------------------------------------------------ life cycle
    def connect(self) -> None:
        self._open_link(self._handshake, termination="\n")

    def _handshake(self) -> None:
        self._identity = _parse_idn(" ".join(self.query("*IDN?")))
        self.error_code()  # clear a stale error
        low = parse_float(self.axis_value("TMN?"), device=self.name, what="TMN?")
        high = parse_float(self.axis_value("TMX?"), device=self.name, what="TMX?")
        self._device_limits_um = (low, high)
        self.command(f"SVO {self.axis} 1")

    def close(self) -> None:
        """Release the port; the servo stays on and holds the position."""
        self._release_link()

    # ------------------------------------------------------------------ Stage contract
    def identity(self) -> DeviceIdentity:
        self.require_connected()
        return self._identity

    def limits(self) -> tuple[float, float]:
        (cfg_low, cfg_high), (dev_low, dev_high) = self.config_limits_um, self._device_limits_um
        return max(cfg_low, dev_low), min(cfg_high, dev_high)

    def move_to(self, position: float, *, wait: bool = True) -> None:
        self.require_connected()
        self.check_in_limits(position)
        self.command(f"MOV {self.axis} {position:.6f}")
        if wait:
            self.wait_settled(self.settle_timeout_s)

    def position(self) -> float:
        return parse_float(self.axis_value("POS?"), device=self.name, what="POS?")

    def on_target(self) -> bool:
        value = self.axis_value("ONT?")
        if value not in ("0", "1"):
            raise DeviceError(f"ONT?: expected 0 or 1, got {value!r}", device=self.name)
        return value == "1"

    def wait_settled(self, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.on_target():
            if time.monotonic() > deadline:
                raise DeviceTimeout(
                    f"axis {self.axis} not on target within {timeout_s:g} s (at {self.position():.3f} um)",
                    device=self.name,
                )
            time.sleep(self.poll_interval_s)

    def status(self) -> dict[str, Any]:
        return {
            "axis": self.axis,
            "position_um": self.position(),
            "on_target": self.on_target(),
            "servo": self.axis_value("SVO?") == "1",
            "limits_um": self.limits(),
        }


def _parse_idn(text: str) -> DeviceIdentity:
    """``(c)2024 Physik Instrumente (PI) GmbH & Co. KG, E-709.CHG, 0119000001, 01.100``."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) >= 4:
        return DeviceIdentity(vendor="Physik Instrumente", model=parts[-3], serial=parts[-2], firmware=parts[-1])
    return DeviceIdentity(vendor="Physik Instrumente", model=text.strip())

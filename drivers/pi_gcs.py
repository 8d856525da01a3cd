"""Physik Instrumente GCS 2.0 closed-loop stage (E-709 / E-727 class) as the delay :class:`Stage` (um).

Speaks GCS directly over pyserial (a COM port or ``socket://host:50000``): ``*IDN?``, ``SVO``, ``MOV``,
``POS?``, ``ONT?``, ``TMN?``/``TMX?``, ``HLT``, and ``ERR?`` after every command, because GCS set commands
are silent and only ``ERR?`` tells whether they were accepted (docs/decisions/0011-pi-gcs-direct.md).

Moving is ``ONT?`` = 0 (closed loop: on target ends a move; the single-character ``#5`` motion-status
request needs no terminator and is not used). ``stop()`` sends ``HLT <axis>`` (halt smoothly); the
controller then records error 10 ("stopped by command"), which is expected and cleared here.

Corrupted replies are retried once: a query as it is; a set command together with its ``ERR?``
(``ERR?`` clears the error, so it alone must never be repeated; ``MOV``/``SVO`` set absolute values and
``HLT`` only stops, so repeating the pair is safe).
"""

from __future__ import annotations


from drivers.contracts import DeviceIdentity, Stage
from drivers.errors import CorruptReply, DeviceError
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
STOPPED_BY_COMMAND = 10


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
        super().__init__(name)
        self.port = port
        self.axis = axis
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self.settle_timeout_s = settle_timeout_s
        self.settle_poll_s = poll_interval_s
        self.config_limits_um = (min_um, max_um)
        self._device_limits_um = (min_um, max_um)
        self._adapter: DeadlineSerialAdapter | None = None
        self._identity = DeviceIdentity(vendor="Physik Instrumente", model="GCS controller")

    # ------------------------------------------------------------------ protocol
    def query(self, command: str) -> list[str]:
        """Send a query; return its lines (GCS marks continued lines with a space before LF)."""
        return self._retrying(lambda: self._query_once(command), f"querying {command!r}")

    def _query_once(self, command: str) -> list[str]:
        adapter = self._require_adapter()
        lines: list[str] = []
        with link_errors(self.name, f"querying {command!r}"):
            adapter.write(command)
            for _ in range(_MAX_REPLY_LINES):
                line = adapter.read_until("\n")
                lines.append(line.strip())
                if not line.endswith(" "):
                    return lines
        raise CorruptReply(f"{command!r}: reply longer than {_MAX_REPLY_LINES} lines", device=self.name)

    def command(self, command: str, *, expected_error: int = 0) -> None:
        """Send a set command, then ``ERR?``; a code other than 0 (or ``expected_error``) raises
        :class:`GcsError`. The pair is retried once after a corrupted reply."""
        def once() -> None:
            adapter = self._require_adapter()
            with link_errors(self.name, f"sending {command!r}"):
                adapter.write(command)
            code = self._error_code_once()
            if code and code != expected_error:
                raise GcsError(code, command, device=self.name)
        self._retrying(once, f"sending {command!r}")

    def error_code(self) -> int:
        """``ERR?`` (reads and clears the controller's error; never repeated after a garbled reply)."""
        return self._error_code_once()

    def _error_code_once(self) -> int:
        reply = self._query_once("ERR?")
        try:
            return int(reply[0])
        except (ValueError, IndexError):
            raise CorruptReply(f"ERR?: expected an error code, got {reply!r}", device=self.name) from None

    def axis_value(self, command: str) -> str:
        """``'POS? 1'`` -> the text after ``1=`` in the reply (retried once if garbled)."""
        return self._retrying(lambda: self._axis_value_once(command), f"querying {command!r}")

    def _axis_value_once(self, command: str) -> str:
        for line in self._query_once(f"{command} {self.axis}"):
            key, sep, value = line.partition("=")
            if sep and key.strip() == self.axis:
                return value.strip()
        raise CorruptReply(f"{command}: no value for axis {self.axis!r} in the reply", device=self.name)

    def _axis_float(self, command: str) -> float:
        return self._retrying(
            lambda: parse_float(self._axis_value_once(command), device=self.name, what=command),
            f"querying {command!r}")

    # ------------------------------------------------------------------ life cycle
    def _connect_hw(self) -> None:
        self._open_link(self._handshake, termination="\n")

    def _handshake(self) -> None:
        self._identity = _parse_idn(" ".join(self.query("*IDN?")))
        self.error_code()  # clear a stale error
        low = self._axis_float("TMN?")
        high = self._axis_float("TMX?")
        self._device_limits_um = (low, high)
        self.command(f"SVO {self.axis} 1")

    def _close_hw(self) -> None:
        """Release the port; the servo stays on and holds the position."""
        self._release_link()

    # ------------------------------------------------------------------ Stage hooks
    def _identity_hw(self) -> DeviceIdentity:
        return self._identity

    def _limits(self) -> tuple[float, float]:
        (cfg_low, cfg_high), (dev_low, dev_high) = self.config_limits_um, self._device_limits_um
        return max(cfg_low, dev_low), min(cfg_high, dev_high)

    def _move_to_hw(self, position: float) -> None:
        self.command(f"MOV {self.axis} {position:.6f}")

    def _position_hw(self) -> float:
        return self._axis_float("POS?")

    def _on_target_once(self) -> bool:
        value = self._axis_value_once("ONT?")
        if value not in ("0", "1"):
            raise CorruptReply(f"ONT?: expected 0 or 1, got {value!r}", device=self.name)
        return value == "1"

    def on_target(self) -> bool:
        with self.transaction():
            self.require_connected()
            return self._retrying(self._on_target_once, "querying 'ONT?'")

    def _is_moving_hw(self) -> bool:
        return not self._retrying(self._on_target_once, "querying 'ONT?'")

    def _stop_hw(self) -> None:
        self.command(f"HLT {self.axis}", expected_error=STOPPED_BY_COMMAND)


def _parse_idn(text: str) -> DeviceIdentity:
    """``(c)2024 Physik Instrumente (PI) GmbH & Co. KG, E-709.CHG, 0119000001, 01.100``."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) >= 4:
        return DeviceIdentity(vendor="Physik Instrumente", model=parts[-3], serial=parts[-2], firmware=parts[-1])
    return DeviceIdentity(vendor="Physik Instrumente", model=text.strip())

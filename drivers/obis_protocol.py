"""Coherent OBIS as a pymeasure Instrument: the manual's SCPI command table, one property per row.

Serial 115200 8N1, commands end with CR, replies with CR LF. With handshaking on (set at connect)
every command is acknowledged by ``OK`` after any reply line, or refused with ``ERR-nnn``; ``read``
and ``check_set_errors`` turn the latter into an :class:`ObisError` carrying the code's meaning.
"""

from __future__ import annotations

from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_discrete_set

from drivers.interfaces import DeviceError

#: OBIS error codes (operator manual, "Error codes"), shown as ERR-nnn for code -nnn.
OBIS_ERRORS: dict[int, str] = {
    0: "no error",
    -100: "unrecognised command or query",
    -102: "syntax error",
    -109: "parameter missing",
    -200: "execution error (command out of order; is emission on?)",
    -203: "command protected",
    -220: "invalid parameter (e.g. power outside the limits)",
    -221: "settings conflict (e.g. interlock open)",
    -241: "device unavailable",
    -256: "file does not exist",
    -257: "file to open not named",
    -310: "system error",
    -321: "out of memory",
    -350: "queue overflow",
    -400: "query unavailable",
    -500: "CCB fault",
    -510: "I2C bus fault",
    -520: "controller time out",
    -900: "CCB message timed out",
}

_MAX_REPLY_LINES = 8

OPERATING_MODES = {  # query answer -> command tail (SOUR:AM:<tail>)
    "CWP": "INT CWP",
    "CWC": "INT CWC",
    "DIGITAL": "EXT DIG",
    "ANALOG": "EXT ANAL",
    "MIXED": "EXT MIX",
}


class ObisError(DeviceError):
    """The OBIS refused a command with ``ERR-nnn``; ``code`` is the (negative) code, the text its meaning."""

    def __init__(self, code: int, command: str, *, device: str | None = None):
        self.code = code
        meaning = OBIS_ERRORS.get(code, "unknown error code")
        super().__init__(f"OBIS answered ERR{code:04d} to {command!r}: {meaning}", device=device)


def parse_error_line(line: str) -> int | None:
    """``'ERR-100'`` -> -100; anything else -> None."""
    if not line.startswith("ERR"):
        return None
    try:
        return int(line[3:])
    except ValueError:
        return None


def _number(value) -> float:
    if isinstance(value, str):
        return float(value)  # raises ValueError on garbage: caught and reported by the laser driver
    return float(value)


def _on_off(value) -> bool:
    if value not in ("ON", "OFF"):
        raise ValueError(f"expected ON or OFF, got {value!r}")
    return value == "ON"


class Obis(Instrument):
    """Coherent OBIS LX/LS laser head (or one channel of an OBIS remote)."""

    def __init__(self, adapter, name: str = "Coherent OBIS", **kwargs):
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        self._last_command = ""

    # ------------------------------------------------------------------ handshake
    def write(self, command: str, **kwargs) -> None:
        self._last_command = command
        super().write(command, **kwargs)

    def read(self, **kwargs) -> str:
        """Reply lines up to ``OK`` (joined by newlines); ``ERR-nnn`` raises :class:`ObisError`."""
        lines: list[str] = []
        for _ in range(_MAX_REPLY_LINES):
            line = super().read(**kwargs).strip()
            if line == "OK":
                return "\n".join(lines)
            code = parse_error_line(line)
            if code is not None:
                raise ObisError(code, self._last_command, device=self.name)
            lines.append(line)
        raise DeviceError(f"no OK after {_MAX_REPLY_LINES} reply lines to {self._last_command!r}", device=self.name)

    def check_set_errors(self):
        """A setting is answered by ``OK`` alone; anything else is an error."""
        reply = self.read()
        if reply:
            raise DeviceError(f"unexpected reply {reply!r} to {self._last_command!r}", device=self.name)
        return []

    def enable_handshake(self) -> None:
        """Switch handshaking on and drain the acknowledgement (the reply to this one may lack OK)."""
        self.write("SYST:COMM:HAND ON")
        self.read()

    # ------------------------------------------------------------------ identity
    idn = Instrument.measurement("*IDN?", "Get the identification string.", cast=str, maxsplit=0)
    model = Instrument.measurement("SYST:INF:MOD?", "Get the model name.", cast=str, maxsplit=0)
    serial_number = Instrument.measurement("SYST:INF:SNUM?", "Get the serial number.", cast=str, maxsplit=0)
    firmware = Instrument.measurement("SYST:INF:FVER?", "Get the firmware version.", cast=str, maxsplit=0)
    wavelength_nm = Instrument.measurement("SYST:INF:WAV?", "Get the wavelength in nm.", get_process=_number)

    # ------------------------------------------------------------------ power
    power_limit_low_w = Instrument.measurement(
        "SOUR:POW:LIM:LOW?", "Get the lowest allowed power setpoint in W.", get_process=_number
    )
    power_limit_high_w = Instrument.measurement(
        "SOUR:POW:LIM:HIGH?", "Get the highest allowed power setpoint in W.", get_process=_number
    )
    power_setpoint_w = Instrument.control(
        "SOUR:POW:LEV:IMM:AMPL?",
        "SOUR:POW:LEV:IMM:AMPL %.5f",
        "Control the CW power setpoint in W.",
        get_process=_number,
        check_set_errors=True,
    )
    power_w = Instrument.measurement("SOUR:POW:LEV?", "Measure the output power in W.", get_process=_number)

    # ------------------------------------------------------------------ emission and mode
    emission = Instrument.control(
        "SOUR:AM:STAT?",
        "SOUR:AM:STAT %s",
        "Control laser emission (bool).",
        validator=strict_discrete_set,
        values=[True, False],
        set_process=lambda on: "ON" if on else "OFF",
        get_process=_on_off,
        cast=str,
        check_set_errors=True,
    )
    operating_mode = Instrument.control(
        "SOUR:AM:SOUR?",
        "SOUR:AM:%s",
        "Control the operating mode: CWP, CWC, DIGITAL, ANALOG or MIXED.",
        validator=strict_discrete_set,
        values=list(OPERATING_MODES),
        set_process=lambda mode: OPERATING_MODES[mode],
        cast=str,
        check_set_errors=True,
    )

    # ------------------------------------------------------------------ status
    fault_code = Instrument.measurement(
        "SYST:FAUL?", "Get the fault word (0 = no fault).", cast=str, get_process=lambda s: int(s, 16)
    )
    status_code = Instrument.measurement(
        "SYST:STAT?", "Get the status word.", cast=str, get_process=lambda s: int(s, 16)
    )
    interlock_closed = Instrument.measurement(
        "SYST:LOCK?", "Get whether the interlock is closed (emission permitted).", cast=str, get_process=_on_off
    )

"""Coherent OBIS behaviour: SCPI over serial, CR in, CR LF out, every command answered ``OK`` or ``ERR-nnn``.

Follows the OBIS LX/LS operator manual's command set (long and short SCPI forms, case-insensitive) for
what the driver uses: identity, power limits, setpoint, measured power, emission (``SOUR:AM:STAT``),
operating mode, fault/status words and the interlock query. Emission needs the interlock closed and
CW power mode; the measured power is the setpoint while emitting and 0 otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

LaserSink = Callable[[bool, float], None]


def canonical(header: str) -> str:
    """SCPI header to its short form in upper case: ``SOURce:POWer:LEVel?`` -> ``SOUR:POW:LEV?``."""
    parts = []
    for part in header.split(":"):
        if not part:
            continue
        upper = part.upper()
        query = upper.endswith("?")
        word = upper.rstrip("?")
        short = _short_form(word)
        parts.append(short + ("?" if query else ""))
    return ":".join(parts)


_LONG_TO_SHORT = {
    "SOURCE": "SOUR", "POWER": "POW", "LEVEL": "LEV", "IMMEDIATE": "IMM", "AMPLITUDE": "AMPL",
    "LIMIT": "LIM", "SYSTEM": "SYST", "INFORMATION": "INF", "MODEL": "MOD", "SNUMBER": "SNUM",
    "FVERSION": "FVER", "WAVELENGTH": "WAV", "STATE": "STAT", "STATUS": "STAT", "FAULT": "FAUL",
    "INTERNAL": "INT", "EXTERNAL": "EXT", "COMMUNICATE": "COMM", "HANDSHAKING": "HAND",
    "NOMINAL": "NOM", "DIGITAL": "DIG", "ANALOG": "ANAL", "MIXED": "MIX", "SOURCE?": "SOUR?",
}


def _short_form(word: str) -> str:
    return _LONG_TO_SHORT.get(word, word)


class ObisEmulator:
    """One OBIS laser head (default: 532 nm, 150 mW) with a switchable interlock."""

    input_terminator = b"\r"
    output_terminator = b"\r\n"

    def __init__(
        self,
        *,
        max_power_w: float = 0.15,
        min_power_w: float = 0.0,
        wavelength_nm: float = 532.0,
        serial_number: str = "EMU-OBIS-0001",
        on_change: LaserSink | None = None,
    ):
        self.max_power_w = max_power_w
        self.min_power_w = min_power_w
        self.wavelength_nm = wavelength_nm
        self.serial_number = serial_number
        self.on_change = on_change
        self.handshake = True
        self.interlock_closed = True
        self.emission = False
        self.setpoint_w = 0.0
        self.mode = "CWP"
        self.fault_code = 0

    # ------------------------------------------------------------------ protocol
    def handle(self, line: str) -> bytes:
        line = line.strip()
        if not line:
            return b""
        header, _, arg = line.partition(" ")
        try:
            value = self._dispatch(canonical(header), arg.strip())
        except _ScpiError as err:
            return f"ERR-{err.code:03d}\r\n".encode()
        out = "" if value is None else f"{value}\r\n"
        if self.handshake:
            out += "OK\r\n"
        return out.encode()

    def _dispatch(self, cmd: str, arg: str):
        queries = {
            "*IDN?": lambda: f"Coherent, Inc - OBIS {self.wavelength_nm:.0f}nm LS {self.max_power_w * 1e3:.0f}mW"
            f" - V1.2.3 - {self.serial_number}",
            "SYST:INF:MOD?": lambda: f"OBIS {self.wavelength_nm:.0f}nm LS {self.max_power_w * 1e3:.0f}mW",
            "SYST:INF:SNUM?": lambda: self.serial_number,
            "SYST:INF:FVER?": lambda: "V1.2.3",
            "SYST:INF:WAV?": lambda: f"{self.wavelength_nm:.1f}",
            "SOUR:POW:LIM:LOW?": lambda: f"{self.min_power_w:.5f}",
            "SOUR:POW:LIM:HIGH?": lambda: f"{self.max_power_w:.5f}",
            "SOUR:POW:NOM?": lambda: f"{self.max_power_w:.5f}",
            "SOUR:POW:LEV:IMM:AMPL?": lambda: f"{self.setpoint_w:.5f}",
            "SOUR:POW:LEV?": lambda: f"{self.measured_power_w():.5f}",
            "SOUR:AM:STAT?": lambda: "ON" if self.emission else "OFF",
            "SOUR:AM:SOUR?": lambda: self.mode_name(),
            "SYST:FAUL?": lambda: f"0x{self.fault_code:08X}",
            "SYST:STAT?": lambda: f"0x{self.status_word():08X}",
            "SYST:LOCK?": lambda: "ON" if self.interlock_closed else "OFF",
            "SYST:COMM:HAND?": lambda: "ON" if self.handshake else "OFF",
        }
        if cmd in queries:
            if arg:
                raise _ScpiError(102)
            return queries[cmd]()
        if cmd == "SOUR:POW:LEV:IMM:AMPL":
            self.setpoint_w = self._power_arg(arg)
        elif cmd == "SOUR:AM:STAT":
            self._set_emission(_on_off(arg))
        elif cmd == "SOUR:AM:INT":
            self._set_mode(arg.upper(), internal=True)
        elif cmd == "SOUR:AM:EXT":
            self._set_mode(arg.upper(), internal=False)
        elif cmd == "SYST:COMM:HAND":
            self.handshake = _on_off(arg)
        else:
            raise _ScpiError(100)
        self._publish()
        return None

    # ------------------------------------------------------------------ behaviour
    def measured_power_w(self) -> float:
        return self.setpoint_w if self.emission else 0.0

    def mode_name(self) -> str:
        return {"DIG": "DIGITAL", "ANAL": "ANALOG", "MIX": "MIXED"}.get(self.mode, self.mode)

    def status_word(self) -> int:
        # bit 0: fault present, bit 1: emission on (an abridged reading of SYST:STAT?)
        return (1 if self.fault_code else 0) | (2 if self.emission else 0)

    def open_interlock(self) -> None:
        """The interlock opens: emission stops at once and a fault is latched."""
        self.interlock_closed = False
        self.emission = False
        self.fault_code |= 0x200
        self._publish()

    def close_interlock(self) -> None:
        self.interlock_closed = True
        self.fault_code &= ~0x200

    def _power_arg(self, arg: str) -> float:
        if not arg:
            raise _ScpiError(109)
        try:
            power = float(arg)
        except ValueError:
            raise _ScpiError(102) from None
        if not (self.min_power_w <= power <= self.max_power_w):
            raise _ScpiError(220)
        return power

    def _set_emission(self, on: bool) -> None:
        if on and not self.interlock_closed:
            raise _ScpiError(221)  # settings conflict: the interlock forbids emission
        self.emission = on

    def _set_mode(self, arg: str, *, internal: bool) -> None:
        allowed = {"CWP", "CWC"} if internal else {"DIG", "DIGITAL", "ANAL", "ANALOG", "MIX", "MIXED"}
        if arg not in allowed:
            raise _ScpiError(220)
        if self.emission:
            raise _ScpiError(200)  # the manual: change the mode with the laser off
        self.mode = _short_form(arg)

    def _publish(self) -> None:
        if self.on_change is not None:
            self.on_change(self.emission, self.measured_power_w())


class _ScpiError(Exception):
    def __init__(self, code: int):
        self.code = code


def _on_off(arg: str) -> bool:
    word = arg.strip().upper()
    if word in ("ON", "1"):
        return True
    if word in ("OFF", "0"):
        return False
    raise _ScpiError(102 if word else 109)

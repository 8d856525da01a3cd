"""Toptica iBeam smart behaviour: plain-text commands, each answered by CR LF, reply lines, ``[OK]``.

Starts as the device does after power-up, echoing commands and printing a ``CMD>`` prompt until
``echo off`` / ``prom off``. Errors (unknown command, interlock) are a ``%SYS-...`` line before
``[OK]``, as pymeasure's driver expects. Power is set per channel in microwatts; the output is the
sum of the enabled channels while the laser (``la on``) is on.
"""

from __future__ import annotations

import re
from collections.abc import Callable

LaserSink = Callable[[bool, float], None]

_CH_POWER = re.compile(r"^ch\s+(\d)\s+pow\s+([-+0-9.eE]+)(?:\s+(mic|mil))?$")


class IBeamSmartEmulator:
    """An iBeam smart with five driver channels (channel 2 is the CW power channel)."""

    input_terminator = b"\r"
    output_terminator = b"\r\n"

    def __init__(
        self,
        *,
        max_power_w: float = 0.2,
        serial_number: str = "iBEAM-SMART-EMU-0001",
        firmware: str = "iBEAM-SMART-EMU-1.0",
        on_change: LaserSink | None = None,
    ):
        self.max_power_uw = max_power_w * 1e6
        self.serial_number = serial_number
        self.firmware = firmware
        self.on_change = on_change
        self.echo = True
        self.prompt = True
        self.laser_on = False
        self.interlock_closed = True
        self.ext_enabled = False
        self.channel_power_uw = {ch: 0.0 for ch in range(1, 6)}
        self.channel_enabled = {ch: False for ch in range(1, 6)}

    # ------------------------------------------------------------------ protocol
    def handle(self, line: str) -> bytes:
        command = " ".join(line.strip().lower().split())
        out = f"{line.strip()}\r\n" if self.echo else ""
        if command:
            body = self._dispatch(command)
            out += "\r\n" + "".join(f"{text}\r\n" for text in body) + "[OK]\r\n"
        if self.prompt:
            out += "CMD> "
        return out.encode()

    def _dispatch(self, cmd: str) -> list[str]:
        simple = {
            "echo off": lambda: self._set("echo", False),
            "echo on": lambda: self._set("echo", True),
            "prom off": lambda: self._set("prompt", False),
            "prom on": lambda: self._set("prompt", True),
            "talk usual": lambda: [],
            "ver": lambda: [self.firmware],
            "serial": lambda: [f"SN: {self.serial_number}"],
            "sta la": lambda: ["ON" if self.laser_on else "OFF"],
            "la on": self._laser_on,
            "la off": lambda: self._laser(False),
            "sh pow": lambda: [f"PIC  = {round(self.output_power_uw()):06d} uW  "],
            "di ext": lambda: self._set("ext_enabled", False),
            "en ext": lambda: self._set("ext_enabled", True),
            "di 0": self._disable_all,
        }
        if cmd in simple:
            return simple[cmd]()
        if m := re.match(r"^(en|di)\s+([1-5])$", cmd):
            self.channel_enabled[int(m.group(2))] = m.group(1) == "en"
            self._publish()
            return []
        if m := re.match(r"^sta\s+ch\s+([1-5])$", cmd):
            return ["ON" if self.channel_enabled[int(m.group(1))] else "OFF"]
        if m := _CH_POWER.match(cmd):
            return self._set_channel_power(int(m.group(1)), float(m.group(2)), m.group(3) or "mil")
        return [f"%SYS-W-002: unknown command '{cmd}'"]

    # ------------------------------------------------------------------ behaviour
    def output_power_uw(self) -> float:
        if not self.laser_on:
            return 0.0
        return min(self.max_power_uw, sum(p for ch, p in self.channel_power_uw.items() if self.channel_enabled[ch]))

    def open_interlock(self) -> None:
        self.interlock_closed = False
        self.laser_on = False
        self._publish()

    def close_interlock(self) -> None:
        self.interlock_closed = True

    def _laser_on(self) -> list[str]:
        if not self.interlock_closed:
            return ["%SYS-F-022: interlock open, laser stays off"]
        return self._laser(True)

    def _laser(self, on: bool) -> list[str]:
        self.laser_on = on
        self._publish()
        return []

    def _disable_all(self) -> list[str]:
        for ch in self.channel_enabled:
            self.channel_enabled[ch] = False
        self._publish()
        return []

    def _set_channel_power(self, ch: int, value: float, unit: str) -> list[str]:
        power_uw = value if unit == "mic" else value * 1e3
        if not (0 <= power_uw <= self.max_power_uw):
            return [f"%SYS-W-010: power {power_uw:.0f} uW out of range"]
        self.channel_power_uw[ch] = power_uw
        self._publish()
        return []

    def _set(self, attribute: str, value: bool) -> list[str]:
        setattr(self, attribute, value)
        return []

    def _publish(self) -> None:
        if self.on_change is not None:
            power_w = self.output_power_uw() * 1e-6
            self.on_change(self.laser_on and power_w > 0, power_w)

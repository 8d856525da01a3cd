"""Thorlabs MDT693B/MDT694B behaviour: open-loop piezo voltages over serial (115200, CR terminated).

As the controller does: echoes each command while ``echo`` is on (the power-up default), answers
queries with the value in brackets, ends every reply with a prompt (``>`` by default), and silently
clamps a voltage setpoint to [min, max] of the channel and to the front-panel limit switch (``vlimit``).
"""

from __future__ import annotations

from collections.abc import Callable

VoltageSink = Callable[[float], None]


class Mdt693bEmulator:
    """Three channels x, y, z (MDT693B) or one, x (MDT694B)."""

    input_terminator = b"\r"
    output_terminator = b"\r"

    def __init__(
        self,
        *,
        model: str = "MDT693B",
        vlimit_v: float = 75.0,
        prompt: str = ">",
        serial_number: str = "EMU-MDT-0001",
        on_change: VoltageSink | None = None,
        channel: str = "x",
    ):
        self.model = model
        self.vlimit_v = vlimit_v
        self.prompt = prompt
        self.serial_number = serial_number
        self.on_change = on_change
        self.wired_channel = channel
        self.echo = True
        axes = "xyz" if model == "MDT693B" else "x"
        self.voltage_v = {ax: 0.0 for ax in axes}
        self.min_v = {ax: 0.0 for ax in axes}
        self.max_v = {ax: 150.0 for ax in axes}

    # ------------------------------------------------------------------ protocol
    def handle(self, line: str) -> bytes:
        command = line.strip()
        out = f"{command}\r" if self.echo else ""
        if command:
            reply = self._dispatch(command.lower())
            if reply is not None:
                out += f"{reply}\r"
        return (out + self.prompt).encode()

    def _dispatch(self, cmd: str) -> str | None:
        if cmd in ("echo=0", "echo=1"):
            self.echo = cmd.endswith("1")
            return None
        if cmd == "echo?":
            return f"[Echo {'On' if self.echo else 'Off'}]"
        if cmd == "id?":
            return f"Model {self.model} Piezo Control Module\rFirmware Version: 1.09\rSerial: {self.serial_number}"
        if cmd == "serial?":
            return self.serial_number
        if cmd == "vlimit?":
            return f"[{self.vlimit_v:4.0f}]"
        axis, _, rest = cmd[:1], None, cmd[1:]
        if axis in self.voltage_v:
            return self._axis_command(axis, rest)
        return "CMD_NOT_DEFINED"

    def _axis_command(self, axis: str, rest: str) -> str | None:
        name, _, arg = rest.partition("=")
        table = {"voltage": self.voltage_v, "min": self.min_v, "max": self.max_v}
        if name.endswith("?") and name[:-1] in table:
            return f"[{table[name[:-1]][axis]:6.1f}]"
        if name in table and arg:
            try:
                value = float(arg)
            except ValueError:
                return "CMD_ARG_INVALID"
            if name == "voltage":
                self.set_voltage(axis, value)
            else:
                table[name][axis] = min(max(value, 0.0), self.vlimit_v)
            return None
        return "CMD_NOT_DEFINED"

    # ------------------------------------------------------------------ behaviour
    def set_voltage(self, axis: str, value: float) -> None:
        """Clamp silently, as the hardware does."""
        low = self.min_v[axis]
        high = min(self.max_v[axis], self.vlimit_v)
        self.voltage_v[axis] = min(max(value, low), high)
        if self.on_change is not None and axis == self.wired_channel:
            self.on_change(self.voltage_v[axis])

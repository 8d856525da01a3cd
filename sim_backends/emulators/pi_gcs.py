"""PI GCS 2.0 behaviour (E-709 / E-727 class, closed loop): LF-terminated ASCII commands.

Set commands are silent and record an error code that ``ERR?`` returns (and clears); queries answer
``axis=value`` lines (all but the last ending with a space before LF). A move is accepted only with the
servo on and inside TMN/TMX; the axis reaches the target after ``move_time_s`` (ONT? goes 1 then).
"""

from __future__ import annotations

import time
from collections.abc import Callable

PositionSink = Callable[[float], None]

# GCS controller error codes used here (PI GCS error list).
NO_ERROR = 0
PARAM_SYNTAX = 1
UNKNOWN_COMMAND = 2
MOVE_WITHOUT_SERVO = 5
POS_OUT_OF_LIMITS = 7
INVALID_AXIS = 15


class PiGcsEmulator:
    """One closed-loop axis ("1" by default) with capacitive-sensor-like readback."""

    input_terminator = b"\n"
    output_terminator = b"\n"

    def __init__(
        self,
        *,
        axis: str = "1",
        min_um: float = 0.0,
        max_um: float = 100.0,
        move_time_s: float = 0.02,
        model: str = "E-709.CHG",
        serial_number: str = "0119000001",
        on_change: PositionSink | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.axis = axis
        self.min_um = min_um
        self.max_um = max_um
        self.move_time_s = move_time_s
        self.model = model
        self.serial_number = serial_number
        self.on_change = on_change
        self.clock = clock
        self.servo = False
        self.error = NO_ERROR
        self.start_um = self.target_um = min_um
        self.move_started_s = -1e9
        self.stuck = False  # a stage that never reaches its target (for timeout tests)

    # ------------------------------------------------------------------ protocol
    def handle(self, line: str) -> bytes:
        words = line.strip().split()
        if not words:
            return b""
        cmd, args = words[0].upper(), words[1:]
        handler = getattr(self, "_q_" + cmd.rstrip("?").lstrip("*"), None) if cmd.endswith("?") else None
        if handler is None and not cmd.endswith("?"):
            handler = getattr(self, "_c_" + cmd, None)
        if handler is None:
            self._set_error(UNKNOWN_COMMAND)
            return b""
        reply = handler(args)
        if not reply:
            return b""
        return (" \n".join(reply) + "\n").encode()

    # queries -------------------------------------------------------------
    def _q_IDN(self, args):
        return [f"(c)2024 Physik Instrumente (PI) GmbH & Co. KG, {self.model}, {self.serial_number}, 01.100"]

    def _q_ERR(self, args):
        code, self.error = self.error, NO_ERROR
        return [str(code)]

    def _q_SAI(self, args):
        return [self.axis]

    def _axis_query(self, args, value) -> list[str]:
        axes = args or [self.axis]
        if any(a != self.axis for a in axes):
            self._set_error(INVALID_AXIS)
            return []
        return [f"{a}={value()}" for a in axes]

    def _q_POS(self, args):
        return self._axis_query(args, lambda: f"{self.position_um():.6f}")

    def _q_MOV(self, args):
        return self._axis_query(args, lambda: f"{self.target_um:.6f}")

    def _q_ONT(self, args):
        return self._axis_query(args, lambda: "1" if self.on_target() else "0")

    def _q_SVO(self, args):
        return self._axis_query(args, lambda: "1" if self.servo else "0")

    def _q_TMN(self, args):
        return self._axis_query(args, lambda: f"{self.min_um:.6f}")

    def _q_TMX(self, args):
        return self._axis_query(args, lambda: f"{self.max_um:.6f}")

    # commands ------------------------------------------------------------
    def _c_SVO(self, args):
        if len(args) != 2 or args[1] not in ("0", "1"):
            return self._set_error(PARAM_SYNTAX)
        if args[0] != self.axis:
            return self._set_error(INVALID_AXIS)
        self.servo = args[1] == "1"

    def _c_MOV(self, args):
        if len(args) != 2:
            return self._set_error(PARAM_SYNTAX)
        if args[0] != self.axis:
            return self._set_error(INVALID_AXIS)
        try:
            target = float(args[1])
        except ValueError:
            return self._set_error(PARAM_SYNTAX)
        if not self.servo:
            return self._set_error(MOVE_WITHOUT_SERVO)
        if not (self.min_um <= target <= self.max_um):
            return self._set_error(POS_OUT_OF_LIMITS)
        self.start_um, self.target_um = self.position_um(), target
        self.move_started_s = self.clock()
        if self.on_change is not None:
            self.on_change(target)

    def _c_HLT(self, args):
        """Halt smoothly: the axis stops where it is; the controller records error 10."""
        if args and args[0] != self.axis:
            return self._set_error(INVALID_AXIS)
        self.start_um = self.target_um = self.position_um()
        self.move_started_s = self.clock() - self.move_time_s
        self.error = 10  # controller was stopped by command
        if self.on_change is not None:
            self.on_change(self.target_um)

    def _c_STP(self, args):
        """Stop all axes at once (same effect on this one-axis controller)."""
        self._c_HLT([])

    # ------------------------------------------------------------------ motion
    def _fraction_done(self) -> float:
        if self.stuck:
            return 0.0
        if self.move_time_s <= 0:
            return 1.0
        return min(1.0, (self.clock() - self.move_started_s) / self.move_time_s)

    def position_um(self) -> float:
        f = self._fraction_done()
        return self.start_um + f * (self.target_um - self.start_um)

    def on_target(self) -> bool:
        return self._fraction_done() >= 1.0

    def _set_error(self, code: int) -> None:
        if self.error == NO_ERROR:  # GCS keeps the first error until ERR? reads it
            self.error = code
        return None

"""Simulated stages: the open-loop phase piezo (volts), the delay stage and the sample stage (um).

Moves take simulated time: travel at ``velocity`` plus ``settle_time_s``. Each move is recorded in the
world (``world.record_move``), so an exposure taken while a stage travels integrates over its path
(piezo phase, delay coherence); ``position()`` reports the interpolated travel until the move has
settled; ``stop()`` ends the move at that position.
"""

from __future__ import annotations

from drivers.contracts import Stage, StageReadback
from sim_backends.devices.base import SimDeviceMixin


class _SimStage(SimDeviceMixin, Stage):
    """A stage that writes its target into one world field and reaches it after travel + settle time."""

    state_field = ""
    settle_timeout_s = float("inf")  # move_to(wait=True) waits out the whole simulated travel

    def __init__(self, world, name: str, *, min_position: float, max_position: float,
                 velocity: float = float("inf"), settle_time_s: float = 0.0, faults=None):
        super().__init__(world, name, faults=faults)
        self._limits_value = (float(min_position), float(max_position))
        self.velocity, self.settle_time_s = float(velocity), float(settle_time_s)
        self._move_from = self._move_start_s = self._move_end_s = 0.0

    def _move_to_hw(self, position: float) -> None:
        self._call("move_to")
        with self.world.lock:
            start = self._readback()
            setattr(self.world.state, self.state_field, float(position))
            self._apply(float(position))
            travel_s = abs(float(position) - start) / self.velocity if self.velocity != float("inf") else 0.0
            self._move_from, self._move_start_s = start, self.world.clock_s
            self._move_end_s = self.world.clock_s + travel_s + (self.settle_time_s if travel_s or position != start else 0.0)
            self.world.record_move(self.state_field, start, float(position), self.world.clock_s,
                                   self.world.clock_s + travel_s)

    def _apply(self, position: float) -> None:
        """Hook for stages whose physics depends on the path (piezo hysteresis)."""

    def _readback(self) -> float:
        target = float(getattr(self.world.state, self.state_field))
        now, end = self.world.clock_s, self._move_end_s
        if now >= end or end <= self._move_start_s:
            return target
        travel_end = end - self.settle_time_s
        if now >= travel_end:
            return target
        frac = (now - self._move_start_s) / (travel_end - self._move_start_s)
        return self._move_from + frac * (target - self._move_from)

    def _position_hw(self) -> float:
        self._call("position")
        return self._readback()

    def _limits(self) -> tuple[float, float]:
        return self._limits_value

    def _remaining_s(self) -> float:
        return self._move_end_s - self.world.clock_s

    def _is_moving_hw(self) -> bool:
        return self._remaining_s() > 1e-12

    def _settle_eta_s(self) -> float | None:
        return self._remaining_s()

    def _timing(self) -> tuple[float | None, float | None]:
        return self.velocity, self.settle_time_s

    def _stop_hw(self) -> None:
        """Stop where the interpolated travel has got to (the optics see that position from now on)."""
        self._call("stop")
        with self.world.lock:
            here = self._readback()
            setattr(self.world.state, self.state_field, here)
            self._apply(here)
            self._move_end_s = self._move_start_s = self.world.clock_s

    def _read_state_hw(self) -> StageReadback:
        """Uncounted (polling must not shift configured faults)."""
        with self.world.lock:
            return StageReadback(position=self._readback(), unit=self.unit, target=self._target,
                                 moving=self._is_moving_hw(), limits=self._limits_value)


class SimPiezo(_SimStage):
    """Open-loop piezo in volts: displacement with nonlinearity and hysteresis (see actuators.PiezoModel)."""

    model = "simulated open-loop piezo controller"
    unit = "V"
    closed_loop = False
    state_field = "piezo_v"

    def __init__(self, world, name="phase_piezo", *, min_v=0.0, max_v=75.0, displacement_um_per_v=0.1,
                 nonlinearity=0.0, hysteresis_v=0.0, settle_time_s=0.0, faults=None):
        super().__init__(world, name, min_position=min_v, max_position=max_v, settle_time_s=settle_time_s,
                         faults=faults)
        world.state.piezo_displacement_um_per_v = displacement_um_per_v
        world.piezo.max_v, world.piezo.nonlinearity, world.piezo.hysteresis_v = max_v, nonlinearity, hysteresis_v

    _stop_hw = Stage._stop_hw  # open loop like the real MDT693B: steps are immediate, nothing to stop

    def _apply(self, position: float) -> None:
        self.world.piezo_displacement_um()  # advance the hysteresis state along the commanded path


class SimDelayStage(_SimStage):
    model = "simulated closed-loop delay stage"
    unit = "um"
    state_field = "delay_um"


class SimSampleStage(_SimStage):
    model = "simulated sample translation stage"
    unit = "um"
    state_field = "sample_stage_um"

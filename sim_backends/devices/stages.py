"""Simulated stages: the open-loop phase piezo (volts), the delay stage and the sample stage (um)."""

from __future__ import annotations

from drivers.interfaces import Stage
from sim_backends.devices.base import SimDeviceMixin


class _SimStage(SimDeviceMixin, Stage):
    """A stage that reaches its target at once and writes it into one world field."""

    state_field = ""

    def __init__(self, world, name: str, *, min_position: float, max_position: float):
        super().__init__(world, name)
        self._limits = (float(min_position), float(max_position))

    def close(self) -> None:
        self._connected = False

    def move_to(self, position: float, *, wait: bool = True) -> None:
        self.require_connected()
        self.check_in_limits(position)
        with self.world.lock:
            setattr(self.world.state, self.state_field, float(position))

    def position(self) -> float:
        return float(getattr(self.world.state, self.state_field))

    def limits(self) -> tuple[float, float]:
        return self._limits

    def wait_settled(self, timeout_s: float = 10.0) -> None:
        self.require_connected()

    def status(self):
        return {**super().status(), "position": self.position(), "unit": self.unit}


class SimPiezo(_SimStage):
    model = "simulated open-loop piezo controller"
    unit = "V"
    state_field = "piezo_v"

    def __init__(self, world, name="phase_piezo", *, min_v=0.0, max_v=75.0, displacement_um_per_v=0.1):
        super().__init__(world, name, min_position=min_v, max_position=max_v)
        world.state.piezo_displacement_um_per_v = displacement_um_per_v


class SimDelayStage(_SimStage):
    model = "simulated closed-loop delay stage"
    unit = "um"
    state_field = "delay_um"


class SimSampleStage(_SimStage):
    model = "simulated sample translation stage"
    unit = "um"
    state_field = "sample_stage_um"

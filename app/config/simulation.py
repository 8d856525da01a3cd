"""``[simulation]``: the simulated bench's physics; the model lives in :mod:`sim_backends.settings` (re-exported)."""

from sim_backends.settings.simulation import SampleName, SimulationConfig

__all__ = ["SampleName", "SimulationConfig"]

"""Settings of the simulated bench (pydantic models of ``[simulation]`` and the ``backend = "sim"`` tables).

They live here so that ``sim_backends`` imports nothing from ``app``; ``app/config`` re-exports them.
"""

from sim_backends.settings.base import RoiConfig, Section
from sim_backends.settings.devices import (
    SimCameraConfig,
    SimDelayStageConfig,
    SimLaserConfig,
    SimPiezoConfig,
    SimSampleStageConfig,
    SimSlmConfig,
)
from sim_backends.settings.faults import SimCameraFaultsConfig, SimFaultsConfig, SimLaserFaultsConfig
from sim_backends.settings.simulation import SampleName, SimulationConfig

__all__ = ["RoiConfig", "SampleName", "Section", "SimCameraConfig", "SimCameraFaultsConfig", "SimDelayStageConfig",
           "SimFaultsConfig", "SimLaserConfig", "SimLaserFaultsConfig", "SimPiezoConfig", "SimSampleStageConfig",
           "SimSlmConfig", "SimulationConfig"]

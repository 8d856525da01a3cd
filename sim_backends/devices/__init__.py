"""Simulated devices implementing the drivers' contracts on the shared world state."""

from sim_backends.devices.camera import SimCamera
from sim_backends.devices.laser import SimLaser
from sim_backends.devices.slm import SimSlm
from sim_backends.devices.stages import SimDelayStage, SimPiezo, SimSampleStage

__all__ = ["SimCamera", "SimDelayStage", "SimLaser", "SimPiezo", "SimSampleStage", "SimSlm"]

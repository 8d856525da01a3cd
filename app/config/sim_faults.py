"""Fault injection settings of the simulated devices; the models live in :mod:`sim_backends.settings.faults`."""

from sim_backends.settings.faults import SimCameraFaultsConfig, SimFaultsConfig, SimLaserFaultsConfig

__all__ = ["SimCameraFaultsConfig", "SimFaultsConfig", "SimLaserFaultsConfig"]

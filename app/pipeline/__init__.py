"""Frame accumulation and reconstruction: pure numpy, no I/O, no Qt, no device code."""

from app.pipeline.accumulate import StepAccumulator
from app.pipeline.demodulate import FringeMaps, ObjectMaps, demodulate, equal_step_phases_rad, normalise_by_reference

__all__ = ["FringeMaps", "ObjectMaps", "StepAccumulator", "demodulate", "equal_step_phases_rad", "normalise_by_reference"]

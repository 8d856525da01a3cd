"""Frame accumulation and reconstruction: pure numpy, no I/O, no Qt, no device code."""

from app.pipeline.accumulate import StepAccumulator, mean_frame
from app.pipeline.demodulate import (
    FringeMaps,
    ObjectMaps,
    complex_field,
    demodulate,
    equal_step_phases_rad,
    normalise_by_reference,
)
from app.pipeline.live import RollingDemodulator
from app.pipeline.reconstruct import Reconstruction, RunSums, reconstruct

__all__ = [
    "FringeMaps", "ObjectMaps", "Reconstruction", "RollingDemodulator", "RunSums", "StepAccumulator",
    "complex_field", "demodulate", "equal_step_phases_rad", "mean_frame", "normalise_by_reference", "reconstruct",
]

"""The simulated bench's one shared world state, read and written by every simulated device.

The devices change the state (laser, piezo, stages, SLM); the camera renders frames from it through
the forward model in :mod:`sim_backends.optics` and the noise chain in :mod:`sim_backends.noise`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from app.config.devices import SimCameraConfig
from app.config.schema import SimulationConfig
from sim_backends.samples import make_transmission


@dataclass
class ActuatorState:
    """What the devices have set; everything the optics depend on."""

    laser_emission: bool = False
    laser_power_w: float = 0.0
    piezo_v: float = 0.0
    piezo_displacement_um_per_v: float = 0.1
    delay_um: float = 0.0
    sample_stage_um: float = 0.0
    slm_phase_rad: np.ndarray | None = None


@dataclass
class SimulatedBench:
    """World state plus the fixed properties of the simulated optics and sensor."""

    sim: SimulationConfig
    camera: SimCameraConfig
    state: ActuatorState = field(default_factory=ActuatorState)
    clock_s: float = 0.0

    def __post_init__(self):
        self.rng = np.random.default_rng(self.sim.seed)
        self.lock = threading.RLock()
        self.sensor_shape = (self.camera.sensor_height, self.camera.sensor_width)
        self.sample_name = self.sim.sample
        self.sample_transmission = make_transmission(self.sample_name, self.sensor_shape, self.sim.field_sigma_px)
        h, w = self.sensor_shape
        y = (np.arange(h) - (h - 1) / 2)[:, None]
        x = (np.arange(w) - (w - 1) / 2)[None, :]
        r2 = (x**2 + y**2) / self.sim.field_sigma_px**2
        self.field_envelope = np.exp(-r2 / 2).astype(np.float32)
        # Background phase of the interferometer: a mild curvature and tilt (misalignment).
        self.background_phase_rad = (1.0 * r2 / 4 + 0.8 * x / self.sim.field_sigma_px).astype(np.float32)
        self.read_noise_map_e = _read_noise_map(self.rng, self.sensor_shape, self.camera.read_noise_e)

    # -- ground truth for tests and demos -------------------------------------------------------
    def sample_in_beam(self) -> bool:
        return abs(self.state.sample_stage_um) < self.sim.sample_out_threshold_um

    def transmission_truth(self, roi_slices) -> np.ndarray:
        """Complex t(x) the idler currently meets, on the given ROI (1 when the sample is out)."""
        if not self.sample_in_beam():
            return np.ones(self.field_envelope[roi_slices].shape, np.complex64)
        return self.sample_transmission[roi_slices]

    def illuminated_mask(self, roi_slices, fraction: float = np.exp(-2)) -> np.ndarray:
        """Pixels whose signal rate is at least ``fraction`` of the field centre (1/e^2 by default)."""
        return self.field_envelope[roi_slices] >= fraction


def _read_noise_map(rng: np.random.Generator, shape, median_e: float) -> np.ndarray:
    """Per-pixel read noise: log-normal around the median with a long upper tail (sCMOS-like)."""
    return (median_e * np.exp(0.25 * rng.standard_normal(shape))).astype(np.float32)

"""The simulated bench's one shared world state, read and written by every simulated device.

The devices change the state (laser, piezo, stages, SLM); the camera renders frames from it through
the forward model in :mod:`sim_backends.optics` and the noise chain in :mod:`sim_backends.noise`.
Time is simulated (``clock_s``): moves, settling and exposures advance it; with ``realtime = true``
they also take that long on the wall clock.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from app.config.devices import SimCameraConfig
from app.config.schema import SimulationConfig
from sim_backends.actuators import LaserRamp, PhaseDrift, PiezoModel
from sim_backends.depth import coherence_length_um, layered_field
from sim_backends.noise import dark_current_map, read_noise_map
from sim_backends.pupil import ImagingGeometry, slm_pixel_coordinates_um
from sim_backends.samples import make_sample
from sim_backends.zernike import wavefront_rad


@dataclass
class ActuatorState:
    """What the devices have set; everything the optics depend on."""

    laser_emission: bool = False
    laser_power_w: float = 0.0  # setpoint (the ramp, if any, is in SimulatedBench.laser_ramp)
    piezo_v: float = 0.0
    piezo_displacement_um_per_v: float = 0.1
    delay_um: float = 0.0
    sample_stage_um: float = 0.0
    slm_phase_rad: np.ndarray | None = None
    laser_interlock_closed: bool = True
    laser_rin_rms: float = 0.0
    slm_pixel_pitch_um: float = 8.0


@dataclass
class SimulatedBench:
    """World state plus the fixed properties of the simulated optics and sensor."""

    sim: SimulationConfig
    camera: SimCameraConfig
    state: ActuatorState = field(default_factory=ActuatorState)
    clock_s: float = 0.0

    def __post_init__(self):
        self.rng = np.random.default_rng(self.sim.seed)
        self.frame_serial = 0  # frames the camera has numbered in this world's life (never reset)
        self.lock = threading.RLock()
        self.sensor_shape = (self.camera.sensor_height, self.camera.sensor_width)
        self.sample_name = self.sim.sample
        self.sample = make_sample(self.sample_name, self.sensor_shape, self.sim.field_sigma_px,
                                  layer_depths_um=self.sim.layer_depths_um,
                                  layer_reflectivities=self.sim.layer_reflectivities)
        self.sample_transmission = self.sample.transmission
        h, w = self.sensor_shape
        y = (np.arange(h) - (h - 1) / 2)[:, None] / self.sim.field_sigma_px
        x = (np.arange(w) - (w - 1) / 2)[None, :] / self.sim.field_sigma_px
        r2 = x**2 + y**2
        self.field_envelope = np.exp(-r2 / 2).astype(np.float32)
        # Background phase of the interferometer: tilt and curvature (misalignment), per field sigma.
        self.background_phase_rad = (self.sim.background_curvature_rad * r2
                                     + self.sim.background_tilt_rad * x).astype(np.float32)
        sensor_rng = np.random.default_rng([self.sim.seed, 1])  # fixed-pattern maps: own stream
        self.read_noise_map_e = read_noise_map(sensor_rng, self.sensor_shape, self.camera.read_noise_e)
        self.dark_current_map_e_per_s = dark_current_map(
            sensor_rng, self.sensor_shape, self.camera.dark_current_e_per_s,
            self.camera.hot_pixel_fraction, self.camera.hot_pixel_dark_e_per_s)
        self.geometry = ImagingGeometry(
            signal_wavelength_um=self.sim.signal_wavelength_nm * 1e-3,
            idler_wavelength_um=self.sim.idler_wavelength_nm * 1e-3,
            signal_focal_length_um=self.sim.signal_focal_length_mm * 1e3,
            idler_focal_length_um=self.sim.idler_focal_length_mm * 1e3,
            pump_waist_um=self.sim.pump_waist_um,
            pixel_pitch_um=self.camera.pixel_pitch_um,
        )
        self.piezo = PiezoModel()
        self.drift = PhaseDrift(self.sim.phase_drift_rad_per_s, self.sim.phase_drift_rad_per_sqrt_s, self.sim.seed + 2)
        self.laser_ramp = LaserRamp()
        self.interlock_trip_at_s: float | None = None  # fault injection: interlock opens at this time
        self.slm_version = 0  # bumped by the SLM on every show(); the optics cache keys on it
        from sim_backends.optics import ForwardModel  # optics needs the world's type only at run time

        self.optics = ForwardModel(self)

    def next_frame_rng(self) -> np.random.Generator:
        """The random stream of the next frame: a function of (seed, frame serial) only, so a run
        resumed in a new process draws the same noise as the uninterrupted run (decision 0033)."""
        self.frame_serial += 1
        return np.random.default_rng([self.sim.seed, 3, self.frame_serial])

    # -- time -----------------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Let simulated time pass (and wall-clock time too when ``realtime``)."""
        if seconds > 0:
            self.clock_s += seconds
            if self.sim.realtime:
                time.sleep(seconds)

    # -- physics the devices and optics share ---------------------------------------------------
    def pump_power_w(self) -> float:
        """Pump power reaching the crystals now (0 when emission is off or the interlock is open)."""
        s = self.state
        if self.interlock_trip_at_s is not None and self.clock_s >= self.interlock_trip_at_s:
            s.laser_interlock_closed, s.laser_emission = False, False  # the interlock drops emission
            self.interlock_trip_at_s = None
        if not (s.laser_emission and s.laser_interlock_closed):
            return 0.0
        return self.laser_ramp.power_w(self.clock_s, s.laser_power_w)

    def piezo_displacement_um(self) -> float:
        return self.piezo.displacement_um(self.state.piezo_v, self.state.piezo_displacement_um_per_v)

    def slm_token(self) -> tuple[int, int]:
        """Changes whenever the SLM mask does (version from SimSlm, identity for direct writers)."""
        return self.slm_version, id(self.state.slm_phase_rad)

    def phase_drift_rad(self) -> float:
        return self.drift.phase_rad(self.clock_s)

    @property
    def coherence_length_um(self) -> float:
        """Axial resolution l_c = (2 ln2 / pi) lambda_i^2 / dlambda_i."""
        return coherence_length_um(self.sim.idler_wavelength_nm, self.sim.idler_bandwidth_nm)

    # -- ground truth for tests and demos -------------------------------------------------------
    def sample_in_beam(self) -> bool:
        return abs(self.state.sample_stage_um) < self.sim.sample_out_threshold_um

    def transmission_truth(self, roi_slices) -> np.ndarray:
        """Complex object factor the idler currently meets on the ROI, before the PSF (1 when out).

        Thin samples: t(x). Layered samples: Gamma(x, z_ref) at the current delay (see depth.py).
        """
        shape = self.field_envelope[roi_slices].shape
        if not self.sample_in_beam():
            return np.ones(shape, np.complex64)
        if self.sample.reflective:
            return layered_field(list(self.sample.layers), roi_slices, self.state.delay_um,
                                 self.sim.idler_wavelength_nm, self.coherence_length_um)
        return self.sample.transmission[roi_slices]

    def illuminated_mask(self, roi_slices, fraction: float = np.exp(-2)) -> np.ndarray:
        """Pixels whose signal rate is at least ``fraction`` of the field centre (1/e^2 by default)."""
        return self.field_envelope[roi_slices] >= fraction

    def layer_depths_um(self) -> list[float]:
        """True depths (um, delay-stage coordinates) of the layered sample's reflectors, top first."""
        return self.sample.layer_depths_um()

    def layers_truth(self, roi_slices) -> list[tuple[np.ndarray, float]]:
        """(amplitude reflectivity map on the ROI, depth in um) of each layer, top first."""
        return [(l.reflectivity[roi_slices], float(np.mean(l.depth_um))) for l in self.sample.layers]

    def usaf_elements(self):
        """The USAF target's elements (bar widths and sensor positions); empty for other samples."""
        return list(self.sample.usaf_elements)

    def aberration_on_slm_rad(self, slm_shape: tuple[int, int]) -> np.ndarray:
        """The system aberration W at each SLM pixel's image in the pupil; show -W to cancel it."""
        x, y = slm_pixel_coordinates_um(slm_shape, self.state.slm_pixel_pitch_um, self.sim.slm_to_pupil_magnification)
        return wavefront_rad(self.sim.aberration_zernike_rad, x, y, self.sim.zernike_radius_mm * 1e3).astype(np.float32)

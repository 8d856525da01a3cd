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

from sim_backends.actuators import LaserRamp, OrnsteinUhlenbeck, PhaseDrift, PiezoModel, Vibration
from sim_backends.depth import coherence_phasor, layered_field
from sim_backends.noise import dark_current_map, read_noise_map
from sim_backends.pupil import ImagingGeometry, slm_pixel_coordinates_um
from sim_backends.samples import make_sample
from sim_backends.settings import SimCameraConfig, SimulationConfig
from sim_backends.spectrum import spectrum_from_config
from sim_backends.usaf import elements_on_camera
from sim_backends.zernike import wavefront_rad

RIN_REFERENCE_EXPOSURE_S = 0.1  # the laser's rin_rms is the RMS over an exposure this long


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
    laser_rin_rms: float = 0.0  # RMS relative power noise over RIN_REFERENCE_EXPOSURE_S (white: ~ 1/sqrt(tau))
    slm_pixel_pitch_um: float = 8.0
    slm_shape: tuple[int, int] | None = None  # set when a simulated SLM attaches
    slm_pupil_centre_px: tuple[float, float] | None = None  # configured (row, col); None: the SLM's centre
    slm_pupil_radius_px: float | None = None  # configured; None: the design value w_p / (pitch M_slm)


@dataclass
class SimulatedBench:
    """World state plus the fixed properties of the simulated optics and sensor."""

    sim: SimulationConfig
    camera: SimCameraConfig
    state: ActuatorState = field(default_factory=ActuatorState)
    clock_s: float = 0.0

    def __post_init__(self):
        sim = self.sim
        self.rng = np.random.default_rng(sim.seed)
        self.frame_serial = 0  # frames the camera has numbered in this world's life (never reset)
        self.lock = threading.RLock()
        self.sensor_shape = (self.camera.sensor_height, self.camera.sensor_width)
        self.sample_name = sim.sample
        self.sample = make_sample(sim.sample, scale_um=sim.sample_scale_um, layer_depths_um=sim.layer_depths_um,
                                  layer_reflectivities=sim.layer_reflectivities)
        h, w = self.sensor_shape
        y = (np.arange(h) - (h - 1) / 2)[:, None] / sim.field_sigma_px
        x = (np.arange(w) - (w - 1) / 2)[None, :] / sim.field_sigma_px
        r2 = x**2 + y**2
        self.field_envelope = np.exp(-r2 / 2).astype(np.float32)
        # Background phase of the interferometer: tilt and curvature (misalignment), per field sigma.
        self.background_phase_rad = (sim.background_curvature_rad * r2 + sim.background_tilt_rad * x).astype(np.float32)
        sensor_rng = np.random.default_rng([sim.seed, 1])  # fixed-pattern maps: own stream
        self.read_noise_map_e = read_noise_map(sensor_rng, self.sensor_shape, self.camera.read_noise_e)
        self.dark_current_map_e_per_s = dark_current_map(
            sensor_rng, self.sensor_shape, self.camera.dark_current_e_per_s,
            self.camera.hot_pixel_fraction, self.camera.hot_pixel_dark_e_per_s)
        fpn_rng = np.random.default_rng([sim.seed, 4])
        self.prnu_map = (None if self.camera.prnu_rms <= 0 else
                         (1.0 + self.camera.prnu_rms * fpn_rng.standard_normal(self.sensor_shape)).astype(np.float32))
        self.offset_fpn_adu = (None if self.camera.offset_fpn_rms_adu <= 0 else
                               (self.camera.offset_fpn_rms_adu * fpn_rng.standard_normal(self.sensor_shape)
                                ).astype(np.float32))
        self.spectrum = spectrum_from_config(sim)
        self.geometry = ImagingGeometry(
            signal_wavelength_um=sim.signal_wavelength_nm * 1e-3,
            idler_wavelength_um=sim.idler_wavelength_nm * 1e-3,
            signal_focal_length_um=sim.signal_focal_length_mm * 1e3,
            idler_focal_length_um=sim.idler_focal_length_mm * 1e3,
            pump_waist_um=sim.pump_waist_um,
            pixel_pitch_um=self.camera.pixel_pitch_um,
        )
        self.piezo = PiezoModel()
        self.drift = PhaseDrift(sim.phase_drift_rad_per_s, sim.phase_drift_rad_per_sqrt_s, sim.seed + 2)
        self.vibration = Vibration(sim.vibration_rms_rad, sim.vibration_bandwidth_hz)
        self.power_drift = OrnsteinUhlenbeck(sim.pump_power_drift_rms, sim.pump_power_drift_time_s, [sim.seed, 5])
        self.laser_ramp = LaserRamp(shape=sim.pump_ramp_shape)
        self.interlock_trip_at_s: float | None = None  # fault injection: interlock opens at this time
        self.slm_version = 0  # bumped by direct writers of state.slm_phase_rad; the optics cache keys on it
        self.slm_crystal = None  # the LiquidCrystal of an attached SimSlm (its phase is what the optics see)
        self.slm_flicker_rad_rms = 0.0
        self._w_on_slm: tuple = (None, None)  # (SLM shape, W at its pixels), for the optics
        self._full_transmission = None
        self.moves: dict[str, tuple[float, float, float, float]] = {}  # field -> (from, to, start_s, end_s)
        from sim_backends.optics import ForwardModel  # optics needs the world's type only at run time

        self.optics = ForwardModel(self)

    def next_frame_rng(self) -> np.random.Generator:
        """The random stream of the next frame: a function of (seed, frame serial) only, so a run
        resumed in a new process draws the same noise as the uninterrupted run (decision 0033)."""
        self.frame_serial += 1
        return np.random.default_rng([self.sim.seed, 3, self.frame_serial])

    # -- time -----------------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Let simulated time pass (and wall-clock time too when ``realtime``); call it without ``lock`` held."""
        with self.lock:
            self.advance_clock(seconds)
        self.pass_wall_time(seconds)

    def advance_clock(self, seconds: float) -> None:
        """Simulated time passes (call it under ``lock``); the wall clock is the caller's, see pass_wall_time."""
        if seconds > 0:
            self.clock_s += seconds

    def pass_wall_time(self, seconds: float) -> None:
        """With ``realtime``, sleep ``seconds``: always after releasing ``lock``, so that readbacks, moves and
        emulators are not held up by an exposure (holding it, they waited up to a frame)."""
        if seconds > 0 and self.sim.realtime:
            time.sleep(seconds)

    def record_move(self, state_field: str, from_value: float, to_value: float, start_s: float, end_s: float) -> None:
        """A stage travels linearly from ``from_value`` to ``to_value`` over [start_s, end_s] (simulated time);
        exposures overlapping that interval integrate over the travel (piezo phase, delay coherence)."""
        if end_s > start_s and from_value != to_value:
            self.moves[state_field] = (float(from_value), float(to_value), float(start_s), float(end_s))
        else:
            self.moves.pop(state_field, None)

    def offset_during(self, state_field: str, times_s: np.ndarray) -> np.ndarray:
        """Position minus the target at ``times_s`` (0 once the move has ended or without a recorded move)."""
        move = self.moves.get(state_field)
        times_s = np.asarray(times_s, float)
        if move is None or float(getattr(self.state, state_field)) != move[1]:
            return np.zeros_like(times_s)
        start_v, end_v, t0, t1 = move
        frac = np.clip((times_s - t0) / (t1 - t0), 0.0, 1.0)
        return (start_v - end_v) * (1.0 - frac)

    def moving_during(self, exposure_s: float) -> bool:
        """Whether a recorded move of the piezo or the delay stage overlaps the exposure starting now."""
        return any(f in self.moves and self.moves[f][3] > self.clock_s and self.moves[f][2] < self.clock_s + exposure_s
                   for f in ("piezo_v", "delay_um"))

    # -- pump -----------------------------------------------------------------------------------
    def _emitting(self) -> bool:
        s = self.state
        if self.interlock_trip_at_s is not None and self.clock_s >= self.interlock_trip_at_s:
            s.laser_interlock_closed, s.laser_emission = False, False  # the interlock drops emission
            self.interlock_trip_at_s = None
        return s.laser_emission and s.laser_interlock_closed

    def pump_power_w(self) -> float:
        """Pump power reaching the crystals now (0 when emission is off or the interlock is open)."""
        if not self._emitting():
            return 0.0
        return self.laser_ramp.power_w(self.clock_s, self.state.laser_power_w) * self._drift_factor()

    def mean_pump_power_w(self, exposure_s: float) -> float:
        """Pump power averaged over an exposure starting now (the ramp integrated in closed form)."""
        if not self._emitting():
            return 0.0
        return self.laser_ramp.mean_power_w(self.clock_s, exposure_s, self.state.laser_power_w) * self._drift_factor()

    def _drift_factor(self) -> float:
        return max(0.0, 1.0 + self.power_drift.at(self.clock_s))

    def rin_rms_per_frame(self, exposure_s: float) -> float:
        """White RIN averaged over the exposure: rin_rms sqrt(0.1 s / tau)."""
        return self.state.laser_rin_rms * float(np.sqrt(RIN_REFERENCE_EXPOSURE_S / exposure_s))

    # -- phases ---------------------------------------------------------------------------------
    @property
    def pass_count(self) -> int:
        """Passes of the idler (and of the piezo and delay mirrors): 2 (michelson) or 1 (mach-zehnder)."""
        return self.sim.pass_count

    def piezo_displacement_um(self) -> float:
        return self.piezo.displacement_um(self.state.piezo_v, self.state.piezo_displacement_um_per_v)

    def piezo_wavelength_nm(self) -> float:
        """The wavelength whose phase the piezo mirror changes: a mirror shared by pump and signal changes
        k_p - k_s = k_i (energy conservation), i.e. acts at 1 / (1/lambda_p - 1/lambda_s)."""
        sim = self.sim
        return {"pump": sim.pump_wavelength_nm, "signal": sim.signal_wavelength_nm, "idler": sim.idler_wavelength_nm,
                "pump-signal": 1.0 / (1.0 / sim.pump_wavelength_nm - 1.0 / sim.signal_wavelength_nm)}[sim.piezo_arm]

    def piezo_phase_rad(self) -> float:
        """phi = p 2 pi d / lambda_arm (p passes of the piezo mirror)."""
        return 2.0 * np.pi * self.pass_count * self.piezo_displacement_um() * 1e3 / self.piezo_wavelength_nm()

    def phase_drift_rad(self) -> float:
        return self.drift.phase_rad(self.clock_s)

    # -- the SLM as the optics see it -----------------------------------------------------------
    def attach_slm(self, shape: tuple[int, int], pitch_um: float, crystal, flicker_rad_rms: float,
                   pupil_centre_px: tuple[float, float] | None, pupil_radius_px: float | None) -> None:
        """A simulated SLM joins the world: its panel, liquid crystal, flicker and the *configured* pupil."""
        s = self.state
        s.slm_shape, s.slm_pixel_pitch_um = (int(shape[0]), int(shape[1])), float(pitch_um)
        s.slm_pupil_centre_px = None if pupil_centre_px is None else (float(pupil_centre_px[0]), float(pupil_centre_px[1]))
        s.slm_pupil_radius_px = None if pupil_radius_px is None else float(pupil_radius_px)
        self.slm_crystal, self.slm_flicker_rad_rms = crystal, float(flicker_rad_rms)

    def slm_pupil_configured(self, shape: tuple[int, int] | None = None):
        """((row, col), radius) in SLM pixels as configured: where the user believes the pump beam sits."""
        h, w = shape or self.state.slm_shape or (1080, 1920)
        centre = self.state.slm_pupil_centre_px or ((h - 1) / 2, (w - 1) / 2)
        radius = self.state.slm_pupil_radius_px or (
            self.sim.pump_waist_um / (self.state.slm_pixel_pitch_um * self.sim.slm_to_pupil_magnification))
        return (float(centre[0]), float(centre[1])), float(radius)

    def slm_pupil_truth(self, shape: tuple[int, int] | None = None):
        """((row, col), radius) in SLM pixels where the pump beam really is: its axis, and its 1/e^2 intensity
        radius w_p imaged onto the SLM. Configured centre + [simulation] slm_pupil_offset_px (dx, dy);
        configured radius * slm_pupil_radius_scale."""
        (row, col), radius = self.slm_pupil_configured(shape)
        dx, dy = self.sim.slm_pupil_offset_px
        return (row + dy, col + dx), radius * self.sim.slm_pupil_radius_scale

    def slm_step_um(self, shape: tuple[int, int] | None = None) -> float:
        """Pupil-plane micrometres per SLM pixel (true geometry): w_p / true radius."""
        return self.sim.pump_waist_um / self.slm_pupil_truth(shape)[1]

    def _slm_weight(self, exposure_s: float) -> float:
        """The crystal's mean progress towards the newest mask over the exposure starting now (1: settled)."""
        w = self.slm_crystal.mean_weight_new(self.clock_s, self.clock_s + max(exposure_s, 0.0))
        return 1.0 if w >= 1.0 - 1e-6 else round(w, 7)

    def slm_token(self, exposure_s: float = 0.0) -> tuple:
        """Changes whenever the phase the optics see does: (crystal version, mean weight over the exposure)
        for a SimSlm, (version, identity) for direct writers of ``state.slm_phase_rad``."""
        lc = self.slm_crystal
        if lc is None:
            return "direct", self.slm_version, id(self.state.slm_phase_rad)
        return "crystal", lc.version, (self._slm_weight(exposure_s) if lc.version else 1.0)

    def slm_phase_for_exposure(self, exposure_s: float = 0.0) -> np.ndarray | None:
        """The SLM phase averaged over the exposure starting now: old + w_bar (new - old), w_bar the closed-form
        mean of 1 - exp(-(t - t_show)/tau) (None: nothing shown, no SLM phase)."""
        lc = self.slm_crystal
        if lc is None:
            return self.state.slm_phase_rad
        return None if lc.version == 0 else lc.phase_with_weight(self._slm_weight(exposure_s))

    # -- coherence ------------------------------------------------------------------------------
    @property
    def idler_wavenumber_rad_per_um(self) -> float:
        return 2 * np.pi * self.spectrum.idler_nu * 1e3

    @property
    def coherence_length_um(self) -> float:
        """FWHM of the fringe envelope versus delay-stage position: L_c / p, L_c = (4 ln2/pi) lambda^2/dlambda."""
        return self.spectrum.path_coherence_fwhm_um() / self.pass_count

    def path_difference_um(self) -> float:
        """Optical path difference of a thin sample's arms: p (z_delay - z_0)."""
        return self.pass_count * (self.state.delay_um - self.sim.zero_path_delay_um)

    def thin_sample_coherence(self) -> complex:
        """g(dL) exp(i k_i dL) of a thin sample (or none) at the current delay."""
        return complex(coherence_phasor(self.path_difference_um(), self.spectrum.path_coherence_fwhm_um(),
                                        self.idler_wavenumber_rad_per_um))

    # -- the object as the interferometer sees it -----------------------------------------------
    @property
    def object_pixel_size_um(self) -> float:
        """One camera pixel projected onto the object at the central magnification: p / M."""
        return self.geometry.object_pixel_um

    def object_grid(self, region_slices, magnification: float):
        """Object-plane points (x (1, w), y (h, 1)) in um of the camera pixels of ``region_slices``."""
        rows, cols = region_slices
        h, w = self.sensor_shape
        step = self.camera.pixel_pitch_um / magnification
        x = (np.arange(cols.start, cols.stop) - (w - 1) / 2)[None, :] * step
        y = (np.arange(rows.start, rows.stop) - (h - 1) / 2)[:, None] * step
        return x, y

    def sample_in_beam(self) -> bool:
        return abs(self.state.sample_stage_um) < self.sim.sample_out_threshold_um

    def object_factor(self, region_slices, magnification: float | None = None) -> np.ndarray:
        """What the idler carries back into the interferometer from each camera pixel's object point (complex64).

        Thin sample in: t^p (p passes); out: 1. Reflective sample in: Gamma(x, z) (coherence included);
        out: 0, nothing sends the idler back.
        """
        m = self.geometry.magnification if magnification is None else magnification
        rows, cols = region_slices
        shape = (rows.stop - rows.start, cols.stop - cols.start)
        if not self.sample_in_beam():
            return np.full(shape, 0.0 if self.sample.reflective else 1.0, np.complex64)
        x, y = self.object_grid(region_slices, m)
        if self.sample.reflective:
            return layered_field(self.sample.layers(x, y), self.state.delay_um, passes=self.pass_count,
                                 path_fwhm_um=self.spectrum.path_coherence_fwhm_um(),
                                 wavenumber_rad_per_um=self.idler_wavenumber_rad_per_um)
        t = self.sample.transmission(x, y)
        return t if self.pass_count == 1 else t**self.pass_count

    def transmission_truth(self, roi_slices) -> np.ndarray:
        """Object factor on the ROI at the central magnification, before the PSF: t^p (1 when out) for thin
        samples, relative to the bare interferometer; Gamma(x, z) at the current delay for layered ones."""
        return self.object_factor(roi_slices)

    @property
    def sample_transmission(self) -> np.ndarray | None:
        """t^p of a thin sample over the whole sensor at the central magnification (None when reflective)."""
        if self.sample.reflective:
            return None
        if self._full_transmission is None or self._full_transmission[0] is not self.sample:
            h, w = self.sensor_shape
            x, y = self.object_grid((slice(0, h), slice(0, w)), self.geometry.magnification)
            self._full_transmission = (self.sample, self.sample.transmission(x, y) ** self.pass_count)
        return self._full_transmission[1]

    # -- ground truth for tests and demos -------------------------------------------------------
    def illuminated_mask(self, roi_slices, fraction: float = np.exp(-2)) -> np.ndarray:
        """Pixels whose signal rate is at least ``fraction`` of the field centre (1/e^2 by default)."""
        return self.field_envelope[roi_slices] >= fraction

    def layer_depths_um(self) -> list[float]:
        """Delay-stage positions of zero path of the layered sample's reflectors, top first."""
        return self.sample.layer_depths_um()

    def layers_truth(self, roi_slices) -> list[tuple[np.ndarray, float]]:
        """(amplitude reflectivity map on the ROI, depth in um) of each layer, top first."""
        x, y = self.object_grid(roi_slices, self.geometry.magnification)
        return [(np.asarray(l.reflectivity), float(np.mean(l.depth_um))) for l in self.sample.layers(x, y)]

    def usaf_elements(self):
        """The USAF target's elements as imaged (bar widths and sensor positions); empty for other samples."""
        return elements_on_camera(self.sensor_shape, self.object_pixel_size_um) if self.sample.is_usaf else []

    def aberration_on_slm_rad(self, slm_shape: tuple[int, int]) -> np.ndarray:
        """The system aberration W (all passes together) at each SLM pixel's image in the pupil (true geometry)."""
        x, y = slm_pixel_coordinates_um(slm_shape, self.slm_pupil_truth(slm_shape)[0], self.slm_step_um(slm_shape))
        return wavefront_rad(self.sim.aberration_zernike_rad, x, y, self.sim.zernike_radius_mm * 1e3).astype(np.float32)

    def aberration_on_slm_cached(self, slm_shape: tuple[int, int]) -> np.ndarray | None:
        """``aberration_on_slm_rad`` kept for the optics (None without aberration)."""
        if not self.sim.aberration_zernike_rad:
            return None
        key = tuple(slm_shape)
        if self._w_on_slm[0] != key:
            self._w_on_slm = (key, self.aberration_on_slm_rad(key).astype(np.float64))
        return self._w_on_slm[1]

    def conjugate_slm_phase_rad(self, slm_shape: tuple[int, int]) -> np.ndarray:
        """The SLM mask that cancels W: -W / p, since the idler crosses the SLM p times."""
        return (-self.aberration_on_slm_rad(slm_shape) / self.pass_count).astype(np.float32)

    def offset_map_adu(self, roi_slices, binning: int = 1):
        """Per-pixel offset fixed-pattern noise (ADU) on the ROI, summed over binned pixels; None when off."""
        if self.offset_fpn_adu is None:
            return None
        from sim_backends.optics import _bin

        return _bin(self.offset_fpn_adu[roi_slices], binning)

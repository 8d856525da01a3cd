"""Forward model of the induced-coherence interferometer (DESIGN.md section 4, docs/decisions/0010).

Expected photoelectrons per pixel in one frame of exposure tau starting at t0:

    mu(x) = QE tau R(x) F (1 + Re(c T_coh(x))) + D(x) tau
    R(x)  = R0 (P_bar / P_ref) exp(-|x|^2 / (2 sigma_fov^2)) PRNU(x)    P_bar: mean pump power over the exposure
    T_coh = V e^{i phi0(x)} T_eff(x),  V = V0 * 2 sqrt(R1 R2) / (R1 + R2)  (Lemos 2014)
    c     = e^{i phi_piezo} <e^{i drift}>_tau <e^{i jitter}>_tau g(dL) e^{i k_i dL}   (g: thin samples only)
    T_eff = sum_j w_j K_j (*) O(x / M_j)        O = t^p (thin) or Gamma(z) (layered); j: spectral nodes

F is the fraction of pairs a signal filter passes. The object enters only the interference term: the mean
intensity does not depend on t (Lemos et al., Nature 512, 409 (2014)). T_coh is cached until the
sample, the SLM mask or (layered samples) the delay changes; a frame then costs a few array operations.
"""

from __future__ import annotations

import numpy as np

from sim_backends.actuators import mean_phasor_linear
from sim_backends.depth import envelope
from sim_backends.pupil import CoherentPsf, ImagingGeometry, blur, slm_pupil_field, slm_pupil_phasor
from sim_backends.slm_physics import flicker_rad

PSF_MARGIN_PX = 32  # object taken around the ROI so the (circular) PSF convolution sees real neighbours
MOTION_PIECES = 16  # pieces of an exposure during which a stage travels (phase linear in each, exact sinc)
POWER_BUCKET = 0.02  # the tier plan is rebuilt when the mean power moves by more than ~2 % (bounds allow 5 %)


def arm_wavelength_nm(bench) -> float:
    return bench.piezo_wavelength_nm()


def piezo_phase_rad(bench) -> float:
    """Interferometer phase from the piezo mirror: phi = p 2 pi d / lambda_arm."""
    return bench.piezo_phase_rad()


def balanced_visibility_factor(rate_ratio: float) -> float:
    """2 sqrt(R1 R2) / (R1 + R2) = 2 sqrt(r) / (1 + r) for r = R2 / R1."""
    return 2.0 * np.sqrt(rate_ratio) / (1.0 + rate_ratio)


class ForwardModel:
    """Renders mu(x) for the world's current state; caches the coherent term per ROI."""

    def __init__(self, world):
        self.world = world
        self._key = None
        self._terms: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._psfs: dict[tuple, CoherentPsf] = {}
        self._transfer: dict[tuple, np.ndarray] = {}
        self._slm_field: tuple = (None, None)  # (token, (field, origin) or None)

    # -- per frame --------------------------------------------------------------------------------
    def frame_phasor(self, exposure_s: float, rng: np.random.Generator) -> complex:
        """c: piezo phase, drift and vibration integrated over the exposure, and a thin sample's coherence."""
        world = self.world
        c = world.drift.mean_phasor(world.clock_s, exposure_s)
        c *= world.vibration.mean_phasor(world.clock_s, exposure_s, rng)
        if world.slm_crystal is not None and world.slm_flicker_rad_rms > 0:  # the panel's flicker, crossed p times
            c *= np.exp(1j * world.pass_count * flicker_rad(rng, world.slm_flicker_rad_rms))
        if world.moving_during(exposure_s):
            return complex(c * self._moving_phasor(exposure_s))
        c *= np.exp(1j * world.piezo_phase_rad())
        if not world.sample.reflective:
            c *= world.thin_sample_coherence()
        return complex(c)

    def _moving_phasor(self, exposure_s: float, pieces: int = MOTION_PIECES) -> complex:
        """<exp(i phi_piezo(t)) g(dL(t)) exp(i k dL(t))> over an exposure with a stage travelling linearly.

        The piezo moves with its linear gain (nonlinearity and hysteresis taken at the target); the exposure
        is cut into pieces, in each of which the phase is linear (exact sinc) and g is taken at the middle.
        """
        world = self.world
        edges = world.clock_s + exposure_s * np.linspace(0.0, 1.0, pieces + 1)
        um_per_v = world.state.piezo_displacement_um_per_v
        per_v = 2 * np.pi * world.pass_count * um_per_v * 1e3 / world.piezo_wavelength_nm()
        phase = world.piezo_phase_rad() + per_v * world.offset_during("piezo_v", edges)
        amplitude = np.ones(pieces)
        if not world.sample.reflective:
            dl_edges = world.path_difference_um() + world.pass_count * world.offset_during("delay_um", edges)
            phase = phase + world.idler_wavenumber_rad_per_um * dl_edges
            dl_mid = (dl_edges[1:] + dl_edges[:-1]) / 2
            amplitude = envelope(dl_mid, world.spectrum.path_coherence_fwhm_um())
        total = sum(a * mean_phasor_linear(p0, p1 - p0) for a, p0, p1 in zip(amplitude, phase[:-1], phase[1:]))
        return complex(total / pieces)

    def photon_scale(self, exposure_s: float, power_w: float) -> float:
        """Photoelectrons at the field centre with V = 0: QE tau R0 F P / P_ref."""
        world = self.world
        return (world.camera.quantum_efficiency * exposure_s * world.sim.signal_rate_photons_per_px_s
                * world.spectrum.transmitted_fraction * power_w / world.sim.reference_power_w)

    def expected_electrons(self, roi_slices, exposure_s: float, *, binning: int = 1,
                           rng: np.random.Generator | None = None) -> np.ndarray:
        """Mean photoelectrons per (binned) pixel in the exposure starting now (float32).

        ``rng`` (the frame's stream) draws the laser RIN and the vibration's exposure-mean phase.
        """
        world = self.world
        rng = rng or world.rng
        dark = world.dark_current_map_e_per_s[roi_slices] * np.float32(exposure_s)
        power_w = world.mean_pump_power_w(exposure_s)
        rin = world.rin_rms_per_frame(exposure_s)
        if power_w > 0 and rin > 0:
            power_w *= max(0.0, 1.0 + rin * float(rng.standard_normal()))
        if power_w <= 0:
            return _bin(dark.astype(np.float32), binning)
        scale = self.photon_scale(exposure_s, power_w)
        c = self.frame_phasor(exposure_s, rng) * scale
        envelope, coh_re, coh_im = self._coherent_terms(roi_slices, exposure_s)
        mu = envelope * np.float32(scale)
        tmp = np.multiply(coh_re, np.float32(c.real))
        mu += tmp
        np.multiply(coh_im, np.float32(-c.imag), out=tmp)
        mu += tmp
        mu += dark
        return _bin(mu, binning)

    def electron_bounds(self, roi_slices, exposure_s: float, *, binning: int = 1, margin: float = 0.05):
        """(lower, upper) bounds on mu over every piezo phase, drift, jitter and RIN draw, power within ``margin``."""
        world = self.world
        dark = world.dark_current_map_e_per_s[roi_slices] * np.float32(exposure_s)
        m = max(margin, 6 * world.rin_rms_per_frame(exposure_s))
        power_w = max(world.mean_pump_power_w(exposure_s), world.pump_power_w())
        scale = self.photon_scale(exposure_s, power_w * (1 + m))
        envelope, coh_re, coh_im = self._coherent_terms(roi_slices, exposure_s)
        swing = np.hypot(coh_re, coh_im)
        hi = (envelope + swing) * np.float32(scale) + dark
        low_power = min(world.mean_pump_power_w(exposure_s), world.pump_power_w()) * (1 - m)
        lo = (envelope - swing) * np.float32(self.photon_scale(exposure_s, max(low_power, 0.0))) + dark
        return _bin(np.maximum(lo, 0), binning), _bin(hi, binning)

    def scene_key(self, roi_slices, exposure_s: float, binning: int) -> tuple:
        """Changes whenever the bounds of electron_bounds() may change."""
        self._coherent_terms(roi_slices, exposure_s)
        world = self.world
        powers = (world.mean_pump_power_w(exposure_s), world.pump_power_w())
        buckets = tuple(None if p <= 0 else round(np.log(p) / POWER_BUCKET) for p in powers)
        return self._key, exposure_s, binning, buckets

    # -- the cached coherent term: envelope * V * T_eff * exp(i phi0) -----------------------------
    def _coherent_terms(self, roi_slices, exposure_s: float = 0.0):
        world = self.world
        rows, cols = roi_slices
        reflective = world.sample.reflective and world.sample_in_beam()
        key = (rows.start, rows.stop, cols.start, cols.stop, id(world.sample), world.sample_in_beam(),
               world.slm_token(exposure_s),
               world.state.delay_um if reflective else None)
        if key != self._key:
            envelope = world.field_envelope[roi_slices]
            if world.prnu_map is not None:
                envelope = envelope * world.prnu_map[roi_slices]
            t_eff = self.effective_transmission(roi_slices, exposure_s)
            v = world.sim.max_visibility * balanced_visibility_factor(world.sim.source_rate_ratio)
            coherent = (envelope * np.float32(v)) * t_eff * np.exp(1j * world.background_phase_rad[roi_slices])
            self._terms = (envelope, coherent.real.astype(np.float32), coherent.imag.astype(np.float32))
            self._key = key
        return self._terms

    def spectral_nodes(self) -> list[tuple[float, ImagingGeometry]]:
        """(weight, imaging geometry) per spectral node; monochromatic (the central geometry) for ideal imaging."""
        world = self.world
        if not world.sim.psf or world.sim.spectral_samples <= 1:
            return [(1.0, world.geometry)]
        spec, g0 = world.spectrum, world.geometry
        nus, weights = spec.nodes(world.sim.spectral_samples)
        nu_s0 = spec.pump_nu - spec.idler_nu
        out = []
        for nu_i, w in zip(nus, weights):
            # lambda_i and lambda_s scale with the node's wavenumbers; the centre is the configured geometry
            li = g0.idler_wavelength_um * spec.idler_nu / nu_i
            ls = g0.signal_wavelength_um * nu_s0 / (spec.pump_nu - nu_i)
            out.append((float(w), ImagingGeometry(ls, li, g0.signal_focal_length_um, g0.idler_focal_length_um,
                                                  g0.pump_waist_um, g0.pixel_pitch_um)))
        return out

    def effective_transmission(self, roi_slices, exposure_s: float = 0.0) -> np.ndarray:
        """T_eff = sum_j w_j K_j (*) O(x / M_j) on the ROI: the object as the interferometer sees it (complex64),
        with the SLM phase averaged over the exposure starting now."""
        world = self.world
        if not world.sim.psf:
            return world.object_factor(roi_slices)
        rows, cols = roi_slices
        h, w = world.sensor_shape
        r0, r1 = max(0, rows.start - PSF_MARGIN_PX), min(h, rows.stop + PSF_MARGIN_PX)
        c0, c1 = max(0, cols.start - PSF_MARGIN_PX), min(w, cols.stop + PSF_MARGIN_PX)
        region = (slice(r0, r1), slice(c0, c1))
        total = None
        for j, (weight, geometry) in enumerate(self.spectral_nodes()):
            padded = world.object_factor(region, geometry.magnification)
            term = blur(padded, self.transfer_function(padded.shape, j, geometry, exposure_s)) * np.float32(weight)
            total = term if total is None else total + term
        return total[rows.start - r0:rows.stop - r0, cols.start - c0:cols.stop - c0]

    def slm_field(self, exposure_s: float, token):
        """exp(i (W + p phi_slm)) on the SLM pixels the pump reaches, once per SLM state (all nodes and ROIs)."""
        if self._slm_field[0] != token:
            world = self.world
            slm = world.slm_phase_for_exposure(exposure_s)
            if slm is None and world.slm_crystal is not None and world.sim.aberration_zernike_rad:
                slm = np.zeros(world.state.slm_shape, np.float32)  # a blank panel: W still averaged per cell
            sampled = None
            if slm is not None:
                centre, radius = world.slm_pupil_truth(slm.shape)
                sampled = slm_pupil_field(slm, world.pass_count, centre, radius,
                                          world.aberration_on_slm_cached(slm.shape))
            self._slm_field = (token, sampled)
        return self._slm_field[1]

    def transfer_function(self, shape: tuple[int, int], node: int = 0, geometry: ImagingGeometry | None = None,
                          exposure_s: float = 0.0):
        """FFT of the kernel K on a grid of ``shape`` camera pixels (one spectral node), for the SLM phase as
        averaged over the exposure starting now; cached while that phase does not change."""
        world = self.world
        geometry = geometry or world.geometry
        token = world.slm_token(exposure_s)
        key = (tuple(shape), node, token)
        if key not in self._transfer:
            psf = self._psfs.get((tuple(shape), node))
            if psf is None:
                psf = self._psfs[(tuple(shape), node)] = CoherentPsf(
                    geometry, shape, zernike_rad=world.sim.aberration_zernike_rad,
                    zernike_radius_um=world.sim.zernike_radius_mm * 1e3)
            sampled = self.slm_field(exposure_s, token)
            factor = None if sampled is None else slm_pupil_phasor(
                *sampled, world.slm_pupil_truth()[0], world.slm_step_um(), psf.rho_x_um, psf.rho_y_um,
                aberration_rad=psf.aberration_rad)
            self._transfer = {k: v for k, v in self._transfer.items() if k[2] == token}
            self._transfer[key] = psf.transfer_function(factor)
        return self._transfer[key]


def _bin(image: np.ndarray, binning: int) -> np.ndarray:
    """Sum b x b blocks (digital binning; expected values and variances add)."""
    if binning == 1:
        return image
    h, w = image.shape
    return image[: h - h % binning, : w - w % binning].reshape(h // binning, binning, w // binning, binning).sum(axis=(1, 3))


def expected_electrons(bench, roi_slices, exposure_s: float) -> np.ndarray:
    """Mean photoelectrons per pixel in one frame (float32), for the current world state (no RIN, no jitter draw)."""
    world = bench.optics.world
    saved = world.state.laser_rin_rms, world.slm_flicker_rad_rms
    try:
        world.state.laser_rin_rms, world.slm_flicker_rad_rms = 0.0, 0.0
        return bench.optics.expected_electrons(roi_slices, exposure_s, rng=np.random.default_rng(0))
    finally:
        world.state.laser_rin_rms, world.slm_flicker_rad_rms = saved

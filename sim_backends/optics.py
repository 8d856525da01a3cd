"""Forward model of the induced-coherence interferometer (DESIGN.md section 4).

Expected photoelectrons per pixel in one frame of exposure tau:

    mu(x) = QE tau R(x) [1 + V Re(exp(i (phi + phi0(x))) T_eff(x))] + D(x) tau
    R(x)  = R0 (P / P_ref) exp(-|x|^2 / (2 sigma_fov^2))          signal rate, linear in pump power
    V     = V0 * 2 sqrt(R1 R2) / (R1 + R2)                           unequal source rates (Lemos 2014)
    phi   = 4 pi d_piezo / lambda_arm + drift(t)                     mirror double pass in one arm
    T_eff = K (*) t   (thin sample)   or   K (*) Gamma(z_ref)   (layered sample)    see pupil.py, depth.py

The object enters only the interference term: the mean intensity does not depend on t (Lemos et al.,
Nature 512, 409 (2014)); the induced-coherence visibility is |t| times the balanced-source value.
The coherent part (everything but the scalar piezo phase and power) is cached until the sample, the
SLM mask or (for layered samples) the delay changes, so a frame costs a few array operations.
"""

from __future__ import annotations

import numpy as np

from sim_backends.pupil import CoherentPsf, blur, slm_pupil_phase

PSF_MARGIN_PX = 32  # object taken around the ROI so the (circular) PSF convolution sees real neighbours


def arm_wavelength_nm(bench) -> float:
    sim = bench.sim
    return {"pump": sim.pump_wavelength_nm, "signal": sim.signal_wavelength_nm,
            "idler": sim.idler_wavelength_nm}[sim.piezo_arm]


def piezo_phase_rad(bench) -> float:
    """Interferometer phase from the piezo mirror: double pass, phi = 4 pi d / lambda_arm."""
    return 4.0 * np.pi * bench.piezo_displacement_um() * 1e3 / arm_wavelength_nm(bench)


def balanced_visibility_factor(rate_ratio: float) -> float:
    """2 sqrt(R1 R2) / (R1 + R2) = 2 sqrt(r) / (1 + r) for r = R2 / R1."""
    return 2.0 * np.sqrt(rate_ratio) / (1.0 + rate_ratio)


class ForwardModel:
    """Renders mu(x) for the world's current state; caches the coherent term per ROI."""

    def __init__(self, world):
        self.world = world
        self._key = None
        self._terms: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._psfs: dict[tuple[int, int], CoherentPsf] = {}
        self._transfer: dict[tuple, np.ndarray] = {}

    def expected_electrons(self, roi_slices, exposure_s: float, *, binning: int = 1,
                           rng: np.random.Generator | None = None) -> np.ndarray:
        """Mean photoelectrons per (binned) pixel in one frame (float32); ``rng`` draws the laser RIN."""
        world, cam = self.world, self.world.camera
        dark = world.dark_current_map_e_per_s[roi_slices] * np.float32(exposure_s)
        power_w = world.pump_power_w()
        if power_w > 0 and world.state.laser_rin_rms > 0:
            power_w *= max(0.0, 1.0 + world.state.laser_rin_rms * float((rng or world.rng).standard_normal()))
        if power_w <= 0:
            return _bin(dark.astype(np.float32), binning)
        scale = cam.quantum_efficiency * exposure_s * world.sim.signal_rate_e_per_px_s * power_w / world.sim.reference_power_w
        envelope, coh_re, coh_im = self._coherent_terms(roi_slices)
        phi = piezo_phase_rad(world) + world.phase_drift_rad()
        mu = envelope * np.float32(scale)
        tmp = np.multiply(coh_re, np.float32(scale * np.cos(phi)))
        mu += tmp
        np.multiply(coh_im, np.float32(-scale * np.sin(phi)), out=tmp)
        mu += tmp
        mu += dark
        return _bin(mu, binning)

    def electron_bounds(self, roi_slices, exposure_s: float, *, binning: int = 1, margin: float = 0.05):
        """(lower, upper) bounds on mu over every piezo phase, drift and RIN draw within ``margin``."""
        world, cam = self.world, self.world.camera
        dark = world.dark_current_map_e_per_s[roi_slices] * np.float32(exposure_s)
        power_w = world.pump_power_w() * (1 + max(margin, 6 * world.state.laser_rin_rms))
        scale = cam.quantum_efficiency * exposure_s * world.sim.signal_rate_e_per_px_s * power_w / world.sim.reference_power_w
        envelope, coh_re, coh_im = self._coherent_terms(roi_slices)
        swing = np.hypot(coh_re, coh_im)
        hi = (envelope + swing) * np.float32(scale) + dark
        lo = (envelope - swing) * np.float32(scale * (1 - margin) / (1 + margin)) + dark
        return _bin(np.maximum(lo, 0), binning), _bin(hi, binning)

    def scene_key(self, roi_slices, exposure_s: float, binning: int) -> tuple:
        """Changes whenever the bounds of electron_bounds() may change."""
        self._coherent_terms(roi_slices)
        return self._key, exposure_s, binning, self.world.pump_power_w()

    # -- the cached coherent term: envelope * V * T_eff * exp(i phi0) -----------------------------
    def _coherent_terms(self, roi_slices):
        world = self.world
        rows, cols = roi_slices
        reflective = world.sample.reflective and world.sample_in_beam()
        key = (rows.start, rows.stop, cols.start, cols.stop, id(world.sample), world.sample_in_beam(), world.slm_token(),
               world.state.delay_um if reflective else None)
        if key != self._key:
            envelope = world.field_envelope[roi_slices]
            t_eff = self.effective_transmission(roi_slices)
            v = world.sim.max_visibility * balanced_visibility_factor(world.sim.source_rate_ratio)
            coherent = (envelope * np.float32(v)) * t_eff * np.exp(1j * world.background_phase_rad[roi_slices])
            self._terms = (envelope, coherent.real.astype(np.float32), coherent.imag.astype(np.float32))
            self._key = key
        return self._terms

    def effective_transmission(self, roi_slices) -> np.ndarray:
        """T_eff = K (*) t on the ROI: the object as the interferometer sees it (complex64)."""
        world = self.world
        if not world.sim.psf:
            return world.transmission_truth(roi_slices)
        rows, cols = roi_slices
        h, w = world.sensor_shape
        r0, r1 = max(0, rows.start - PSF_MARGIN_PX), min(h, rows.stop + PSF_MARGIN_PX)
        c0, c1 = max(0, cols.start - PSF_MARGIN_PX), min(w, cols.stop + PSF_MARGIN_PX)
        padded = world.transmission_truth((slice(r0, r1), slice(c0, c1)))
        t_eff = blur(padded, self.transfer_function(padded.shape))
        return t_eff[rows.start - r0:rows.stop - r0, cols.start - c0:cols.stop - c0]

    def transfer_function(self, shape: tuple[int, int]) -> np.ndarray:
        """FFT of the kernel K for the current SLM mask on a grid of ``shape`` camera pixels."""
        world = self.world
        key = (tuple(shape), world.slm_token())
        if key not in self._transfer:
            psf = self._psfs.get(tuple(shape))
            if psf is None:
                psf = self._psfs[tuple(shape)] = CoherentPsf(
                    world.geometry, shape, zernike_rad=world.sim.aberration_zernike_rad,
                    zernike_radius_um=world.sim.zernike_radius_mm * 1e3)
            slm = world.state.slm_phase_rad
            phase = None if slm is None else slm_pupil_phase(
                slm, world.state.slm_pixel_pitch_um, world.sim.slm_to_pupil_magnification, psf.rho_x_um, psf.rho_y_um)
            self._transfer = {k: v for k, v in self._transfer.items() if k[1] == key[1]}
            self._transfer[key] = psf.transfer_function(phase)
        return self._transfer[key]


def _bin(image: np.ndarray, binning: int) -> np.ndarray:
    """Sum b x b blocks (digital binning; expected values and variances add)."""
    if binning == 1:
        return image
    h, w = image.shape
    return image[: h - h % binning, : w - w % binning].reshape(h // binning, binning, w // binning, binning).sum(axis=(1, 3))


def expected_electrons(bench, roi_slices, exposure_s: float) -> np.ndarray:
    """Mean photoelectrons per pixel in one frame (float32), for the current world state."""
    return bench.optics.expected_electrons(roi_slices, exposure_s)

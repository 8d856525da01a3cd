"""Imaging of the induced-coherence microscope in the momentum configuration: magnification and PSF.

Geometry (Fuenzalida et al., Quantum 6, 646 (2022); Kviatkovsky et al., Sci. Adv. 6, eabd0264 (2020)):
crystal -> lens f_i -> object (idler far field); crystal -> lens f_s -> camera (signal far field). A
transverse momentum q maps to x_o = f_i q / k_i on the object and x_c = f_s q / k_s on the camera, so

    M = x_c / x_o = (f_s * lambda_s) / (f_i * lambda_i).

The pupil is the crystal (near-field) plane, where the pump field e_p(rho) = exp(-rho^2 / w_p^2) lives
and where the idler aberration W and the SLM (imaged onto it) act. A camera frequency nu (cycles/pixel)
sits at rho = nu * f_s * lambda_s / p in that plane. Momentum correlation (q_s + q_i = q_p) makes the
interference term a convolution T_eff = K (*) t with

    K = A * (A^* (*) F^-1[exp(i Phi)]),   A = F^-1[e_p],   Phi = W + phi_slm,      (both in the pupil)

i.e. in the pupil K~ = e_p (*) (e_p^* exp(i Phi)) (derivation in docs/decisions/0010). Without
aberration K = |A|^2: a Gaussian whose sigma in the object plane is sigma_o = f_i lambda_i / (2 pi w_p)
(DESIGN.md section 4), and on the camera M sigma_o = f_s lambda_s / (2 pi w_p). K is normalised so
that sum K = 1 without aberration; with it, sum K = <exp(i Phi)>_{|e_p|^2} < 1 (lower visibility).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft

from sim_backends.zernike import wavefront_rad


@dataclass(frozen=True)
class ImagingGeometry:
    """Lengths of the momentum-configuration imaging system (all in micrometres)."""

    signal_wavelength_um: float
    idler_wavelength_um: float
    signal_focal_length_um: float
    idler_focal_length_um: float
    pump_waist_um: float
    pixel_pitch_um: float

    @property
    def magnification(self) -> float:
        """M = f_s lambda_s / (f_i lambda_i), object -> camera."""
        return (self.signal_focal_length_um * self.signal_wavelength_um) / (
            self.idler_focal_length_um * self.idler_wavelength_um)

    @property
    def object_pixel_um(self) -> float:
        """Size of one camera pixel projected onto the object."""
        return self.pixel_pitch_um / self.magnification

    @property
    def psf_sigma_object_um(self) -> float:
        """sigma_o = f_i lambda_i / (2 pi w_p): RMS width of the (intensity-like) kernel K on the object."""
        return self.idler_focal_length_um * self.idler_wavelength_um / (2 * np.pi * self.pump_waist_um)

    @property
    def psf_sigma_px(self) -> float:
        """The kernel's sigma on the camera in pixels: M sigma_o / p = f_s lambda_s / (2 pi w_p p)."""
        return self.psf_sigma_object_um * self.magnification / self.pixel_pitch_um

    def pupil_um_per_cycle_per_px(self) -> float:
        """rho = nu * f_s lambda_s / p: crystal-plane position of camera spatial frequency nu."""
        return self.signal_focal_length_um * self.signal_wavelength_um / self.pixel_pitch_um


class CoherentPsf:
    """The transfer function K~ on one (h, w) grid of camera pixels, recomputed when Phi changes."""

    def __init__(self, geometry: ImagingGeometry, shape: tuple[int, int], *, zernike_rad: dict[int, float],
                 zernike_radius_um: float):
        self.geometry, self.shape = geometry, tuple(shape)
        scale = geometry.pupil_um_per_cycle_per_px()
        self.rho_y_um = (sfft.fftfreq(shape[0]) * scale)[:, None]
        self.rho_x_um = (sfft.fftfreq(shape[1]) * scale)[None, :]
        self.pump_field = np.exp(-(self.rho_x_um**2 + self.rho_y_um**2) / geometry.pump_waist_um**2)
        self.aberration_rad = wavefront_rad(zernike_rad, self.rho_x_um, self.rho_y_um, zernike_radius_um)
        self._amplitude_kernel = sfft.ifft2(self.pump_field).real  # A, real and even
        self._norm = float(np.sum(self._amplitude_kernel**2))

    def transfer_function(self, slm_phase_rad: np.ndarray | None = None) -> np.ndarray:
        """FFT of the normalised kernel K for the pupil phase W + phi_slm (complex64, shape ``shape``)."""
        phase = self.aberration_rad if slm_phase_rad is None else self.aberration_rad + slm_phase_rad
        if not np.any(phase):
            kernel = self._amplitude_kernel**2
        else:
            g = sfft.ifft2(self.pump_field * np.exp(1j * phase))  # A^* (*) F^-1[exp(i Phi)], A real and even
            kernel = self._amplitude_kernel * g
        return (sfft.fft2(kernel) / self._norm).astype(np.complex64)


def blur(field: np.ndarray, transfer: np.ndarray) -> np.ndarray:
    """Circular convolution of a complex field with the kernel whose FFT is ``transfer``."""
    return sfft.ifft2(sfft.fft2(field) * transfer).astype(np.complex64)


def slm_pupil_phase(slm_phase_rad: np.ndarray, pitch_um: float, magnification: float,
                    rho_x_um: np.ndarray, rho_y_um: np.ndarray) -> np.ndarray:
    """SLM mask sampled at pupil points (nearest SLM pixel; 0 outside the SLM's image)."""
    h, w = slm_phase_rad.shape
    step = pitch_um * magnification
    col = np.rint(rho_x_um / step + (w - 1) / 2).astype(np.int64)
    row = np.rint(rho_y_um / step + (h - 1) / 2).astype(np.int64)
    row, col = np.broadcast_arrays(row, col)
    inside = (row >= 0) & (row < h) & (col >= 0) & (col < w)
    out = np.zeros(row.shape, np.float64)
    out[inside] = slm_phase_rad[row[inside], col[inside]]
    return out


def slm_pixel_coordinates_um(shape: tuple[int, int], pitch_um: float, magnification: float):
    """(x, y) of each SLM pixel's image in the pupil plane, in micrometres (sparse grids)."""
    h, w = shape
    step = pitch_um * magnification
    return (np.arange(w) - (w - 1) / 2)[None, :] * step, (np.arange(h) - (h - 1) / 2)[:, None] * step

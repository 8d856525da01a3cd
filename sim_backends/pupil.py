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

    def transfer_function(self, pupil_phasor: np.ndarray | None = None) -> np.ndarray:
        """FFT of the normalised kernel K for the pupil field exp(i Phi) (complex64, shape ``shape``):
        ``pupil_phasor`` when given (exp(i (W + p phi_slm)) averaged per cell), else exp(i W) at the samples."""
        if pupil_phasor is None and not np.any(self.aberration_rad):
            kernel = self._amplitude_kernel**2
        else:
            pupil = self.pump_field * (np.exp(1j * self.aberration_rad) if pupil_phasor is None else pupil_phasor)
            g = sfft.ifft2(pupil)  # A^* (*) F^-1[exp(i Phi)], A real and even
            kernel = self._amplitude_kernel * g
        return (sfft.fft2(kernel) / self._norm).astype(np.complex64)


def blur(field: np.ndarray, transfer: np.ndarray) -> np.ndarray:
    """Circular convolution of a complex field with the kernel whose FFT is ``transfer``."""
    return sfft.ifft2(sfft.fft2(field) * transfer).astype(np.complex64)


def _cell_overlap(centres_px: np.ndarray, cell_px: float, n: int):
    """Sparse (len(centres), n) matrix: the fraction of each cell [c - d/2, c + d/2] that SLM pixel k
    ([k - 1/2, k + 1/2]) covers, along one axis; rows sum to the fraction of the cell on the SLM."""
    from scipy.sparse import csr_matrix

    centres_px = np.ravel(centres_px)
    lo, hi = centres_px - cell_px / 2, centres_px + cell_px / 2
    first = np.floor(lo + 0.5).astype(np.int64)
    span = int(np.ceil(cell_px)) + 2
    k = first[:, None] + np.arange(span)[None, :]
    overlap = np.minimum(hi[:, None], k + 0.5) - np.maximum(lo[:, None], k - 0.5)
    keep = (overlap > 0) & (k >= 0) & (k < n)
    rows = np.broadcast_to(np.arange(len(centres_px))[:, None], k.shape)[keep]
    return csr_matrix((overlap[keep] / cell_px, (rows, k[keep])), shape=(len(centres_px), n))


PUMP_REACH_RADII = 3.5  # SLM pixels beyond 3.5 pump radii carry < 2e-11 of the pump intensity: not sampled


def slm_pupil_field(slm_phase_rad: np.ndarray, passes: int, centre_px: tuple[float, float], radius_px: float,
                    aberration_on_slm_rad: np.ndarray | None = None):
    """(exp(i (W + p phi_slm)) on the SLM pixels the pump reaches (complex64), (row, col) of its first pixel)."""
    h, w = slm_phase_rad.shape
    reach = PUMP_REACH_RADII * radius_px
    r0, r1 = max(0, int(np.floor(centre_px[0] - reach))), min(h, int(np.ceil(centre_px[0] + reach)) + 1)
    c0, c1 = max(0, int(np.floor(centre_px[1] - reach))), min(w, int(np.ceil(centre_px[1] + reach)) + 1)
    total = np.asarray(slm_phase_rad[r0:r1, c0:c1], np.float32) * np.float32(passes)
    if aberration_on_slm_rad is not None:
        total = total + aberration_on_slm_rad[r0:r1, c0:c1].astype(np.float32)
    field = np.empty(total.shape, np.complex64)
    field.real, field.imag = np.cos(total), np.sin(total)
    return field, (r0, c0)


def slm_pupil_phasor(field: np.ndarray, origin_px: tuple[int, int], centre_px: tuple[float, float], step_um: float,
                     rho_x_um: np.ndarray, rho_y_um: np.ndarray, aberration_rad: np.ndarray | None = None):
    """The SLM field of :func:`slm_pupil_field` averaged over each pupil sample's cell (complex128).

    SLM pixel (row, col) images to rho = ((col - c_col), (row - c_row)) * step_um in the pupil, where
    (c_row, c_col) is where the pump beam's axis hits the SLM. Averaging the field exp(i (W + p phi)) over
    the cell (rather than taking the nearest pixel) keeps the pupil integral exact to first order when a
    pupil sample spans several SLM pixels, cancels W cell by cell under a conjugate mask, and makes the result
    a smooth function of where a mask edge sits. Beyond the sampled pixels: exp(i W) at the cell centre.
    """
    h, w = field.shape
    ry, rx = np.ravel(rho_y_um), np.ravel(rho_x_um)
    cell_y = abs(float(ry[1] - ry[0])) / step_um if ry.size > 1 else 1.0
    cell_x = abs(float(rx[1] - rx[0])) / step_um if rx.size > 1 else 1.0
    row_w = _cell_overlap(ry / step_um + centre_px[0] - origin_px[0], cell_y, h)
    col_w = _cell_overlap(rx / step_um + centre_px[1] - origin_px[1], cell_x, w)
    averaged = (col_w @ (row_w @ field).T).T  # (rows, cols) of the pupil grid
    on_slm = np.asarray(row_w.sum(axis=1)) * np.asarray(col_w.sum(axis=1)).T  # fraction of each cell sampled
    outside = 1.0 if aberration_rad is None else np.exp(1j * aberration_rad)
    return averaged + (1.0 - on_slm) * outside


def slm_pixel_coordinates_um(shape: tuple[int, int], centre_px: tuple[float, float], step_um: float):
    """(x, y) of each SLM pixel's image in the pupil plane, in micrometres from the pump axis (sparse grids)."""
    h, w = shape
    return (np.arange(w) - centre_px[1])[None, :] * step_um, (np.arange(h) - centre_px[0])[:, None] * step_um

"""The SPDC spectrum the camera sees: SPDC idler spectrum times an optional filter on the signal.

Work in wavenumbers nu = 1/lambda (1/nm). The SPDC idler spectrum is a Gaussian in nu (centre 1/lambda_i,
FWHM dlambda_i / lambda_i^2); with a CW pump nu_s = nu_p - nu_i, so a Gaussian band-pass filter on the
signal (centre lambda_f, FWHM dlambda_f) is a Gaussian in nu_i too (centre nu_p - 1/lambda_f, FWHM
dlambda_f / lambda_f^2). Their product is Gaussian with 1/s^2 = 1/s_1^2 + 1/s_2^2 and the weighted centre;
the filter passes the fraction s / s_1 exp(-(m_1 - m_2)^2 / (2 (s_1^2 + s_2^2))) of the pairs.

This one spectrum sets both the axial envelope (its Fourier transform: a Gaussian of FWHM
(4 ln2 / pi) / dnu in optical path, i.e. (4 ln2 / pi) lambda^2 / dlambda) and the spread of the
magnification M = f_s lambda_s / (f_i lambda_i) (imaging is averaged over Gauss-Hermite nodes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


@dataclass(frozen=True)
class Spectrum:
    """Gaussian idler wavenumber distribution (1/nm) and the pump wavenumber that fixes the signal."""

    pump_nu: float
    idler_nu: float  # centre
    idler_sigma_nu: float  # RMS width
    transmitted_fraction: float = 1.0  # pairs that pass the signal filter

    @property
    def idler_nm(self) -> float:
        return 1.0 / self.idler_nu

    @property
    def signal_nm(self) -> float:
        return 1.0 / (self.pump_nu - self.idler_nu)

    @property
    def idler_fwhm_nm(self) -> float:
        """Equivalent FWHM in wavelength at the centre: dlambda = lambda^2 dnu."""
        return FWHM_PER_SIGMA * self.idler_sigma_nu / self.idler_nu**2

    def path_coherence_fwhm_um(self) -> float:
        """FWHM of |g| versus optical path difference: (4 ln2 / pi) / dnu (Gaussian spectrum)."""
        return 4.0 * np.log(2.0) / np.pi / (FWHM_PER_SIGMA * self.idler_sigma_nu) * 1e-3

    def nodes(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(idler wavenumbers, weights summing to 1): Gauss-Hermite quadrature of the spectrum (n = 1: centre)."""
        if n <= 1:
            return np.array([self.idler_nu]), np.array([1.0])
        x, w = np.polynomial.hermite_e.hermegauss(n)  # weight exp(-x^2 / 2)
        return self.idler_nu + self.idler_sigma_nu * x, w / w.sum()

    def relative_magnification_sigma(self) -> float:
        """RMS of M / M0 to first order: M ~ nu_i / nu_s, dM/M = dnu (1/nu_i + 1/nu_s)."""
        nu_s = self.pump_nu - self.idler_nu
        return self.idler_sigma_nu * (1.0 / self.idler_nu + 1.0 / nu_s)


def spectrum_from_config(sim) -> Spectrum:
    """The effective spectrum of a :class:`~sim_backends.settings.SimulationConfig`."""
    pump_nu = 1.0 / sim.pump_wavelength_nm
    nu_i = 1.0 / sim.idler_wavelength_nm
    sigma = sim.idler_bandwidth_nm * nu_i**2 / FWHM_PER_SIGMA
    if sim.signal_filter_nm is None:
        return Spectrum(pump_nu, nu_i, sigma)
    f_nu = pump_nu - 1.0 / sim.signal_filter_nm
    f_sigma = sim.signal_filter_bandwidth_nm / sim.signal_filter_nm**2 / FWHM_PER_SIGMA
    var = 1.0 / (1.0 / sigma**2 + 1.0 / f_sigma**2)
    centre = var * (nu_i / sigma**2 + f_nu / f_sigma**2)
    passed = np.sqrt(var) / sigma * np.exp(-((nu_i - f_nu) ** 2) / (2 * (sigma**2 + f_sigma**2)))
    return Spectrum(pump_nu, centre, float(np.sqrt(var)), float(passed))

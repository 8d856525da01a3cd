"""Zero path difference from a coherence scan: fit the fringe-visibility envelope versus delay.

The simulator and a Gaussian SPDC spectrum give the envelope g(dz) = exp(-4 ln2 dz^2 / FWHM^2)
(decision 0010; FWHM = L_c / p in stage coordinates, 21.2 um for the default double-pass bench).
Measured visibility is a fringe amplitude |F| over the mean, and noise adds to F in quadrature
(E|F + n|^2 = |F|^2 + sigma^2), so the RMS visibility of a region (:func:`roi_visibility`) has its
floor c in quadrature:

    V(z) = sqrt((A g(z - z0))^2 + c^2),   g(dz) = exp(-4 ln2 dz^2 / w^2),

fitted by least squares; z0 is the zero-path-difference (ZPD) position, A the peak visibility with
the noise floor removed, w the envelope FWHM (within 0.2 % of L_c / p on the simulated bench; a plain
ROI mean of |F| / a with an additive floor was off by 2-6 %). Uncertainties are 1 sigma from the
covariance scaled by the residual scatter (the points' own noise is not known a priori). Pure
numpy/scipy, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.pipeline.demodulate import fringe_coefficients
from app.pipeline.depth import FWHM_TO_LOG_CURVATURE  # 4 ln 2: the one Gaussian-envelope convention

MIN_POINTS = 5  # four parameters and at least one degree of freedom
MIN_SIGNIFICANCE = 3.0  # the envelope's height must exceed this many of its standard deviations
MIN_RISE_OVER_RESIDUAL = 5.0  # and its rise above the floor this many residual RMS (a noise bump is ~2-3)


class CoherenceFitError(ValueError):
    """No trustworthy ZPD in the data; the message says why and what to change."""


class PeakAtEdgeError(CoherenceFitError):
    """The envelope's maximum is not inside the scanned range: widen the span or recentre the scan."""


@dataclass(frozen=True)
class CoherenceFit:
    zpd_um: float
    sigma_zpd_um: float
    peak_visibility: float  # A: visibility at the ZPD, noise floor removed
    sigma_peak_visibility: float
    fwhm_um: float  # envelope FWHM in delay-stage coordinates
    sigma_fwhm_um: float
    floor: float  # c, added in quadrature
    residual_rms: float
    n_points: int

    def model(self, delays_um) -> np.ndarray:
        """The fitted envelope at ``delays_um`` (for plotting)."""
        return envelope(np.asarray(delays_um, float), self.zpd_um, self.peak_visibility, self.fwhm_um, self.floor)


def roi_visibility(step_means: np.ndarray, step_phases_rad) -> float:
    """sqrt(sum |F|^2 / sum a^2) over the ROI: the visibility the envelope fit models exactly.

    Per pixel the fringe amplitude is F = A V g + noise and E|F|^2 = (A V g)^2 + sigma^2, so the sum
    is (V_rms g)^2 + c^2: the envelope with a floor in quadrature, whatever mixture of bright and dim,
    high- and low-visibility pixels the ROI holds (a plain mean of |F| / a is not of that form)."""
    a, b, c = fringe_coefficients(step_means, np.asarray(step_phases_rad, float))
    power = float(np.sum(a * a))
    return float(np.sqrt(np.sum(b * b + c * c) / power)) if power > 0 else float("nan")


def envelope(delays_um: np.ndarray, zpd_um: float, amplitude: float, fwhm_um: float, floor: float) -> np.ndarray:
    """sqrt((A exp(-4 ln2 (z - z0)^2 / w^2))^2 + c^2)."""
    return np.hypot(amplitude * np.exp(-FWHM_TO_LOG_CURVATURE * (delays_um - zpd_um) ** 2 / fwhm_um**2), floor)


def fit_coherence_envelope(delays_um, visibility, *, fwhm_guess_um: float | None = None) -> CoherenceFit:
    """Fit the Gaussian envelope with its quadrature floor to visibility(delay); CoherenceFitError when no ZPD can be trusted.

    Refused: fewer than :data:`MIN_POINTS` finite points, a peak whose fitted centre is outside the
    scanned range or within one step of its end while the largest visibility is the end point
    (:class:`PeakAtEdgeError`), and an envelope not significantly above the floor (its height under
    3 sigma, or its rise under 5 residual RMS: noise alone fits bumps of 2-3).
    """
    from scipy.optimize import curve_fit

    z = np.asarray(delays_um, float).ravel()
    v = np.asarray(visibility, float).ravel()
    if z.shape != v.shape:
        raise CoherenceFitError(f"{z.size} delays for {v.size} visibilities")
    ok = np.isfinite(z) & np.isfinite(v)
    z, v = z[ok], v[ok]
    order = np.argsort(z)
    z, v = z[order], v[order]
    if z.size < MIN_POINTS:
        raise CoherenceFitError(f"need at least {MIN_POINTS} scan points with a visibility, got {z.size}")
    span = z[-1] - z[0]
    steps = np.diff(z)
    if span <= 0 or np.any(steps <= 0):
        raise CoherenceFitError("the scan's delays must all differ")
    step = float(np.median(steps))
    j = int(np.argmax(v))
    floor0 = max(float(np.percentile(v, 10)), 1e-6)
    amp0 = max(float(v[j]) - floor0, 1e-6)
    if fwhm_guess_um is None:  # area under a Gaussian = 1.0645 A FWHM
        fwhm_guess_um = float(np.sum(np.clip(v - floor0, 0, None)[:-1] * steps)) / (1.0645 * amp0)
    w0 = float(np.clip(fwhm_guess_um, 2 * step, 4 * span))
    lower = (z[0] - span, 0.0, step, 0.0)
    upper = (z[-1] + span, np.inf, 10 * span, np.inf)
    start = (float(z[j]), amp0, w0, floor0)
    try:
        popt, pcov = curve_fit(envelope, z, v, p0=start, bounds=(lower, upper), max_nfev=2000)
    except (RuntimeError, ValueError) as exc:
        raise CoherenceFitError(f"the envelope fit did not converge ({exc})") from None
    z0, amp, w, floor = map(float, popt)
    sig = np.sqrt(np.clip(np.diag(pcov), 0, None)) if np.all(np.isfinite(pcov)) else np.full(4, np.inf)
    residual = v - envelope(z, *popt)
    edge_low, edge_high = z[0] + step, z[-1] - step
    if not (z[0] <= z0 <= z[-1]) or (j == 0 and z0 < edge_low) or (j == z.size - 1 and z0 > edge_high):
        raise PeakAtEdgeError(f"peak at scan edge: the envelope's maximum ({z0:.2f} um) is not inside the scanned "
                              f"{z[0]:.2f} ... {z[-1]:.2f} um; widen the span or recentre the scan")
    rise, rms = float(np.hypot(amp, floor) - floor), float(np.sqrt(np.mean(residual**2)))
    if not (amp > MIN_SIGNIFICANCE * sig[1] and rise > MIN_RISE_OVER_RESIDUAL * rms):
        raise CoherenceFitError(f"no coherence peak: the envelope rises {rise:.3g} (height {amp:.3g} +- {sig[1]:.2g}) "
                                f"above the floor {floor:.3g} with {rms:.2g} RMS scatter; widen the span or check "
                                "the alignment")
    return CoherenceFit(zpd_um=z0, sigma_zpd_um=float(sig[0]), peak_visibility=amp, sigma_peak_visibility=float(sig[1]),
                        fwhm_um=w, sigma_fwhm_um=float(sig[2]), floor=floor,
                        residual_rms=rms, n_points=int(z.size))

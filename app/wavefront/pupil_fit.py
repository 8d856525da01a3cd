"""Where the pump beam sits on the SLM, from a pi half-plane step scanned across it.

With the phase of every SLM pixel beyond the step's edge shifted by pi, the idler field there changes
sign, and the fringe visibility becomes V(s) = V0 |1 - 2 F(s)|, where F(s) is the fraction of the beam's
power beyond the edge at position s (a step other than pi, e.g. through an uncalibrated LUT, gives
V0 |1 - F + F exp(i step)| with the same dip centre). For a beam of intensity ~ exp(-2 r^2 / w^2), F is a normal CDF
with standard deviation w / 2 and V(s) = V0 |erf(sqrt(2) (s - c) / w)|; a uniform disc of radius R has
V(s) = V0 (2 / pi) |u sqrt(1 - u^2) + arcsin u| with u = (s - c) / R (clipped to |u| <= 1). The dip
is deepest (V = 0) where the edge bisects the beam. Both models are fitted to the scan in x and in y;
the one with the smaller residual gives the centre and the radius (``profile`` says which).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class PupilFitError(ValueError):
    """The scan does not show a dip that the model can fit; the message says why."""


@dataclass(frozen=True)
class EdgeScanFit:
    centre_px: float
    radius_px: float  # 1/e^2 intensity radius (Gaussian beam) or edge radius (uniform disc)
    v0: float
    residual_rms: float
    profile: str  # "gaussian" | "disc"
    step_rad: float = np.pi  # the interference phase step the scan delivered (fitted)


def _gaussian_fraction(s, c, w):
    """Fraction of a Gaussian beam's power (intensity ~ exp(-2 r^2 / w^2)) beyond an edge at s."""
    from scipy.special import erf

    return 0.5 * (1.0 - erf(np.sqrt(2.0) * (s - c) / w))


def _disc_fraction(s, c, r):
    """Fraction of a uniform disc's power beyond an edge at s."""
    u = np.clip((s - c) / r, -1.0, 1.0)
    return 0.5 - (u * np.sqrt(1.0 - u * u) + np.arcsin(u)) / np.pi


PROFILES = {"gaussian": _gaussian_fraction, "disc": _disc_fraction}


def edge_visibility(s, c, radius, step_rad, fraction) -> np.ndarray:
    """V / V0 = |1 - F + F exp(i step)| for a fraction F of the beam shifted by ``step_rad`` (pi: |1 - 2F|)."""
    f = fraction(s, c, radius)
    return np.abs(1.0 - f + f * np.exp(1j * step_rad))


def fit_edge_scan(positions_px: np.ndarray, visibility: np.ndarray, profile: str = "auto") -> EdgeScanFit:
    """Fit V0 |1 - F + F exp(i step)| to a half-plane scan along one axis, F the beam's power beyond the edge.

    The step is fitted too (between pi/2 and 3 pi/2): the dip is deepest where the edge bisects the beam
    whatever the step, so an SLM whose LUT is not calibrated yet still registers the pupil.
    ``profile``: "gaussian", "disc" or "auto" (both, the better fit wins).
    """
    from scipy.optimize import least_squares

    s = np.asarray(positions_px, np.float64)
    v = np.asarray(visibility, np.float64)
    if s.size < 5 or s.shape != v.shape:
        raise PupilFitError(f"need at least 5 scan positions with one visibility each (got {s.size})")
    k = int(np.argmin(v))
    if k in (0, s.size - 1):
        raise PupilFitError("the visibility dip lies at the end of the scan: scan further across the SLM")
    if profile not in ("auto", *PROFILES):
        raise ValueError(f"profile must be auto, gaussian or disc (got {profile!r})")
    v0_guess = float(np.max(v))
    above = np.abs(v - v0_guess * 0.84) < 0.2 * v0_guess
    spread = float(np.median(np.abs(s[above] - s[k]))) if above.any() else float(np.ptp(s)) / 4
    step_guess = 2.0 * np.arccos(np.clip(v[k] / v0_guess, 0.0, 0.99))  # V_min / V0 = |cos(step / 2)|
    guess = np.array([v0_guess, s[k], max(spread, 1e-3) * 2.0, np.clip(step_guess, np.pi / 2, 3 * np.pi / 2)])
    fits = []
    for name in (PROFILES if profile == "auto" else (profile,)):
        fraction = PROFILES[name]
        fit = least_squares(lambda p, fraction=fraction: p[0] * edge_visibility(s, p[1], p[2], p[3], fraction) - v,
                            guess, bounds=([0.0, s.min(), 1e-3, np.pi / 2], [np.inf, s.max(), 10 * np.ptp(s), 1.5 * np.pi]))
        v0, c, w, step = fit.x
        fits.append(EdgeScanFit(float(c), float(w), float(v0), float(np.sqrt(np.mean(fit.fun ** 2))), name,
                                float(step)))
    return min(fits, key=lambda f: f.residual_rms)


def edge_scan_masks(shape: tuple[int, int], axis: str, positions_px) -> list[np.ndarray]:
    """The SLM phase masks of a scan: 0 before the edge, pi from it on (axis 'x': columns, 'y': rows)."""
    if axis not in ("x", "y"):
        raise ValueError("axis must be 'x' or 'y'")
    coordinate = np.arange(shape[1])[None, :] if axis == "x" else np.arange(shape[0])[:, None]
    return [np.broadcast_to(np.where(coordinate >= p, np.pi, 0.0), shape).astype(np.float32) for p in positions_px]

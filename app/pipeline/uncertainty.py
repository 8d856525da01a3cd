"""Per-pixel uncertainties from photoelectron counts, read noise and visibility (DESIGN.md section 5).

For N_e photoelectrons per pixel summed over all n_frames frames of a phase-stepped run (gain times
the dark-subtracted ADU sum), read-noise variance R = n_frames * sigma_r^2 (e-^2) and visibility V:
    sigma_phase^2      = 2 (N_e + R) / (N_e V)^2            (shot-noise limit 2 / (N_e V^2))
    sigma_visibility^2 = (2 + V^2) (N_e + R) / N_e^2 - 2 V^2 / N_e   (-> (2 - V^2) / N_e, shot noise only)
from linearising V = 2 |Z| / M and phase = arg Z (Z = C - i S) with Poisson + Gaussian sample noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SigmaMaps:
    """One run's 1-sigma uncertainties and the photoelectron count they come from."""

    sigma_phase_rad: np.ndarray
    sigma_visibility: np.ndarray
    photoelectrons: np.ndarray  # N_e over all frames of the run


def sigma_maps(mean_adu: np.ndarray, visibility: np.ndarray, n_frames: int, *, gain_e_per_adu: float,
               read_noise_e: float | np.ndarray) -> SigmaMaps:
    """sigma_phase_rad and sigma_visibility of one run from its mean (ADU/frame above dark) and V.

    ``n_frames`` is the total over all steps; ``read_noise_e`` a scalar or a per-pixel map.
    Pixels without signal or fringe get +inf.
    """
    if gain_e_per_adu <= 0:
        raise ValueError(f"gain must be positive, got {gain_e_per_adu} e-/ADU")
    n_e = gain_e_per_adu * np.asarray(mean_adu, np.float64) * n_frames
    read_var = n_frames * np.square(np.asarray(read_noise_e, np.float64))
    v = np.asarray(visibility, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):  # in place where possible: maps can be 2048^2
        total = n_e + read_var  # N_e + R
        var_phase = np.multiply(2.0, total)
        denominator = n_e * v
        np.square(denominator, out=denominator)
        var_phase /= denominator
        del denominator
        v2 = v**2
        var_vis = np.add(2.0, v2)
        var_vis *= total
        del total
        var_vis /= n_e**2
        np.multiply(2.0, v2, out=v2)
        v2 /= n_e
        var_vis -= v2
        del v2
    ok = n_e > 0
    sigma_phase = np.sqrt(np.abs(var_phase, out=var_phase), out=var_phase)
    sigma_phase[~(ok & (v > 0))] = np.inf
    sigma_vis = np.sqrt(np.abs(var_vis, out=var_vis), out=var_vis)
    sigma_vis[~ok] = np.inf
    return SigmaMaps(sigma_phase_rad=sigma_phase, sigma_visibility=sigma_vis, photoelectrons=n_e)


def object_sigmas(sample: SigmaMaps, reference: SigmaMaps, sample_visibility: np.ndarray,
                  reference_visibility: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sigma_phase_rad, sigma_amplitude) of phase - phase_ref and |t| = V / V_ref (independent runs)."""
    sigma_phase = np.hypot(sample.sigma_phase_rad, reference.sigma_phase_rad)
    with np.errstate(divide="ignore", invalid="ignore"):
        amplitude = sample_visibility / reference_visibility
        sigma_amplitude = np.hypot(sample.sigma_visibility / reference_visibility,
                       amplitude * reference.sigma_visibility / reference_visibility)
    return sigma_phase, np.where(np.isfinite(sigma_amplitude), sigma_amplitude, np.inf)

"""SLM lookup table from a phase-versus-gray measurement made through the interferometer itself.

The LUT-calibration sequence shows uniform gray levels g (interleaved with a reference level to cancel
drift) and measures the interference phase shift each one causes, at the idler wavelength the camera
never sees. Here: unwrap along g, detect the sign (the SLM may shift the phase either way), fit a smooth
monotone response phi(g), find the gray level where it reaches 2 pi, and invert it into the LUT that the
SLM drivers load: entry k is the gray level that delivers phase 2 pi k / levels, kept fractional (to 1e-3
gray) so that the drivers' dithering (decision 0052) delivers phases between whole gray levels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drivers.slm_lut import lut_sha256

TWO_PI = 2.0 * np.pi


class LutFitError(ValueError):
    """The measurement cannot give a LUT (too few points, no 2 pi of range); the message says why."""


@dataclass(frozen=True)
class LutFit:
    gray_levels: np.ndarray  # 0..max_gray
    response_rad: np.ndarray  # fitted phase at each gray level, relative to gray 0, sign-corrected
    sign: int  # +1: the measured phase grows with gray; -1: it falls (corrected in response_rad)
    gray_at_2pi: float  # where the response reaches 2 pi (interpolated)
    lut: np.ndarray  # float64 gray level (fractional, 1e-3 steps) for phase 2 pi k / len(lut)
    residual_rms_rad: float  # of the measurement about the fit

    def lut_sha256(self) -> str:
        return lut_sha256(self.lut)


def fit_lut(gray: np.ndarray, phase_rad: np.ndarray, *, max_gray: int = 255, levels: int = 256,
            passes: int = 1) -> LutFit:
    """Fit measured (gray, phase) pairs; repeated gray levels are averaged (as complex phasors).

    ``phase_rad`` is the measured (wrapped) interference phase, which is ``passes`` times the SLM's phase
    (2 for a double pass): it is unwrapped first, then divided, so the response and the LUT are the SLM's.
    """
    gray = np.asarray(gray, np.float64)
    phase_rad = np.asarray(phase_rad, np.float64)
    if gray.shape != phase_rad.shape or gray.size < 8:
        raise LutFitError(f"need at least 8 (gray, phase) pairs of equal length (got {gray.size}, {phase_rad.size})")
    unique = np.unique(gray)
    mean_phase = np.array([np.angle(np.mean(np.exp(1j * phase_rad[gray == g]))) for g in unique])
    unwrapped = np.unwrap(mean_phase) / passes
    unwrapped -= np.interp(0.0, unique, unwrapped)  # relative to gray 0
    sign = 1 if unwrapped[-1] >= unwrapped[0] else -1
    unwrapped *= sign
    grid = np.arange(max_gray + 1, dtype=np.float64)
    response = _smooth_monotone(unique, unwrapped, grid)
    response -= response[0]
    if response[-1] < TWO_PI:
        raise LutFitError(f"the SLM reaches only {response[-1]:.2f} rad at gray {max_gray}: no LUT can span 2 pi "
                          f"(is the idler wavelength right, or the sign measurement lost?)")
    gray_at_2pi = float(np.interp(TWO_PI, response, grid))
    targets = TWO_PI * np.arange(levels) / levels
    lut = np.round(np.interp(targets, response, grid), 3)
    fitted = np.interp(unique, grid, response)
    residual = float(np.sqrt(np.mean((unwrapped - fitted) ** 2)))
    return LutFit(grid.astype(np.int64), response, sign, gray_at_2pi, lut, residual)


def _smooth_monotone(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """A smoothing spline (smoothing chosen by generalised cross-validation), made non-decreasing."""
    from scipy.interpolate import make_smoothing_spline

    if x.size >= 5:
        curve = make_smoothing_spline(x, y)(grid)
    else:
        curve = np.interp(grid, x, y)
    return np.maximum.accumulate(curve)


def write_lut_file(path: str | Path, fit: LutFit, *, wavelength_nm: float, source: str = "") -> Path:
    """Write the LUT in the format ``drivers/slm_lut.load_lut`` reads: one gray level per line."""
    path = Path(path)
    header = [f"# qiup SLM LUT: entry k delivers phase 2 pi k / {len(fit.lut)} at {wavelength_nm:g} nm",
              f"# 2 pi at gray {fit.gray_at_2pi:.2f}; sign {fit.sign:+d}; fit residual {fit.residual_rms_rad:.4f} rad RMS",
              f"# sha256 {fit.lut_sha256()}"]
    if source:
        header.append(f"# measured by {source}")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(header + [f"{float(g):.3f}" for g in fit.lut]) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path

"""The physics of a real phase SLM, for the simulated one: what phase the liquid crystal delivers.

* Response: the true phase per gray level is nonlinear (S-shaped) and reaches 2 pi near a gray level
  that depends on the wavelength (about 212 of 255 at the idler wavelength by default); 8 or 10 bit.
* Crosstalk: the fringing field between pixels smooths the retardance, a Gaussian of ~0.7 px.
* Flicker: the drive scheme makes the phase fluctuate in time, ~0.02 rad RMS, common to the panel.
* Response time: after a new image the liquid crystal relaxes towards it with time constant tau
  (~20 ms), so a frame exposed too early sees a mixture of the old and the new mask.
The driver side (LUT, wrapping, quantisation) stays in the SLM contract; this module starts from gray.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TWO_PI = 2.0 * np.pi


@dataclass(frozen=True)
class SlmResponse:
    """Phase delivered per gray level: 2 pi * S(g / g_max) / S(g_2pi / g_max) with an S-shaped S."""

    bits: int = 8
    gray_at_2pi: float = 212.0  # in the units of an 8-bit panel; scaled for 10 bit
    s_curve: float = 0.35  # 0: linear; the S-shape's strength (must keep the response monotone)

    def __post_init__(self):
        if self.bits not in (8, 10):
            raise ValueError(f"bits must be 8 or 10 (got {self.bits})")
        if not 0.0 <= self.s_curve < 0.6:
            raise ValueError(f"s_curve must lie in [0, 0.6) to keep the response monotone (got {self.s_curve})")

    @property
    def levels(self) -> int:
        return 2 ** self.bits

    def _shape(self, u: np.ndarray) -> np.ndarray:
        return u + self.s_curve * np.sin(np.pi * u) ** 2 * (u - 0.5)

    def phase_of_gray(self, gray: np.ndarray) -> np.ndarray:
        """True phase (rad, not wrapped) for gray levels of this panel's bit depth."""
        g_max = float(self.levels - 1)
        u = np.asarray(gray, np.float64) / g_max
        u_2pi = self.gray_at_2pi * (self.levels / 256.0) / g_max
        return (TWO_PI * self._shape(u) / self._shape(np.float64(u_2pi))).astype(np.float32)


def fringing(phase_rad: np.ndarray, sigma_px: float) -> np.ndarray:
    """Pixel crosstalk: the retardance smoothed by a Gaussian of ``sigma_px`` (0: none)."""
    if sigma_px <= 0:
        return phase_rad
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(np.asarray(phase_rad, np.float32), sigma_px, mode="nearest")


class LiquidCrystal:
    """Relaxation of the delivered phase towards the newest image: exponential with ``response_time_s``."""

    def __init__(self, shape: tuple[int, int], response_time_s: float = 0.02):
        self.response_time_s = float(response_time_s)
        self._old = np.zeros(shape, np.float32)
        self._new = np.zeros(shape, np.float32)
        self._t_show = -np.inf
        self.version = 0

    def show(self, phase_rad: np.ndarray, t_s: float) -> None:
        """A new image at time ``t_s``; whatever was reached by then is the starting point."""
        self._old = self.phase_at(t_s)
        self._new = np.asarray(phase_rad, np.float32)
        self._t_show = float(t_s)
        self.version += 1

    def weight_new(self, t_s: float) -> float:
        """How far the crystal has gone from the old towards the new image at ``t_s`` (0..1)."""
        if self.response_time_s <= 0 or t_s - self._t_show >= 20 * self.response_time_s:
            return 1.0
        return float(1.0 - np.exp(-max(t_s - self._t_show, 0.0) / self.response_time_s))

    def mean_weight_new(self, t0_s: float, t1_s: float) -> float:
        """``weight_new`` averaged over an exposure [t0, t1] (closed form of the exponential)."""
        tau = self.response_time_s
        if tau <= 0 or t0_s - self._t_show >= 20 * tau:
            return 1.0
        if t1_s <= t0_s:
            return self.weight_new(t0_s)
        a, b = max(t0_s - self._t_show, 0.0), max(t1_s - self._t_show, 0.0)
        return float(1.0 - tau * (np.exp(-a / tau) - np.exp(-b / tau)) / (t1_s - t0_s))

    def phase_at(self, t_s: float) -> np.ndarray:
        return self.phase_with_weight(self.weight_new(t_s))

    def phase_with_weight(self, weight_new: float) -> np.ndarray:
        """old + w (new - old): the phase at a time of weight w, or averaged over an exposure of mean weight w."""
        if weight_new >= 1.0:
            return self._new
        return (self._old + np.float32(weight_new) * (self._new - self._old)).astype(np.float32)

    def settled(self, t_s: float, tolerance_rad: float = 0.01) -> bool:
        """True when the largest remaining phase error is below ``tolerance_rad``."""
        w = self.weight_new(t_s)
        return w >= 1.0 or float(np.max(np.abs(self._new - self._old))) * (1.0 - w) < tolerance_rad


def ideal_lut(response: SlmResponse, levels: int | None = None, *, fractional: bool = False) -> np.ndarray:
    """The LUT a perfect calibration would give: phase level k of ``levels`` -> the gray level whose true phase
    is closest to 2 pi k / levels (the inverse of the monotone response; ground truth for tests);
    ``fractional``: the exact inverse, gray levels as float64 (what a calibration knows before rounding)."""
    levels = response.levels if levels is None else int(levels)
    gray = np.arange(response.levels)
    phase = response.phase_of_gray(gray).astype(np.float64)
    target = TWO_PI * np.arange(levels) / levels
    if fractional:
        return np.interp(target, phase, gray.astype(np.float64))
    index = np.clip(np.searchsorted(phase, target), 1, response.levels - 1)
    nearer_below = (target - phase[index - 1]) <= (phase[index] - target)
    chosen = np.where(nearer_below, index - 1, index)
    return chosen.astype(np.uint8 if response.levels <= 256 else np.uint16)


def flicker_rad(rng: np.random.Generator, rms_rad: float) -> float:
    """This exposure's common phase fluctuation of the panel."""
    return float(rng.normal(0.0, rms_rad)) if rms_rad > 0 else 0.0

"""Pixel masks and phase unwrapping: hot pixels from a dark run, unwrapping inside a validity mask."""

from __future__ import annotations

import numpy as np
from skimage.restoration import unwrap_phase


def hot_pixel_mask(dark_mean_adu: np.ndarray, *, n_sigma: float = 8.0, min_excess_adu: float = 2.0) -> np.ndarray:
    """Pixels whose dark mean exceeds the median by more than n_sigma robust sigmas (MAD) and min_excess_adu."""
    dark = np.asarray(dark_mean_adu, dtype=np.float64)
    median = float(np.median(dark))
    robust_sigma = 1.4826 * float(np.median(np.abs(dark - median)))
    return dark > median + max(n_sigma * robust_sigma, min_excess_adu)


def unwrap_in_mask(phase_rad: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Unwrapped phase (scikit-image, reliability-guided) inside ``mask``; 0 outside it.

    Inside the mask it differs from ``phase_rad`` by whole multiples of 2 pi.
    """
    if not mask.any():
        return np.zeros(phase_rad.shape, dtype=np.float64)
    wrapped = np.ma.masked_array(np.asarray(phase_rad, np.float64), mask=~mask)
    unwrapped = unwrap_phase(wrapped)
    out = np.asarray(np.ma.filled(unwrapped, 0.0), dtype=np.float64)
    out[~mask] = 0.0
    return out

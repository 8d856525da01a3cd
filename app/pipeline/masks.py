"""Pixel masks and phase unwrapping: hot pixels from a dark run, unwrapping inside a validity mask."""

from __future__ import annotations

import numpy as np


def hot_pixel_mask(dark_mean_adu: np.ndarray, *, n_sigma: float = 8.0, min_excess_adu: float = 2.0) -> np.ndarray:
    """Pixels whose dark mean exceeds the median by more than n_sigma robust sigmas (MAD) and min_excess_adu."""
    dark = np.asarray(dark_mean_adu, dtype=np.float64)
    median = float(np.median(dark))
    deviation = np.subtract(dark, median)
    np.abs(deviation, out=deviation)
    robust_sigma = 1.4826 * float(np.median(deviation, overwrite_input=True))  # our own array: no copy
    return dark > median + max(n_sigma * robust_sigma, min_excess_adu)


def unwrap_in_mask(phase_rad: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Unwrapped phase (scikit-image, reliability-guided) inside ``mask``; 0 outside it.

    Inside the mask it differs from ``phase_rad`` by whole multiples of 2 pi. When no two valid
    4-neighbours differ by more than pi, scikit-image's algorithm adds 0 x 2 pi everywhere (each edge's
    wrap count is 0, so every group's increment stays 0): that case is answered directly, with the same
    bits, in milliseconds instead of a sort of all edges (~0.5 s per megapixel).
    """
    if not mask.any():
        return np.zeros(phase_rad.shape, dtype=np.float64)
    wrapped = np.asarray(phase_rad, np.float64)
    if has_wraps(wrapped, mask):
        from skimage.restoration import unwrap_phase  # imported when needed: keeps the pipeline import light

        out = np.asarray(np.ma.filled(unwrap_phase(np.ma.masked_array(wrapped, mask=~mask)), 0.0), dtype=np.float64)
    else:
        out = wrapped + 0.0  # value + 2 pi x 0, as the unwrapper computes it (-0.0 becomes +0.0 there too)
    out[~mask] = 0.0
    return out


def has_wraps(phase_rad: np.ndarray, mask: np.ndarray) -> bool:
    """True if two valid horizontal or vertical neighbours differ by more than pi (the unwrapper's test)."""
    both = mask[:, :-1] & mask[:, 1:]
    if np.any(both & (np.abs(phase_rad[:, :-1] - phase_rad[:, 1:]) > np.pi)):
        return True
    both = mask[:-1, :] & mask[1:, :]
    return bool(np.any(both & (np.abs(phase_rad[:-1, :] - phase_rad[1:, :]) > np.pi)))

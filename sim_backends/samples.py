"""Test objects generated in code: complex transmission t(x) on the camera's sensor grid.

Coordinates are in units of the field envelope's sigma (``u = (x - centre) / sigma_px``), so an
object fills the illuminated field whatever the ROI. |t| is the amplitude, arg t the phase.
"""

from __future__ import annotations

import numpy as np
from skimage.draw import polygon as fill_polygon

# A horse in side view, walking left; (u, v) in field sigmas, v pointing down the sensor rows.
_HORSE_OUTLINE_UV = np.array(
    [
        (-1.40, -0.35), (-1.47, -0.50), (-1.15, -0.95), (-1.04, -1.18), (-0.98, -1.30),  # muzzle, ear
        (-0.92, -1.08), (-0.70, -0.85), (-0.45, -0.45), (-0.30, -0.32), (0.40, -0.30),  # mane, back
        (0.80, -0.38), (1.05, -0.30), (1.15, -0.25), (1.35, 0.05), (1.40, 0.45),  # rump, tail
        (1.28, 0.50), (1.20, 0.10), (1.10, 0.00), (1.05, 0.25), (1.02, 0.70),
        (1.06, 1.15), (0.92, 1.15), (0.88, 0.70), (0.85, 0.40), (0.78, 0.42),  # hind legs
        (0.76, 0.75), (0.80, 1.15), (0.66, 1.15), (0.63, 0.75), (0.60, 0.30),
        (0.00, 0.32), (-0.45, 0.30), (-0.48, 0.70), (-0.44, 1.15), (-0.58, 1.15),  # belly, fore legs
        (-0.62, 0.70), (-0.64, 0.40), (-0.70, 0.40), (-0.72, 0.75), (-0.68, 1.15),
        (-0.82, 1.15), (-0.86, 0.75), (-0.86, 0.25), (-0.78, -0.05), (-0.95, -0.35),  # chest, neck
        (-1.15, -0.35), (-1.30, -0.28),  # throat, jaw
    ]
)


def sensor_coordinates(shape: tuple[int, int], sigma_px: float) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) grids in field sigmas, centred on the sensor."""
    h, w = shape
    v = (np.arange(h) - (h - 1) / 2) / sigma_px
    u = (np.arange(w) - (w - 1) / 2) / sigma_px
    return np.meshgrid(u, v, sparse=True)


def horse_mask(shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """Boolean silhouette of a horse, about 3 field sigmas long, centred on the sensor."""
    h, w = shape
    cols = _HORSE_OUTLINE_UV[:, 0] * sigma_px + (w - 1) / 2
    rows = _HORSE_OUTLINE_UV[:, 1] * sigma_px + (h - 1) / 2
    mask = np.zeros(shape, dtype=bool)
    rr, cc = fill_polygon(rows, cols, shape=shape)
    mask[rr, cc] = True
    return mask


def phase_bump_rad(shape: tuple[int, int], sigma_px: float, peak_rad: float = 1.5, width: float = 0.6) -> np.ndarray:
    """A smooth Gaussian phase bump (a thin lens-like phase object), peak ``peak_rad``."""
    u, v = sensor_coordinates(shape, sigma_px)
    return (peak_rad * np.exp(-(u**2 + v**2) / (2 * width**2))).astype(np.float32)


def make_transmission(name: str, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """Complex64 transmission of a named sample over the full sensor grid."""
    if name == "empty":
        return np.ones(shape, dtype=np.complex64)
    if name == "horse":
        amplitude = horse_mask(shape, sigma_px).astype(np.float32)
        return (amplitude * np.exp(1j * phase_bump_rad(shape, sigma_px))).astype(np.complex64)
    if name == "phase-bump":
        return np.exp(1j * phase_bump_rad(shape, sigma_px)).astype(np.complex64)
    raise ValueError(f"unknown sample {name!r}")

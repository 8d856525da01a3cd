"""Test objects generated in code: complex transmission t(x) on the camera's sensor grid.

Coordinates are in units of the field envelope's sigma (``u = (x - centre) / sigma_px``), so an
object fills the illuminated field whatever the ROI. |t| is the amplitude, arg t the phase.
Names (used by the engine): horse, empty, usaf, phase-step, phase-bump, three-layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.draw import polygon as fill_polygon

from sim_backends.depth import Layer
from sim_backends.usaf import UsafElement, usaf_amplitude

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


def phase_step_rad(shape: tuple[int, int], sigma_px: float, step_rad: float = np.pi / 2) -> np.ndarray:
    """A straight phase step (a thin film edge): ``step_rad`` on the right half of the field."""
    u, _ = sensor_coordinates(shape, sigma_px)
    return np.broadcast_to(np.where(u > 0, step_rad, 0.0), shape).astype(np.float32)


@dataclass(frozen=True)
class Sample:
    """A test object: complex transmission t(x), or reflective layers (then ``transmission`` is None)."""

    name: str
    transmission: np.ndarray | None = None  # complex64 on the full sensor grid
    layers: tuple[Layer, ...] = ()
    usaf_elements: tuple[UsafElement, ...] = ()

    @property
    def reflective(self) -> bool:
        return bool(self.layers)

    def layer_depths_um(self) -> list[float]:
        """Nominal depth of each layer (the mean over the pixels where it reflects)."""
        return [float(np.mean(l.depth_um)) for l in self.layers]


def three_layer(shape: tuple[int, int], sigma_px: float, depths_um, reflectivities) -> tuple[Layer, ...]:
    """Partial reflector at z0 over the left half, a disc at z1, a back mirror at z2 everywhere.

    Light reaching a deeper layer has crossed the ones above twice: its amplitude carries
    (1 - r^2) per layer crossed (lossless interfaces). The right half outside the disc sees only the
    back mirror: a single reflector, for measuring the envelope.
    """
    u, v = sensor_coordinates(shape, sigma_px)
    top = np.broadcast_to(u < -0.1, shape)
    disc = np.broadcast_to(np.hypot(u - 0.6, v) < 0.45, shape)
    r0, r1, r2 = reflectivities
    z0, z1, z2 = (float(z) for z in depths_um)
    through = np.where(top, 1 - r0**2, 1.0) * np.where(disc, 1 - r1**2, 1.0)
    return (
        Layer((r0 * top).astype(np.float32), z0),
        Layer((r1 * disc * np.where(top, 1 - r0**2, 1.0)).astype(np.float32), z1),
        Layer((r2 * through).astype(np.float32), z2),
    )


def make_sample(name: str, shape: tuple[int, int], sigma_px: float, *,
                layer_depths_um=(20.0, 50.0, 80.0), layer_reflectivities=(0.35, 0.5, 0.8)) -> Sample:
    """The named test object over the full sensor grid."""
    if name == "three-layer":
        return Sample(name, layers=three_layer(shape, sigma_px, layer_depths_um, layer_reflectivities))
    if name == "usaf":
        amplitude, elements = usaf_amplitude(shape)
        return Sample(name, amplitude.astype(np.complex64), usaf_elements=tuple(elements))
    return Sample(name, make_transmission(name, shape, sigma_px))


def make_transmission(name: str, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """Complex64 transmission of a named thin sample over the full sensor grid."""
    if name == "empty":
        return np.ones(shape, dtype=np.complex64)
    if name == "horse":
        amplitude = horse_mask(shape, sigma_px).astype(np.float32)
        return (amplitude * np.exp(1j * phase_bump_rad(shape, sigma_px))).astype(np.complex64)
    if name == "phase-bump":
        return np.exp(1j * phase_bump_rad(shape, sigma_px)).astype(np.complex64)
    if name == "phase-step":
        return np.exp(1j * phase_step_rad(shape, sigma_px)).astype(np.complex64)
    raise ValueError(f"unknown sample {name!r}")

"""Test objects defined in object-plane micrometres, evaluated wherever the imaging asks.

A thin sample gives its complex transmission t at object points (x, y) in um from the optical axis;
a reflective sample gives its layers (amplitude reflectivity, delay-stage position of zero path). The
horse, phase and layer samples are drawn in units of ``scale_um`` (the horse is ~2.9 units long); the
USAF target has its real sizes. Names (used by the engine): horse, empty, usaf, phase-step,
phase-bump, three-layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from skimage.draw import polygon as fill_polygon

from sim_backends.depth import Layer
from sim_backends.usaf import usaf_amplitude_um

# A horse in side view, walking left; (u, v) in sample units, v pointing down the sensor rows.
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

Grid = tuple[np.ndarray, np.ndarray]  # (x (1, w), y (h, 1)) object points in um, regularly spaced


def horse_mask(x_um: np.ndarray, y_um: np.ndarray, scale_um: float) -> np.ndarray:
    """Boolean silhouette of the horse at the grid's pixel centres (filled polygon)."""
    x, y = np.ravel(x_um), np.ravel(y_um)
    shape = (y.size, x.size)
    dx = (x[-1] - x[0]) / max(1, x.size - 1) or 1.0
    dy = (y[-1] - y[0]) / max(1, y.size - 1) or 1.0
    cols = (_HORSE_OUTLINE_UV[:, 0] * scale_um - x[0]) / dx
    rows = (_HORSE_OUTLINE_UV[:, 1] * scale_um - y[0]) / dy
    mask = np.zeros(shape, dtype=bool)
    rr, cc = fill_polygon(rows, cols, shape=shape)
    mask[rr, cc] = True
    return mask


def phase_bump_rad(x_um, y_um, scale_um: float, peak_rad: float = 1.5, width: float = 0.6) -> np.ndarray:
    """A smooth Gaussian phase bump (a thin lens-like phase object), peak ``peak_rad``, sigma ``width`` units."""
    r2 = (np.square(x_um) + np.square(y_um)) / scale_um**2
    return (peak_rad * np.exp(-r2 / (2 * width**2))).astype(np.float32)


def phase_step_rad(x_um, y_um, step_rad: float = np.pi / 2) -> np.ndarray:
    """A straight phase step (a thin film edge): ``step_rad`` right of the optical axis."""
    return np.broadcast_to(np.where(x_um > 0, step_rad, 0.0), np.broadcast_shapes(np.shape(x_um), np.shape(y_um)))


@dataclass(frozen=True)
class Sample:
    """A test object: ``transmission(x_um, y_um)`` (thin) or ``layers(x_um, y_um)`` (reflective)."""

    name: str
    transmission_fn: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    layers_fn: Callable[[np.ndarray, np.ndarray], tuple[Layer, ...]] | None = None
    nominal_depths_um: tuple[float, ...] = ()
    is_usaf: bool = False

    @classmethod
    def uniform(cls, name: str, t: complex) -> "Sample":
        """A thin sample of the same transmission t everywhere."""
        return cls(name, lambda x, y: np.full(np.broadcast_shapes(np.shape(x), np.shape(y)), t, np.complex64))

    @property
    def reflective(self) -> bool:
        return self.layers_fn is not None

    def transmission(self, x_um, y_um) -> np.ndarray:
        return np.asarray(self.transmission_fn(x_um, y_um), np.complex64)

    def layers(self, x_um, y_um) -> tuple[Layer, ...]:
        return self.layers_fn(x_um, y_um)

    def layer_depths_um(self) -> list[float]:
        """Delay-stage position of zero path for each layer, top first."""
        return list(self.nominal_depths_um)


def three_layer(x_um, y_um, scale_um: float, depths_um, reflectivities) -> tuple[Layer, ...]:
    """Partial reflector at z0 over the left half, a disc at z1, a back mirror at z2 everywhere.

    Light reaching a deeper layer has crossed the ones above twice: its amplitude carries
    (1 - r^2) per layer crossed (lossless interfaces). The right half outside the disc sees only the
    back mirror: a single reflector, for measuring the envelope.
    """
    u, v = x_um / scale_um, y_um / scale_um
    shape = np.broadcast_shapes(np.shape(u), np.shape(v))
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


def make_sample(name: str, *, scale_um: float = 1330.0, layer_depths_um=(20.0, 50.0, 80.0),
                layer_reflectivities=(0.35, 0.5, 0.8)) -> Sample:
    """The named test object (object-plane micrometres)."""
    s = float(scale_um)
    if name == "three-layer":
        return Sample(name, layers_fn=lambda x, y: three_layer(x, y, s, layer_depths_um, layer_reflectivities),
                      nominal_depths_um=tuple(float(z) for z in layer_depths_um))
    if name == "usaf":
        return Sample(name, lambda x, y: usaf_amplitude_um(x, y).astype(np.complex64), is_usaf=True)
    if name == "empty":
        return Sample.uniform(name, 1.0)
    if name == "horse":
        return Sample(name, lambda x, y: horse_mask(x, y, s) * np.exp(1j * phase_bump_rad(x, y, s)))
    if name == "phase-bump":
        return Sample(name, lambda x, y: np.exp(1j * phase_bump_rad(x, y, s)))
    if name == "phase-step":
        return Sample(name, lambda x, y: np.exp(1j * phase_step_rad(x, y)))
    raise ValueError(f"unknown sample {name!r}")

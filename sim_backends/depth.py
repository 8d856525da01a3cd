"""Depth (OCT with undetected photons): a layered reflector seen through the delay stage.

For reflectors {r_n(x), z_n(x)} and reference-mirror position z_ref (the delay stage), the object
factor in the interference term is (DESIGN.md section 4; Vanselow et al., Optica 7, 1729 (2020))

    Gamma(x, z_ref) = sum_n r_n(x) g(z_ref - z_n(x)) exp(i 2 k_i (z_ref - z_n(x))),
    g(dz) = exp(-4 ln2 dz^2 / l_c^2),    l_c = (2 ln2 / pi) lambda_i^2 / dlambda_i,

the round-trip (OCT) convention: l_c is the FWHM of the envelope versus reflector depth for a Gaussian
idler spectrum of FWHM dlambda_i, and the carrier 2 k_i is the round trip of the reflected idler.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FOUR_LN2 = 4.0 * np.log(2.0)


def coherence_length_um(idler_wavelength_nm: float, idler_bandwidth_nm: float) -> float:
    """l_c = (2 ln2 / pi) lambda_i^2 / dlambda_i (FWHM axial resolution, OCT convention)."""
    return 2 * np.log(2) / np.pi * idler_wavelength_nm**2 / idler_bandwidth_nm * 1e-3


def envelope(dz_um, coherence_length_um: float):
    """Gaussian coherence envelope g(dz), FWHM = l_c."""
    return np.exp(-FOUR_LN2 * np.square(dz_um) / coherence_length_um**2)


@dataclass(frozen=True)
class Layer:
    """One reflector: amplitude reflectivity map r(x) (already including losses above it) and depth."""

    reflectivity: np.ndarray  # float32 (h, w) on the full sensor grid
    depth_um: float | np.ndarray  # scalar (flat) or (h, w)


def layered_field(layers: list[Layer], roi_slices, z_ref_um: float, idler_wavelength_nm: float,
                  coherence_length_um: float) -> np.ndarray:
    """Gamma(x, z_ref) on a ROI (complex64); layers far from z_ref (g < 1e-6) are skipped."""
    k_i = 2 * np.pi / (idler_wavelength_nm * 1e-3)  # rad/um
    out = None
    for layer in layers:
        r = layer.reflectivity[roi_slices]
        z = layer.depth_um if np.isscalar(layer.depth_um) else layer.depth_um[roi_slices]
        dz = z_ref_um - np.asarray(z, float)
        if np.all(envelope(np.abs(dz), coherence_length_um) < 1e-6):
            continue
        term = r * envelope(dz, coherence_length_um) * np.exp(2j * k_i * dz)
        out = term if out is None else out + term
    if out is None:
        return np.zeros(layers[0].reflectivity[roi_slices].shape, np.complex64)
    return np.broadcast_to(out, layers[0].reflectivity[roi_slices].shape).astype(np.complex64)

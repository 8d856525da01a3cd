"""Coherence versus path difference: every sample's interference term carries g(dL) exp(i k dL).

dL is the optical path difference between the arms. The delay stage moves one arm's mirror, so with
``p`` passes (2 in the Michelson geometry, 1 in the Mach-Zehnder one) dL = p (z - z_0), z_0 being the
stage position where the arms match. For a Gaussian spectrum of wavenumber FWHM dnu (sim_backends/spectrum)

    g(dL) = exp(-4 ln2 dL^2 / L_c^2),    L_c = (4 ln2 / pi) / dnu = (4 ln2 / pi) lambda^2 / dlambda,

so in stage coordinates the FWHM is L_c / p: (2 ln2 / pi) lambda_i^2 / dlambda_i for a double pass, the
OCT round-trip convention. For a layered reflector {r_n(x), z_n} (z_n: stage position of zero path for
layer n; DESIGN.md section 4; Vanselow et al., Optica 7, 1729 (2020))

    Gamma(x, z) = sum_n r_n(x) g(p (z - z_n)) exp(i k_i p (z - z_n)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FOUR_LN2 = 4.0 * np.log(2.0)


def coherence_length_um(idler_wavelength_nm: float, idler_bandwidth_nm: float) -> float:
    """l_c = (2 ln2 / pi) lambda_i^2 / dlambda_i (FWHM in stage coordinates for a double pass, OCT convention)."""
    return 2 * np.log(2) / np.pi * idler_wavelength_nm**2 / idler_bandwidth_nm * 1e-3


def envelope(dz_um, coherence_length_um: float):
    """Gaussian coherence envelope g(dz), FWHM = l_c."""
    return np.exp(-FOUR_LN2 * np.square(dz_um) / coherence_length_um**2)


def coherence_phasor(path_difference_um, path_fwhm_um: float, wavenumber_rad_per_um: float):
    """g(dL) exp(i k dL) for an optical path difference dL."""
    dl = np.asarray(path_difference_um)
    return envelope(dl, path_fwhm_um) * np.exp(1j * wavenumber_rad_per_um * dl)


@dataclass(frozen=True)
class Layer:
    """One reflector: amplitude reflectivity map r(x) (already including losses above it) and its
    zero-path position on the delay stage."""

    reflectivity: np.ndarray  # float32 on the points where the sample was evaluated
    depth_um: float | np.ndarray  # scalar (flat) or per point


def layered_field(layers, z_um: float, *, passes: int, path_fwhm_um: float, wavenumber_rad_per_um: float) -> np.ndarray:
    """Gamma(x, z) (complex64) for layers evaluated on a grid; layers far from z (g < 1e-6) are skipped."""
    shape = np.shape(layers[0].reflectivity)
    out = np.zeros(shape, np.complex64)
    for layer in layers:
        path = passes * (z_um - np.asarray(layer.depth_um, float))
        if np.all(envelope(np.abs(path), path_fwhm_um) < 1e-6):
            continue
        out += (layer.reflectivity * coherence_phasor(path, path_fwhm_um, wavenumber_rad_per_um)).astype(np.complex64)
    return out

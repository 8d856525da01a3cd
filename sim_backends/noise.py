"""sCMOS noise chain: e- ~ Poisson(mu) + Normal(0, sigma_read(x)^2); ADU = clip(round(e/g) + offset)."""

from __future__ import annotations

import numpy as np

ADC_MAX = 65535


def electrons_to_adu(
    rng: np.random.Generator,
    mean_e: np.ndarray,
    read_noise_e: np.ndarray,
    *,
    gain_e_per_adu: float,
    offset_adu: float,
    full_well_e: float,
) -> np.ndarray:
    """One noisy 16-bit frame from the expected photoelectrons (shot noise, read noise, clipping)."""
    electrons = rng.poisson(mean_e).astype(np.float32)
    np.minimum(electrons, np.float32(full_well_e), out=electrons)
    electrons += read_noise_e * rng.standard_normal(mean_e.shape, dtype=np.float32)
    adu = np.rint(electrons / np.float32(gain_e_per_adu)) + np.float32(offset_adu)
    np.clip(adu, 0, ADC_MAX, out=adu)
    return adu.astype(np.uint16)

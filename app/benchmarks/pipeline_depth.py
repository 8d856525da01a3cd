"""Three-layer depth accuracy: phase-stepped delay scan -> depth, against the layers' true depths.

Frames follow DESIGN.md section 4 for a layered reflector, with shot noise, read noise and 16-bit
quantisation: mu = N0 (1 + V0 Re(exp(i theta_k) Gamma(z))) + dark, Gamma = sum r_n g(z - z_n)
exp(i 2 k_i (z - z_n)), g Gaussian with FWHM l_c = (2 ln2 / pi) lambda_i^2 / dlambda_i.
"""

from __future__ import annotations

import numpy as np

from app.pipeline.accumulate import StepAccumulator
from app.pipeline.demodulate import complex_field, equal_step_phases_rad
from app.pipeline.depth import depth_from_delay_scan

LAMBDA_I_UM = 1.55
DLAMBDA_I_UM = 0.05


def coherence_length_um() -> float:
    return 2 * np.log(2) / np.pi * LAMBDA_I_UM**2 / DLAMBDA_I_UM


def three_layer_scan(*, size: int = 96, steps: int = 4, frames_per_step: int = 2, seed: int = 4):
    """(complex fields (Z, h, w), delays_um, true depth (h, w), l_c) for three side-by-side layers."""
    rng = np.random.default_rng(seed)
    l_c = coherence_length_um()
    truth = np.full((size, size), 30.0)
    truth[:, size // 3: 2 * size // 3] = 75.0
    truth[:, 2 * size // 3:] = 130.0
    reflect = np.where(truth == 30.0, 0.9, np.where(truth == 75.0, 0.6, 0.35))
    delays = np.arange(0.0, 170.0, l_c / 4)
    theta = equal_step_phases_rad(steps)
    k_i = 2 * np.pi / LAMBDA_I_UM
    n0_e, v0, gain, offset, read_e = 2000.0, 0.6, 0.45, 100.0, 1.4
    fields = []
    acc = StepAccumulator(steps, (size, size))
    for z in delays:
        dz = z - truth
        gamma = reflect * np.exp(-4 * np.log(2) * dz**2 / l_c**2) * np.exp(2j * k_i * dz)
        acc._sums32[...] = 0
        acc.counts[...] = 0
        acc._bound = [0] * steps
        for k in range(steps):
            mu = n0_e * (1 + v0 * np.real(np.exp(1j * theta[k]) * gamma))
            for _ in range(frames_per_step):
                e = rng.poisson(mu) + rng.normal(0, read_e, mu.shape)
                acc.add(k, np.clip(np.rint(e / gain) + offset, 0, 65535).astype(np.uint16))
        fields.append(complex_field(acc.mean_frames(offset)))
    return np.array(fields), delays, truth, l_c


def three_layer_depth_error() -> tuple[float, str]:
    """(depth RMS error / l_c, description of the data source)."""
    fields, delays, truth, l_c = three_layer_scan()
    maps = depth_from_delay_scan(fields, delays, envelope_fwhm_um=l_c)
    rms = float(np.sqrt(np.mean((maps.depth_um - truth) ** 2)))
    return rms / l_c, f"DESIGN.md model, l_c = {l_c:.1f} um, steps l_c/4"

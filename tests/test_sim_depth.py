"""A delay scan across one reflector: the fringe envelope has the OCT axial resolution l_c.

l_c = (2 ln2 / pi) lambda_i^2 / dlambda_i (round-trip FWHM for a Gaussian idler spectrum; OCT
convention). Measured: phase-stepped visibility at each delay over pixels that see only the back
mirror of the three-layer sample, fitted with a Gaussian; 1 um steps over +-25 um give ~20 samples
inside the FWHM, and 400 pixels x 4 frames per point keep the noise on V below 1e-3.
"""

import numpy as np
import pytest
from scipy.optimize import curve_fit

from sim_backends.quick import quick_bench

ROI = (1060, 820, 20, 20)  # right half (single reflector: back mirror only), above the disc


def test_delay_scan_envelope_has_the_coherence_length_and_the_layer_depth():
    bench = quick_bench(sample="three-layer", roi=ROI, laser={"rin_rms": 0.0})
    bench.laser.set_emission(True)
    depths = bench.world.layer_depths_um()
    assert depths == [20.0, 50.0, 80.0]
    delays = np.arange(55.0, 100.0, 1.0)
    envelope = []
    for z in delays:
        bench.delay_stage.move_to(z)
        steps = []
        for k in range(4):
            bench.phase_piezo.move_to(10.0 + 7.75 * k / 4)
            steps.append(np.mean([bench.camera.read_frame().data for _ in range(1)], axis=0) - 100.0)
        steps = np.array(steps, np.float64)
        fringe = np.tensordot(np.exp(2j * np.pi * np.arange(4) / 4), steps, axes=1)
        envelope.append(np.median(2 * np.abs(fringe) / steps.sum(axis=0)))
    envelope = np.array(envelope)

    def gauss(z, a, z0, fwhm, c):
        return a * np.exp(-4 * np.log(2) * (z - z0) ** 2 / fwhm**2) + c

    (a, z0, fwhm, _), _ = curve_fit(gauss, delays, envelope, p0=(envelope.max(), 80.0, 20.0, 0.0))
    l_c = 2 * np.log(2) / np.pi * 1.550**2 / 0.050  # um, for 1550 nm and 50 nm bandwidth
    assert abs(fwhm) == pytest.approx(l_c, rel=0.05)
    assert z0 == pytest.approx(80.0, abs=0.5)
    # peak visibility: V0 * r_back (0.8; no layer above it here)
    assert a == pytest.approx(0.6 * 0.8, rel=0.05)

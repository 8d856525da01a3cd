"""Booth's 2N+1 and N+1 modal methods on the physical visibility metric V = |<exp(i W)>| of a pupil.

The metric here is the induced-coherence visibility computed from the wavefront over a sampled pupil
(not the quadratic model the methods assume), with 1 % multiplicative metric noise; the end-to-end
test on the simulated bench with camera noise belongs to the adaptive-optics sequence.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.wavefront.modal import optimise, parabolic_optimum, step_2n_plus_1
from app.wavefront.zernike import Pupil, ZernikeBasis

MODES = tuple(range(5, 17))  # Noll 5..16: the N = 12 modes of the issue


@pytest.fixture(scope="module")
def pupil_basis():
    return ZernikeBasis(MODES, Pupil((31.5, 31.5), 32.0), (64, 64), orthonormalise=True)


def _trials(basis, method, rms, cycles, bias, trials=50, noise=0.01, seed=7):
    rng = np.random.default_rng(seed)
    samples, weights = basis._samples, basis.weights
    residuals, visibilities, used = [], [], []
    for _ in range(trials):
        aberration = rng.normal(size=basis.n_modes)
        aberration *= rms / np.linalg.norm(aberration)

        def visibility(shown):
            return abs(np.sum(weights * np.exp(1j * ((aberration + shown) @ samples))))

        result = optimise(lambda a: visibility(a) * (1 + noise * rng.normal()), basis.n_modes, method=method,
                          bias_rad=bias, cycles=cycles)
        residuals.append(np.linalg.norm(aberration + result.correction_rad_rms))
        visibilities.append(visibility(result.correction_rad_rms))
        used.append(result.measurements)
    return np.array(residuals), np.array(visibilities), used[0]


def test_the_parabola_through_three_points_finds_its_vertex():
    assert parabolic_optimum(-(-0.5 - 0.2) ** 2, -(0 - 0.2) ** 2, -(0.5 - 0.2) ** 2, 0.5) == pytest.approx(0.2)
    assert parabolic_optimum(1.0, 0.0, 1.0, 0.5) is None  # a minimum, not a maximum


def test_2n_plus_1_corrects_1_rad_rms_over_12_modes_to_below_0_15_rad_in_two_cycles(pupil_basis):
    residuals, visibilities, used = _trials(pupil_basis, "2n+1", rms=1.0, cycles=2, bias=0.6)
    assert used == 2 * (2 * 12 + 1)
    assert residuals.mean() <= 0.15
    assert visibilities.mean() >= 0.95 and np.sort(visibilities)[:5].mean() >= 0.90  # worst tenth


def test_n_plus_1_corrects_0_7_rad_rms_to_below_0_2_rad_in_three_cycles(pupil_basis):
    residuals, _, used = _trials(pupil_basis, "n+1", rms=0.7, cycles=3, bias=0.5)
    assert used == 3 * (12 + 1)
    assert residuals.mean() <= 0.2


def test_no_single_correction_step_exceeds_twice_the_bias():
    def wild(shown):  # a metric whose parabola puts the optimum far away in mode 0
        return float(np.exp(-0.02 * (shown[0] - 9.0) ** 2 - np.sum(shown[1:] ** 2)))

    step = step_2n_plus_1(wild, np.zeros(3), 0.5, max_step_factor=2.0)
    assert step.delta_rad_rms[0] == pytest.approx(1.0) and step.clipped_modes == [0]
    assert np.all(np.abs(step.delta_rad_rms) <= 1.0 + 1e-12)


def test_measured_curvatures_recover_each_modes_secant_curvature_of_a_known_metric():
    """metric = V0 exp(-sum k_i a_i^2 - q_i a_i^4): the secant at +-b is k_i + q_i b^2, by hand."""
    from app.wavefront.modal import measured_curvatures

    k = np.array([1.8, 2.0, 2.3])
    q = np.array([0.0, 0.5, 1.0])
    calls = []

    def metric(a):
        calls.append(a.copy())
        return 0.6 * float(np.exp(-np.sum(k * a**2 + q * a**4)))

    found = measured_curvatures(metric, 3, 0.4, repeats=2)
    assert np.allclose(found, k + q * 0.4**2, rtol=1e-12)
    assert len(calls) == 2 * 3 * 3  # L0, L+ and L- per mode and repeat
    with pytest.raises(ValueError, match="no metric maximum seen in modes"):
        measured_curvatures(lambda a: 0.5, 3, 0.4)

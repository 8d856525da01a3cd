"""The simulated SLM's physics against its equations: S-shaped response with 2 pi at the configured
gray level, Gaussian crosstalk, exponential liquid-crystal response and its exposure average, flicker."""

from __future__ import annotations

import numpy as np
import pytest

from sim_backends.slm_physics import LiquidCrystal, SlmResponse, flicker_rad, fringing


@pytest.mark.parametrize("bits", [8, 10])
def test_response_reaches_2pi_at_the_configured_gray_level_and_is_monotone_and_nonlinear(bits):
    response = SlmResponse(bits=bits, gray_at_2pi=212.0)
    gray = np.arange(response.levels)
    phase = response.phase_of_gray(gray)
    g_2pi = 212.0 * response.levels / 256.0
    assert np.interp(2 * np.pi, phase, gray) == pytest.approx(g_2pi, abs=0.5 * response.levels / 256)
    assert np.all(np.diff(phase) > 0)
    linear = 2 * np.pi * gray / g_2pi
    assert np.max(np.abs(phase - linear)) > 0.2  # an S-curve, not a line


def test_crosstalk_is_a_gaussian_of_the_configured_width():
    step = np.zeros((1, 64), np.float32)
    step[:, 32:] = 1.0
    edge = fringing(step, 0.7)[0]
    # a step blurred by a Gaussian of sigma: the 16-84 % rise spans 2 sigma
    x = np.arange(64)
    rise = np.interp(0.84, edge, x) - np.interp(0.16, edge, x)
    assert rise == pytest.approx(2 * 0.7, rel=0.1)


def test_the_crystal_relaxes_exponentially_and_its_exposure_average_is_the_integral():
    lc = LiquidCrystal((2, 2), response_time_s=0.02)
    lc.show(np.full((2, 2), 3.0, np.float32), t_s=1.0)
    assert lc.phase_at(1.0)[0, 0] == pytest.approx(0.0)
    assert lc.phase_at(1.02)[0, 0] == pytest.approx(3.0 * (1 - np.exp(-1)), rel=1e-5)
    assert not lc.settled(1.02) and lc.settled(1.2)
    t = np.linspace(1.01, 1.05, 100001)
    numeric = np.mean(1 - np.exp(-(t - 1.0) / 0.02))
    assert lc.mean_weight_new(1.01, 1.05) == pytest.approx(numeric, rel=1e-4)


def test_flicker_has_the_configured_rms():
    rng = np.random.default_rng(0)
    samples = np.array([flicker_rad(rng, 0.02) for _ in range(20000)])
    assert samples.std() == pytest.approx(0.02, rel=0.03)  # 20000 samples: std known to 0.5 %

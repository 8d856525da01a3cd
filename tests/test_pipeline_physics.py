"""Uncertainty, live and depth formulas against hand cases, Monte Carlo truth and the DESIGN.md model."""

import numpy as np
import pytest

from app.pipeline import RollingDemodulator, StepAccumulator, demodulate, equal_step_phases_rad
from app.pipeline.depth import depth_from_delay_scan, depth_from_fringe_scan
from app.pipeline.uncertainty import sigma_maps


def test_sigma_formulas_by_hand():
    # N_e = 0.5 * 1000 * 8 = 4000 e-, R = 8 * 2^2 = 32 e-^2, V = 0.5
    sig = sigma_maps(np.array([[1000.0]]), np.array([[0.5]]), 8, gain_e_per_adu=0.5, read_noise_e=2.0)
    assert sig.photoelectrons[0, 0] == pytest.approx(4000.0)
    assert sig.sigma_phase_rad[0, 0] == pytest.approx(np.sqrt(2 * 4032 / 2000.0**2))
    assert sig.sigma_visibility[0, 0] == pytest.approx(np.sqrt(2.25 * 4032 / 4000**2 - 0.5 / 4000))
    shot_only = sigma_maps(np.array([[1000.0]]), np.array([[0.5]]), 8, gain_e_per_adu=0.5, read_noise_e=0.0)
    assert shot_only.sigma_phase_rad[0, 0] == pytest.approx(np.sqrt(2 / (4000 * 0.25)))
    assert shot_only.sigma_visibility[0, 0] == pytest.approx(np.sqrt((2 - 0.25) / 4000))
    assert np.isinf(sigma_maps(np.zeros((1, 1)), np.zeros((1, 1)), 4, gain_e_per_adu=1, read_noise_e=1).sigma_phase_rad).all()


@pytest.mark.parametrize("steps, read_noise_e", [(3, 0.0), (4, 3.0), (6, 1.4)])
def test_sigma_maps_match_monte_carlo_scatter(steps, read_noise_e):
    """Poisson + Gaussian samples of known N_e and V: the empirical scatter is the truth.

    For N = 3 the signal-dependent shot noise has a 3-theta harmonic, so the formula holds on average
    over the fringe phase: those pixels get random phases.
    """
    rng = np.random.default_rng(steps)
    pixels, frames_per_step, mu_e, v_true = 40000, 2, 150.0, 0.45
    phase_true = rng.uniform(-np.pi, np.pi, pixels) if steps == 3 else 0.7
    theta = equal_step_phases_rad(steps)
    acc = np.zeros((steps, pixels))
    for k in range(steps):
        mean_e = mu_e * (1 + v_true * np.cos(theta[k] + phase_true)) * np.ones(pixels)
        for _ in range(frames_per_step):
            acc[k] += rng.poisson(mean_e) + rng.normal(0, read_noise_e, pixels)
    maps = demodulate((acc / frames_per_step)[:, None, :])
    phase_err = np.angle(np.exp(1j * (maps.phase_rad[0] - phase_true)))
    sig = sigma_maps(np.array([[mu_e]]), np.array([[v_true]]), steps * frames_per_step,
                     gain_e_per_adu=1.0, read_noise_e=read_noise_e)
    assert np.sqrt(np.mean(phase_err**2)) == pytest.approx(sig.sigma_phase_rad[0, 0], rel=0.04)
    assert maps.visibility.std() == pytest.approx(sig.sigma_visibility[0, 0], rel=0.06)


def test_rolling_demodulation_equals_the_last_frame_of_each_step():
    rng = np.random.default_rng(5)
    steps, shape, dark = 4, (16, 24), 100.0
    live = RollingDemodulator(steps, shape, dark_adu=dark, resync_every=7)
    latest = {}
    for i in range(23):
        step = i % steps
        frame = rng.integers(100, 3000, shape, dtype=np.uint16)
        live.push(step, frame)
        latest[step] = frame
    assert live.ready
    expected = demodulate(np.stack([latest[k] for k in range(steps)]).astype(float) - dark)
    got = live.maps()
    np.testing.assert_allclose(got.visibility, expected.visibility, rtol=2e-4, atol=2e-6)
    np.testing.assert_allclose(np.angle(np.exp(1j * (got.phase_rad - expected.phase_rad))), 0, atol=2e-4)
    np.testing.assert_allclose(got.mean, expected.mean, rtol=1e-5)


def test_rolling_demodulation_handles_roi_views():
    big = np.random.default_rng(2).integers(0, 1000, (4, 30, 40), dtype=np.uint16)
    live = RollingDemodulator(4, (10, 20))
    for k in range(4):
        live.push(k, big[k, 5:15, 10:30])
    expected = demodulate(big[:, 5:15, 10:30].astype(float))
    np.testing.assert_allclose(live.maps().mean, expected.mean, rtol=1e-6)


# -- depth ---------------------------------------------------------------------------------------

LAMBDA_I_UM, L_C_UM = 1.55, 20.0


def layered_fields(delays_um, layers, shape, rng=None, noise=0.0):
    """DESIGN.md section 4: Gamma = sum r_n g(z - z_n) exp(i 2 k_i (z - z_n)), g Gaussian of FWHM l_c."""
    k_i = 2 * np.pi / LAMBDA_I_UM
    z = np.asarray(delays_um)[:, None, None]
    field = np.zeros((len(delays_um), *shape), complex)
    for r, depth in layers:
        dz = z - depth
        field += r * np.exp(-4 * np.log(2) * dz**2 / L_C_UM**2) * np.exp(2j * k_i * dz)
    if rng is not None:
        field += noise * (rng.standard_normal(field.shape) + 1j * rng.standard_normal(field.shape))
    return field


def test_single_gaussian_layer_found_between_samples_exactly():
    delays = np.arange(0.0, 200.0, 7.0)  # coarse: l_c / 3 per step
    depth = np.array([[53.3, 120.9]])
    fields = layered_fields(delays, [(np.array([[0.8, 0.3]]), depth)], (1, 2))
    maps = depth_from_delay_scan(fields, delays)
    np.testing.assert_allclose(maps.depth_um, depth, atol=1e-9)
    np.testing.assert_allclose(maps.reflectivity, [[0.8, 0.3]], rtol=1e-9)
    assert maps.envelope.shape == maps.volume.shape == (len(delays), 1, 2)
    fixed = depth_from_delay_scan(fields, delays, envelope_fwhm_um=L_C_UM)
    np.testing.assert_allclose(fixed.depth_um, depth, atol=1e-9)


def test_three_layer_sample_depth_error_below_five_percent_of_lc():
    rng = np.random.default_rng(7)
    shape = (48, 48)
    truth = np.full(shape, 40.0)
    truth[:, 16:32], truth[:, 32:] = 90.0, 150.0  # three layers side by side
    reflect = np.where(truth == 40.0, 0.9, np.where(truth == 90.0, 0.6, 0.4))
    delays = np.arange(0.0, 200.0, 5.0)
    fields = layered_fields(delays, [(reflect, truth)], shape, rng, noise=0.01)
    maps = depth_from_delay_scan(fields, delays, envelope_fwhm_um=L_C_UM)
    rms = np.sqrt(np.mean((maps.depth_um - truth) ** 2))
    assert rms / L_C_UM < 0.05
    for level in (40.0, 90.0, 150.0):
        region = truth == level
        assert maps.reflectivity[region].mean() == pytest.approx(reflect[region][0], rel=0.02)


def test_fringe_resolved_scan_envelope_by_hilbert():
    delays = np.arange(0.0, 160.0, 0.1)  # 7.75 samples per fringe (period lambda_i / 2)
    depth = np.array([[60.0, 97.5]])
    gamma = layered_fields(delays, [(np.array([[1.0, 0.5]]), depth)], (1, 2))
    intensity = 1000.0 * (1 + 0.6 * gamma.real)
    maps = depth_from_fringe_scan(intensity, delays)
    np.testing.assert_allclose(maps.depth_um, depth, atol=0.02 * L_C_UM)
    np.testing.assert_allclose(maps.reflectivity, 600.0 * np.array([[1.0, 0.5]]), rtol=0.02)


def test_bad_scans_refused():
    with pytest.raises(ValueError, match="delays"):
        depth_from_delay_scan(np.ones((4, 2, 2), complex), np.arange(3.0))
    with pytest.raises(ValueError, match="monotonic"):
        depth_from_delay_scan(np.ones((3, 2, 2), complex), np.array([0.0, 2.0, 1.0]))


def test_accumulated_delay_scan_matches_model(tmp_path):
    """End to end: quantised phase-stepped frames per delay -> complex_field -> depth."""
    from app.pipeline import complex_field

    rng = np.random.default_rng(11)
    delays = np.arange(0.0, 120.0, 6.0)
    depth = np.full((8, 8), 47.0)
    gamma = layered_fields(delays, [(np.full((8, 8), 0.7), depth)], (8, 8))
    theta = equal_step_phases_rad(4)
    fields = []
    for z in range(len(delays)):
        acc = StepAccumulator(4, (8, 8))
        for k in range(4):
            mean_e = 2000 * (1 + 0.6 * np.real(np.exp(1j * theta[k]) * gamma[z]))
            for _ in range(4):
                acc.add(k, (rng.poisson(mean_e) + 100).astype(np.uint16))
        fields.append(complex_field(acc.mean_frames(100.0)))
    maps = depth_from_delay_scan(np.array(fields), delays, envelope_fwhm_um=L_C_UM)
    assert np.sqrt(np.mean((maps.depth_um - depth) ** 2)) < 0.05 * L_C_UM

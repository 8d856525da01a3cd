"""The simulated camera's frames have the statistics of the sCMOS model (DESIGN.md section 4).

Expected, per pixel i:  mean_ADU = (QE tau R + D_i tau) / g + offset,
                        var_ADU  = (QE tau R + D_i tau + sigma_r,i^2) / g^2 + 1/12  (ADC rounding).
D_i and sigma_r,i are the world's ground-truth maps. Sample: 128 x 128 pixels x 24 frames; the mean of
the per-pixel variances has a relative standard error sqrt(2/23)/128 ~ 0.25 %, so the 2 % tolerance is
8 standard errors: the test cannot pass by chance with a wrong model (nor fail by chance with a right one).
"""

import numpy as np
import pytest

from sim_backends.noise import TierPlan, noisy_electrons, standard_normal
from sim_backends.quick import quick_bench

QE, TAU, GAIN, OFFSET = 0.8, 0.1, 0.45847, 100  # the camera defaults (gain: full well = ADC maximum)


@pytest.mark.parametrize("rate_e_per_s", [25_000.0, 100.0, 6.25], ids=["2000e-gaussian-tier", "8e-poisson-tier",
                                                                        "0.5e-thinning-tier"])
def test_uniform_field_mean_and_variance_match_the_noise_model(rate_e_per_s):
    # idler blocked (V0 = 0) and a flat field: every pixel has the same photon rate
    bench = quick_bench(roi=(960, 960, 128, 128), sample="empty", max_visibility=0.0, field_sigma_px=1e5,
                        signal_rate_e_per_px_s=rate_e_per_s, laser={"rin_rms": 0.0})
    bench.laser.set_emission(True)
    frames = np.array([bench.camera.read_frame().data for _ in range(24)], dtype=np.float64)
    world, rows, cols = bench.world, slice(960, 1088), slice(960, 1088)
    photo_e = QE * TAU * rate_e_per_s  # the envelope is flat to 1e-6 over the ROI
    mean_e = photo_e + world.dark_current_map_e_per_s[rows, cols] * TAU
    normal = world.dark_current_map_e_per_s[rows, cols] < 10  # hot pixels are checked separately
    expected_mean = mean_e / GAIN + OFFSET
    expected_var = (mean_e + world.read_noise_map_e[rows, cols] ** 2) / GAIN**2 + 1 / 12
    measured_mean = frames.mean(axis=0)
    measured_var = frames.var(axis=0, ddof=1)
    assert measured_mean[normal].mean() - OFFSET == pytest.approx(expected_mean[normal].mean() - OFFSET, rel=0.02)
    assert measured_var[normal].mean() == pytest.approx(expected_var[normal].mean(), rel=0.02)


def test_hot_pixels_and_read_noise_map_look_like_an_scmos():
    bench = quick_bench(roi=(768, 768, 512, 512), sample="empty")
    read, dark = bench.world.read_noise_map_e, bench.world.dark_current_map_e_per_s
    assert np.median(read) == pytest.approx(1.4, rel=0.03)
    assert np.percentile(read, 99.9) > 2.5 * np.median(read)  # long tail
    hot = int(np.sum(dark > 10))
    assert 20 < hot < 200  # "a few": 2e-5 of 4.2 Mpx


def test_dark_frame_is_offset_plus_dark_current():
    bench = quick_bench(roi=(960, 960, 128, 128), sample="empty", camera={"exposure_s": 1.0})
    frames = np.array([bench.camera.read_frame().data for _ in range(30)], dtype=np.float64)  # laser off
    hot = np.unravel_index(np.argmax(bench.world.dark_current_map_e_per_s[960:1088, 960:1088]), (128, 128))
    expected_hot = bench.world.dark_current_map_e_per_s[960:1088, 960:1088][hot] * 1.0 / GAIN + OFFSET
    assert frames.mean() == pytest.approx(OFFSET + 0.1 / GAIN, abs=0.3)
    assert frames[:, hot[0], hot[1]].mean() == pytest.approx(expected_hot, rel=0.15)


def test_table_normal_has_unit_gaussian_moments():
    z = standard_normal(np.random.default_rng(1), 4_000_000).astype(np.float64)
    # standard errors at n = 4e6: mean 5e-4, variance 7e-4, fourth moment 5e-3
    assert abs(z.mean()) < 3e-3
    assert z.var() == pytest.approx(1.0, abs=4e-3)
    assert np.mean(z**4) == pytest.approx(3.0, abs=0.03)
    assert np.mean(np.abs(z) > 4.5) == pytest.approx(6.8e-6, rel=0.5)  # tails exist beyond the table


@pytest.mark.parametrize("mu", [25.0, 400.0])
def test_gaussian_tier_reproduces_poisson_plus_read_noise_cumulants(mu):
    # Poisson(mu) + Normal(0, s^2) has cumulants mu, mu + s^2, mu (third). n = 2e6: the third
    # cumulant's standard error is sqrt(6 var^3 / n) = 0.05 * mu^1.5 / mu ... < 4 % of mu here.
    n, s = 2_000_000, 1.4
    mean = np.full(n, mu, np.float32)
    e = noisy_electrons(np.random.default_rng(2), mean, np.full(n, s, np.float32), full_well_e=1e9,
                        plan=TierPlan(mean, mean)).astype(np.float64)
    c = e - e.mean()
    assert e.mean() == pytest.approx(mu, rel=2e-3)
    assert e.var() == pytest.approx(mu + s**2, rel=0.01)
    assert np.mean(c**3) == pytest.approx(mu, rel=0.15)


def test_full_well_and_adc_clip():
    bench = quick_bench(roi=(960, 960, 64, 64), sample="empty", max_visibility=0.0, field_sigma_px=1e5,
                        signal_rate_e_per_px_s=1e7)  # 8e5 e- >> 30 000 e- full well
    bench.laser.set_emission(True)
    frame = bench.camera.read_frame().data
    assert frame.dtype == np.uint16
    # full well and ADC range agree at the default gain: 30 000 e- -> 65535.2 ADU, rounded to the ADC maximum,
    # and the ADC maximum is (65535 - 100) x 0.45847 = 30 000 e- (within one electron)
    assert round(30_000 / GAIN + OFFSET) == 65535
    assert (65535 - OFFSET) * GAIN == pytest.approx(30_000, abs=1.0)
    assert np.all(frame == 65535)

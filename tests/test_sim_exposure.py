"""Exposures integrate: the pump ramp, linear drift (sinc washout), fast vibration (exp(-sigma^2/2)), and
white RIN that averages down as 1/sqrt(tau); plus slow pump power drift. Analytic values in each test."""

import numpy as np
import pytest

from sim_backends.actuators import averaged_jitter_variance
from sim_backends.quick import quick_bench
from tests.test_sim_coherence import fringe

ROI = (1008, 1008, 32, 32)


def signal_e(bench, frames=1):
    """Mean photoelectrons per pixel over the ROI (offset removed), laser as it is."""
    gain = bench.world.camera.gain_e_per_adu
    return float(np.mean([bench.camera.read_frame().data.astype(np.float64).mean() - 100.0
                          for _ in range(frames)]) * gain)


@pytest.mark.parametrize(("shape", "expected"), [("exponential", np.exp(-1.0)), ("linear", 0.5)])
def test_first_frame_after_emission_on_integrates_the_ramp(shape, expected):
    # exponential ramp of 1/e time T over an exposure tau = T: (1/tau) int_0^tau (1 - e^{-t/T}) dt = e^{-1} = 0.368;
    # linear ramp over T = tau: 0.5
    bench = quick_bench(sample="empty", max_visibility=0.0, roi=ROI, pump_ramp_shape=shape,
                        laser={"rin_rms": 0.0, "power_ramp_time_s": 0.1})
    bench.laser.set_emission(True)
    first = signal_e(bench)
    bench.world.advance(5.0)
    full = signal_e(bench, frames=4)
    # 1024 pixels x 2000 e-: the ROI mean has a shot-noise error of 0.07 %
    assert first / full == pytest.approx(expected, rel=0.02)


def phase_fit_visibility(bench, n_frames, rate_rad_per_s):
    """Per-pixel V from frames at a fixed piezo whose phases are the known linear drift at mid-exposure."""
    cam, world = bench.camera, bench.world
    tau = cam.exposure_s()
    frames, phases = [], []
    for _ in range(n_frames):
        phases.append(rate_rad_per_s * (world.clock_s + tau / 2))
        frames.append(cam.read_frame().data.astype(np.float64) - 100.0)
    a = np.stack([np.ones(n_frames), np.cos(phases), np.sin(phases)], axis=1)
    coef, *_ = np.linalg.lstsq(a, np.array(frames).reshape(n_frames, -1), rcond=None)
    return float(np.median(np.hypot(coef[1], coef[2]) / coef[0]))


def test_linear_drift_within_an_exposure_washes_the_fringes_out_as_a_sinc():
    # 2 rad of drift in one 0.1 s exposure: V / V0 = sinc(1) = sin(1) / 1 = 0.841
    bench = quick_bench(sample="empty", roi=ROI, phase_drift_rad_per_s=20.0, laser={"rin_rms": 0.0})
    bench.laser.set_emission(True)
    v = phase_fit_visibility(bench, 24, 20.0)
    # 24 frames x 2000 e- per pixel: V per pixel to ~1 %, the median over 1024 pixels to ~0.05 %
    assert v / 0.6 == pytest.approx(np.sin(1.0), rel=0.02)


def test_fast_vibration_lowers_the_visibility_by_exp_minus_sigma_squared_over_two():
    # 1 rad RMS jitter at 5 kHz in 0.1 s exposures (B tau = 500): V / V0 = exp(-1/2) = 0.607
    bench = quick_bench(sample="empty", roi=ROI, vibration_rms_rad=1.0, vibration_bandwidth_hz=5000.0,
                        laser={"rin_rms": 0.0})
    bench.laser.set_emission(True)
    _, v = fringe(bench, 7.75, frames=4)
    # the exposure mean of the jitter keeps sigma_bar = 0.025 rad per frame (variance 2 (x - 1 + e^-x) / x^2 of
    # sigma^2, x = 2 pi B tau), a further exp(-sigma_bar^2 / 2) = 0.9997 on the 4-step estimate: inside 2 %
    assert averaged_jitter_variance(1.0, 5000.0, 0.1) == pytest.approx(2 * (np.pi * 1000 - 1) / (np.pi * 1000) ** 2)
    assert v / 0.6 == pytest.approx(np.exp(-0.5), rel=0.02)


def test_slow_vibration_is_a_random_phase_per_frame_without_washout():
    # B tau << 1 (tau_c = 1/(2 pi B) = 3.2 s): a 4-step measurement (0.4 s) sees one phase offset drawn with
    # RMS sigma, and no washout; measurements 30 s apart are independent
    sigma = 0.3
    bench = quick_bench(sample="empty", roi=(1016, 1016, 16, 16), vibration_rms_rad=sigma,
                        vibration_bandwidth_hz=0.05, laser={"rin_rms": 0.0})
    bench.laser.set_emission(True)
    phases, vis = [], []
    for _ in range(200):
        bench.world.advance(30.0)
        z, v = fringe(bench, 7.75)
        phases.append(np.angle(z))
        vis.append(v)
    phases = np.unwrap(np.array(phases))
    # 200 independent draws: the sample RMS is known to 5 % (1 sigma); 15 % is 3 sigma
    assert phases.std() == pytest.approx(sigma, rel=0.15)
    # the phase moves by ~sigma sqrt(2 * 0.1 / 3.2) = 0.075 rad during the 4 steps: V loses < 0.3 %
    assert np.median(vis) / 0.6 == pytest.approx(1.0, rel=0.02)


@pytest.mark.parametrize("exposure_s", [0.1, 0.4])
def test_white_rin_averages_down_as_one_over_root_exposure(exposure_s):
    rin = 0.05
    bench = quick_bench(sample="empty", max_visibility=0.0, roi=(1016, 1016, 16, 16), laser={"rin_rms": rin})
    bench.camera.set_exposure_s(exposure_s)
    bench.laser.set_emission(True)
    means = np.array([bench.camera.read_frame().data.astype(np.float64).mean() - 100.0 for _ in range(400)])
    expected = rin * np.sqrt(0.1 / exposure_s)  # 5 % at 0.1 s, 2.5 % at 0.4 s
    # 400 frames: the sample RMS has a relative standard error 1/sqrt(800) = 3.5 %; 12 % is 3.4 sigma.
    # Shot noise of the 256-pixel mean (0.1 %) adds < 0.1 % to it.
    assert means.std(ddof=1) / means.mean() == pytest.approx(expected, rel=0.12)


def test_slow_pump_power_drift_has_its_rms_and_correlation_time():
    bench = quick_bench(sample="empty", pump_power_drift_rms=0.05, pump_power_drift_time_s=10.0,
                        laser={"rin_rms": 0.0})
    bench.laser.set_emission(True)
    samples = []
    for _ in range(600):
        bench.world.advance(30.0)  # 3 correlation times apart: nearly independent samples
        samples.append(bench.laser.measured_power_w() / 0.1 - 1.0)
    samples = np.array(samples)
    # 600 nearly independent samples: RMS to ~3 % (1 sigma); 12 % is 4 sigma
    assert samples.std() == pytest.approx(0.05, rel=0.12)
    lag1 = np.corrcoef(samples[:-1], samples[1:])[0, 1]
    assert lag1 == pytest.approx(np.exp(-3.0), abs=0.12)  # Ornstein-Uhlenbeck: exp(-dt / T) = 0.05


@pytest.mark.parametrize(("fringes", "expected"), [(0.5, 2 / np.pi), (1.0, 0.0)])
def test_piezo_travelling_during_the_exposure_washes_the_fringes_out(fringes, expected):
    # the phase sweeps 2 pi x fringes linearly during the exposure: V / V0 = |sinc(pi x fringes)|
    # (the devices report their travel through world.record_move; done by hand here)
    bench = quick_bench(sample="empty", roi=ROI, laser={"rin_rms": 0.0})
    bench.laser.set_emission(True)
    world, tau = bench.world, bench.camera.exposure_s()
    steps = []
    for k in range(4):
        target = 10.0 + 7.75 * k / 4
        bench.phase_piezo.move_to(target)
        frames = []
        for _ in range(2):
            world.record_move("piezo_v", target - 7.75 * fringes, target, world.clock_s, world.clock_s + tau)
            frames.append(bench.camera.read_frame().data.astype(np.float64) - 100.0)
        steps.append(np.mean(frames, axis=0))
    steps = np.array(steps)
    v = 2 * np.abs(np.tensordot(np.exp(2j * np.pi * np.arange(4) / 4), steps, axes=1)) / steps.sum(axis=0)
    # 8 frames of 2000 e- per pixel: V to ~0.5 % per pixel, the median over 1024 pixels to ~0.02 %; at full washout
    # what is left is the V estimator's positive noise floor, ~sqrt(pi/(4 N_e)) ~ 0.01
    if expected:
        assert np.median(v) / 0.6 == pytest.approx(expected, rel=0.02)
    else:
        assert np.median(v) < 0.02


@pytest.mark.parametrize(("travel_waves", "expected"), [(0.25, 2 / np.pi), (0.5, 0.0)])
def test_delay_stage_travelling_during_the_exposure_integrates_the_coherence(travel_waves, expected):
    # thin sample at zero path; the delay travels travel_waves x lambda_i during the exposure: on a double pass
    # the carrier k_i 2 dz sweeps 4 pi travel_waves, so V / V0 = |sinc(2 pi travel_waves)| (g stays 1 to 1e-4)
    bench = quick_bench(sample="empty", roi=ROI, zero_path_delay_um=50.0, delay_um=50.0, laser={"rin_rms": 0.0})
    bench.laser.set_emission(True)
    world, tau = bench.world, bench.camera.exposure_s()
    _, v_still = fringe(bench, 7.75)
    steps = []
    for k in range(4):
        bench.phase_piezo.move_to(10.0 + 7.75 * k / 4)
        frames = []
        for _ in range(2):
            world.record_move("delay_um", 50.0 - travel_waves * 1.550, 50.0, world.clock_s, world.clock_s + tau)
            frames.append(bench.camera.read_frame().data.astype(np.float64) - 100.0)
        steps.append(np.mean(frames, axis=0))
    steps = np.array(steps)
    v_sweep = np.median(2 * np.abs(np.tensordot(np.exp(2j * np.pi * np.arange(4) / 4), steps, axes=1))
                        / steps.sum(axis=0))
    assert v_still == pytest.approx(0.6, rel=0.02)
    if expected:
        assert v_sweep / v_still == pytest.approx(expected, rel=0.02)
    else:
        assert v_sweep < 0.02  # sinc(2 pi) = 0; what is left is the estimator's noise floor

"""The coherence-envelope fit (app/pipeline/coherence_fit.py) against hand-made scans with a known ZPD,
and the whole alignment scan (engine delay-scan + per-delay ROI visibility + fit) on the simulated bench."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.pipeline.coherence_fit import CoherenceFitError, PeakAtEdgeError, fit_coherence_envelope, roi_visibility

FWHM_UM = 21.2  # the default simulated bench's envelope in stage coordinates (decision 0010)


def gaussian(z, z0, a, w):
    return a * np.exp(-4 * math.log(2) * (np.asarray(z) - z0) ** 2 / w**2)


def test_noise_free_envelope_gives_back_its_centre_height_and_width():
    z = np.linspace(15.0, 65.0, 26)
    fit = fit_coherence_envelope(z, gaussian(z, 41.3, 0.45, FWHM_UM))
    assert fit.zpd_um == pytest.approx(41.3, abs=1e-6)
    assert fit.peak_visibility == pytest.approx(0.45, rel=1e-6)
    assert fit.fwhm_um == pytest.approx(FWHM_UM, rel=1e-6)
    assert fit.floor == pytest.approx(0.0, abs=1e-3)  # a floor in quadrature: c^2 / 2A, below 1e-6 here


def test_reported_zpd_uncertainty_matches_the_scatter_of_repeated_noisy_scans():
    """200 scans with white noise (sigma 0.01 on a 0.45 peak): the fits scatter around the true ZPD
    with the standard deviation the fit reports (within 20 %), and the mean is unbiased."""
    rng = np.random.default_rng(7)
    z = np.linspace(20.0, 60.0, 21)
    truth = gaussian(z, 41.3, 0.45, FWHM_UM)
    fits = [fit_coherence_envelope(z, truth + rng.normal(0, 0.01, z.size)) for _ in range(200)]
    zpd = np.array([f.zpd_um for f in fits])
    reported = np.mean([f.sigma_zpd_um for f in fits])
    assert np.std(zpd) == pytest.approx(reported, rel=0.2)
    assert abs(np.mean(zpd) - 41.3) < 4 * reported / math.sqrt(len(fits))
    assert np.mean([f.fwhm_um for f in fits]) == pytest.approx(FWHM_UM, rel=0.02)


def test_a_roi_rms_of_noisy_fringe_amplitudes_keeps_the_centre_width_and_height():
    """Visibility as the alignment scan computes it: the ROI RMS of |A g + complex noise| over 400 pixels,
    whose noise floor adds in quadrature (E|n|^2 = 2 sigma^2). Centre, FWHM, height and floor come out unbiased."""
    rng = np.random.default_rng(3)
    z = np.linspace(10.0, 60.0, 26)
    amplitude = gaussian(z, 41.3, 0.3, FWHM_UM)[:, None]
    noise = rng.normal(0, 0.04, (z.size, 400)) + 1j * rng.normal(0, 0.04, (z.size, 400))
    measured = np.sqrt(np.mean(np.abs(amplitude + noise) ** 2, axis=1))
    fit = fit_coherence_envelope(z, measured)
    assert abs(fit.zpd_um - 41.3) < 4 * fit.sigma_zpd_um
    assert fit.fwhm_um == pytest.approx(FWHM_UM, rel=0.01)
    assert fit.peak_visibility == pytest.approx(0.3, rel=0.01)
    assert fit.floor == pytest.approx(0.04 * math.sqrt(2), rel=0.05)


def test_roi_visibility_is_the_intensity_weighted_rms_of_the_pixels_visibilities():
    """Two pixel populations, mean 1000 ADU with V 0.5 and mean 250 ADU with V 0.1 (4 steps, noise-free):
    sqrt(sum (a V)^2 / sum a^2) = sqrt((1000^2 0.25 + 250^2 0.01) / (1000^2 + 250^2))."""
    theta = 2 * np.pi * np.arange(4) / 4
    mean = np.array([[1000.0, 250.0]])
    vis = np.array([[0.5, 0.1]])
    phase = np.array([[0.3, -2.0]])
    means = mean * (1 + vis * np.cos(theta[:, None, None] + phase))
    expected = math.sqrt((1000**2 * 0.25 + 250**2 * 0.01) / (1000**2 + 250**2))
    assert roi_visibility(means, theta) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("seed", range(20))
def test_a_weak_envelope_ten_times_the_noise_is_accepted_and_located(seed):
    rng = np.random.default_rng(100 + seed)
    z = np.linspace(20.0, 60.0, 21)
    fit = fit_coherence_envelope(z, gaussian(z, 37.0, 0.05, FWHM_UM) + 0.01 + rng.normal(0, 0.005, z.size))
    assert abs(fit.zpd_um - 37.0) < 4 * fit.sigma_zpd_um


def test_unsorted_delays_and_missing_points_are_accepted():
    z = np.linspace(20.0, 60.0, 21)
    v = gaussian(z, 38.0, 0.5, FWHM_UM)
    v[[3, 15]] = np.nan
    order = np.random.default_rng(1).permutation(z.size)
    assert fit_coherence_envelope(z[order], v[order]).zpd_um == pytest.approx(38.0, abs=1e-6)


def test_a_peak_beyond_the_scanned_range_is_refused_as_at_the_edge():
    z = np.linspace(5.0, 30.0, 26)  # ZPD at 41.3: only the rising flank is scanned
    with pytest.raises(PeakAtEdgeError, match="peak at scan edge.*widen the span"):
        fit_coherence_envelope(z, gaussian(z, 41.3, 0.45, FWHM_UM) + 0.01)


def test_a_peak_on_the_last_scan_point_is_refused_as_at_the_edge():
    z = np.linspace(20.0, 41.3, 12)
    with pytest.raises(PeakAtEdgeError, match="peak at scan edge"):
        fit_coherence_envelope(z, gaussian(z, 41.3, 0.45, FWHM_UM))


@pytest.mark.parametrize("seed", range(20))
def test_flat_noise_without_an_envelope_is_refused(seed):
    rng = np.random.default_rng(seed)
    z = np.linspace(60.0, 100.0, 21)
    with pytest.raises(CoherenceFitError, match="no coherence peak|peak at scan edge"):
        fit_coherence_envelope(z, 0.02 + rng.normal(0, 0.003, z.size))


def test_too_few_points_are_refused_with_the_count():
    with pytest.raises(CoherenceFitError, match="at least 5 scan points.*got 4"):
        fit_coherence_envelope([1, 2, 3, 4], [0.1, 0.3, 0.3, 0.1])


# ------------------------------------------------------------------------------------ simulated bench
def test_alignment_scan_on_the_simulated_bench_finds_its_true_zpd(tmp_path):
    """Scan centred at 35 um (the simulator's arms match at 41.3 um): the fit's ZPD is within 1 um of the
    truth, L_c/20 for the 21.2 um envelope FWHM: moving there keeps 99.4 % of the peak visibility
    (exp(-4 ln2 / 400)). The fitted FWHM is the analytic L_c / p = (2 ln2 / pi) l_i^2 / dl_i within 2 %,
    and the run, a normal delay-scan, ends complete with the laser off."""
    from app.bench_factory import open_bench
    from app.config import load_config
    from app.engine import Runner
    from app.gui.alignment_scan import AlignmentScan, scan_delays, scan_params
    from tests.test_engine_fixtures import small_config

    loaded = load_config(small_config(tmp_path))
    sim = loaded.settings.simulation
    assert sim.zero_path_delay_um == 41.3
    with open_bench(loaded) as bench:
        bench.delay_stage.move_to(35.0)
        runner = Runner(bench)
        delays, note = scan_delays(bench.delay_stage.position(), 50.0, 26, bench.delay_stage.limits())
        assert note is None and delays[0] == pytest.approx(10.0) and delays[-1] == pytest.approx(60.0)
        params, plan = runner.plan("delay-scan", scan_params(delays, frames_per_step=1))
        scan = AlignmentScan()
        scan.attach(runner, plan)
        runner.start("delay-scan", params, path=tmp_path / "align.h5")
        result = runner.wait(120)
        state = scan.state.get().value
        assert result.status == "complete" and state.ended and state.outcome == "complete"
        assert bench.laser.cached_state.emission is False and bench.world.state.laser_emission is False
    assert [p.index for p in state.points] == list(range(26))
    assert [p.delay_um for p in state.points] == pytest.approx(delays)
    fit = fit_coherence_envelope([p.delay_um for p in state.points], [p.visibility for p in state.points])
    assert abs(fit.zpd_um - 41.3) < 1.0
    expected_fwhm = (2 * math.log(2) / math.pi) * sim.idler_wavelength_nm**2 / sim.idler_bandwidth_nm / 1e3
    assert fit.fwhm_um == pytest.approx(expected_fwhm, rel=0.02)


# ------------------------------------------------------------------------------------ the scan's listener
class _FakeRunner:
    def __init__(self):
        from app.engine.events import RunnerEvents

        self.events = RunnerEvents()
        self.result = None


def _fringe_frames(mean_adu: float, visibility: float, dark_adu: float, phases):
    """Noise-free 8 x 8 frames of one delay: dark + mean (1 + V cos(theta_k + 0.7)), as uint16."""
    return [np.full((8, 8), round(dark_adu + mean_adu * (1 + visibility * math.cos(t + 0.7))), np.uint16)
            for t in phases]


def test_alignment_scan_drops_the_cycle_a_suspender_discards_as_the_run_does():
    """Dark 100 ADU, then one delay in two cycles of 4 steps at V = 0.4; a suspender interrupts cycle 1
    after frames of V = 0.9 (say, a vibration burst), which the run discards and repeats at V = 0.4.
    The point is V = 0.4 (with the discarded frames kept it would be 0.55)."""
    from app.engine.events import CycleDiscarded, FrameInfo, RunState
    from app.engine.plan import PlanStage
    from app.gui.alignment_scan import AlignmentScan
    from app.engine.results import RunResult

    phases = tuple(2 * np.pi * k / 4 for k in range(4))
    stage = PlanStage("delay_0000", "delay", (10.0, 11.9, 13.8, 15.7), phases, 2, cycles=2, delay_um=40.0, index=0)
    plan = type("Plan", (), {"stages": (PlanStage("dark", "dark", (10.0,), (0.0,), 4, laser_on=False), stage)})()
    runner = _FakeRunner()
    scan = AlignmentScan((slice(2, 6), slice(2, 6)))
    scan.attach(runner, plan)
    ev = runner.events

    def emit(label, step, cycle, frame):
        ev.frame_acquired.emit(frame, FrameInfo(label, step, cycle, 0, 0.0, 40.0 if label != "dark" else 0.0, 0.0, 0.1))

    for _ in range(4):
        emit("dark", 0, 0, np.full((8, 8), 100, np.uint16))
    ev.stage_done.emit("dark")
    for step, frame in enumerate(_fringe_frames(1000.0, 0.4, 100.0, phases)):
        emit("delay_0000", step, 0, frame)
    for step, frame in enumerate(_fringe_frames(1000.0, 0.9, 100.0, phases)[:3]):
        emit("delay_0000", step, 1, frame)
    ev.cycle_discarded.emit(CycleDiscarded("delay_0000", 1, "laser power 0.05 W (needs 0.1 W +- 5 %)"))
    for step, frame in enumerate(_fringe_frames(1000.0, 0.4, 100.0, phases)):
        emit("delay_0000", step, 1, frame)
    ev.stage_done.emit("delay_0000")
    runner.result = RunResult("delay-scan", "complete", None)
    ev.state_changed.emit(RunState.DONE, RunState.RUNNING)
    state = scan.state.get().value
    assert state.ended and state.outcome == "complete" and len(state.points) == 1
    assert state.points[0].delay_um == 40.0
    assert state.points[0].visibility == pytest.approx(0.4, abs=2e-3)  # frames rounded to whole ADU
    assert len(ev.frame_acquired) == 0  # detached at the run's end

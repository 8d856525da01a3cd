"""Coherence for every sample: g(dL) exp(i k_i dL) with dL = p (z - z_0), and no returning idler, no fringes.

Analytic values: for a Gaussian idler spectrum of FWHM dlambda the envelope versus optical path has FWHM
L_c = (4 ln2 / pi) lambda_i^2 / dlambda (its Fourier transform), i.e. L_c / p in delay-stage coordinates
(p = 2 Michelson, 1 Mach-Zehnder), and a delay step dz shifts the fringe phase by k_i p dz.
"""

import numpy as np
import pytest
from scipy.optimize import curve_fit

from app.config import load_config
from sim_backends.quick import quick_bench
from tests.helpers import SIM_CONFIG

LAMBDA_I_UM, DLAMBDA_UM = 1.550, 0.050
ROI = (1008, 1008, 32, 32)  # field centre


def fringe(bench, volts_per_2pi, frames=1):
    """Complex fringe (median over the ROI) and visibility from a 4-step measurement, offset removed."""
    steps = []
    for k in range(4):
        bench.phase_piezo.move_to(10.0 + volts_per_2pi * k / 4)
        steps.append(np.mean([bench.camera.read_frame().data for _ in range(frames)], axis=0) - 100.0)
    steps = np.array(steps, np.float64)
    z = np.tensordot(np.exp(2j * np.pi * np.arange(4) / 4), steps, axes=1)
    v = 2 * np.abs(z) / steps.sum(axis=0)
    return np.median(z.real) + 1j * np.median(z.imag), float(np.median(v))


def gauss(z, a, z0, fwhm):
    return a * np.exp(-4 * np.log(2) * (z - z0) ** 2 / fwhm**2)


@pytest.mark.parametrize(("geometry", "passes", "volts_per_2pi"), [("michelson", 2, 7.75), ("mach-zehnder", 1, 15.5)])
def test_thin_sample_has_the_coherence_envelope_and_carrier_of_its_geometry(geometry, passes, volts_per_2pi):
    bench = quick_bench(sample="empty", geometry=geometry, zero_path_delay_um=50.0, roi=ROI, laser={"rin_rms": 0.0})
    bench.laser.set_emission(True)
    fwhm_expected = 4 * np.log(2) / np.pi * LAMBDA_I_UM**2 / DLAMBDA_UM / passes  # 21.2 um (p = 2), 42.4 um (p = 1)
    delays = 50.0 + np.linspace(-1.1, 1.1, 25) * fwhm_expected  # inside the stage's 0-100 um
    vis = []
    for z in delays:
        bench.delay_stage.move_to(float(z))
        vis.append(fringe(bench, volts_per_2pi)[1])
    (a, z0, fwhm), _ = curve_fit(gauss, delays, np.array(vis), p0=(0.6, 50.0, fwhm_expected))
    # 1024 pixels x 4 frames of 2000 e- per point: V known to ~1e-3, the fitted FWHM to ~0.3 %
    assert abs(fwhm) == pytest.approx(fwhm_expected, rel=0.02)
    assert z0 == pytest.approx(50.0, abs=0.02 * fwhm_expected)
    assert a == pytest.approx(0.6, rel=0.02)
    # carrier: a quarter-wave delay step changes the path by p lambda_i / 4, the phase by p pi / 2
    bench.delay_stage.move_to(50.0)
    z_a, _ = fringe(bench, volts_per_2pi, frames=2)
    bench.delay_stage.move_to(50.0 + LAMBDA_I_UM / 4)
    z_b, _ = fringe(bench, volts_per_2pi, frames=2)
    shift = np.angle(z_b / z_a)
    assert abs(shift) == pytest.approx(passes * np.pi / 2, rel=0.02)


def test_reflector_out_of_the_beam_sends_no_idler_back_so_no_fringes():
    bench = quick_bench(sample="three-layer", roi=(1060, 820, 20, 20), delay_um=80.0, laser={"rin_rms": 0.0})
    bench.laser.set_emission(True)
    _, v_in = fringe(bench, 7.75, frames=2)
    assert v_in == pytest.approx(0.6 * 0.8, rel=0.02)  # back mirror, r = 0.8, at its zero path
    bench.sample_stage.move_to(25_000.0)  # sample out: nothing reflects the idler
    _, v_out = fringe(bench, 7.75, frames=2)
    # no interference term at all: what is left is the noise floor of the V estimator (~0.01 per pixel here)
    assert v_out < 0.02


def test_default_bench_is_not_pre_aligned_and_its_calibration_finds_zero_path():
    loaded = load_config(SIM_CONFIG)
    sim, cal = loaded.settings.simulation, loaded.settings.calibration
    assert cal.zero_path_delay_um == sim.zero_path_delay_um
    lo, hi = loaded.settings.delay_stage.min_um, loaded.settings.delay_stage.max_um
    assert lo + 0.2 * (hi - lo) < sim.zero_path_delay_um < hi - 0.2 * (hi - lo)  # plausible, not at a stop or centre
    assert sim.zero_path_delay_um != (lo + hi) / 2
    bench = quick_bench(sample="empty", zero_path_delay_um=sim.zero_path_delay_um, roi=ROI, laser={"rin_rms": 0.0})
    bench.laser.set_emission(True)
    _, v_home = fringe(bench, 7.75)
    bench.delay_stage.move_to(cal.zero_path_delay_um)
    _, v_zero = fringe(bench, 7.75)
    assert v_home < 0.02  # 41 um from zero path: g = exp(-4 ln2 (82.6 / 42.4)^2) ~ 3e-5
    assert v_zero == pytest.approx(0.6, rel=0.02)


def test_a_delay_scan_of_the_default_bench_finds_its_zero_path(tmp_path):
    # the first job of a morning at the bench, rehearsed: scan the delay with an empty sample, find the envelope peak
    from app.bench_factory import open_bench
    from app.engine.runner import Runner
    from tests.test_engine_fixtures import small_loaded

    loaded = small_loaded(tmp_path, sample="empty")
    with open_bench(loaded) as bench:
        result = Runner(bench).run("delay-scan", {"start_um": 0.0, "stop_um": 100.0, "step_um": 2.0,
                                                  "frames_per_step": 1}, path=tmp_path / "scan.h5")
        depth = np.asarray(result.results["depth_um"])
    assert result.status == "complete"
    # 2 um steps across an envelope of 21.2 um FWHM, sub-step peak: the median over 64 x 64 pixels within 0.5 um
    assert np.nanmedian(depth) == pytest.approx(loaded.settings.simulation.zero_path_delay_um, abs=0.5)

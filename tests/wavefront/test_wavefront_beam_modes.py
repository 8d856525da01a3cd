"""Beam-weighted search modes, the secant-curvature N+1 model and the wrap-avoiding piston, against hand-worked
cases; and a small AO run on the simulated bench with them (imperfect SLM, camera noise)."""

from __future__ import annotations

import numpy as np
import pytest

from app.wavefront.beam_modes import (
    beam_search_modes, centre_piston, gaussian_beam_intensity, secant_curvatures,
)
from app.wavefront.loop import VisibilityMetric, run_modal_correction
from app.wavefront.modal import step_n_plus_1
from app.wavefront.zernike import Pupil, ZernikeBasis
from sim_backends.quick import quick_bench


def test_the_piston_puts_the_beam_weighted_circular_mean_at_pi():
    intensity = np.ones((4, 4))
    assert np.allclose(centre_piston(np.full((4, 4), 0.3), intensity), np.pi)
    # half the weight at 0.2, half at 0.6: circular mean 0.4 -> shifted by pi - 0.4, differences kept
    mask = np.where(np.arange(4)[None, :] < 2, 0.2, 0.6) * np.ones((4, 1))
    shifted = centre_piston(mask, intensity, stride=1)
    assert np.allclose(shifted, mask + np.pi - 0.4, atol=1e-6)


def test_secant_curvature_of_a_two_valued_mode_is_minus_log_cos_over_b_squared():
    # M = +1 on half the beam, -1 on the other: |<exp(i p b M)>| = |cos(p b)| exactly
    mode = np.where(np.arange(8)[None, :] < 4, 1.0, -1.0) * np.ones((8, 1))
    p, b = 2, 0.35
    k = secant_curvatures([mode], np.ones((8, 8)), p, b, stride=1)[0]
    assert k == pytest.approx(-np.log(np.cos(p * b)) / b**2, rel=1e-12)
    assert secant_curvatures([mode], np.ones((8, 8)), p, 1e-4, stride=1)[0] == pytest.approx(p**2 / 2, rel=1e-6)


def test_n_plus_1_with_the_secant_curvature_stays_at_the_optimum_where_the_quadratic_model_moves_off():
    # log-metric of the two-valued mode at shown coefficient a with the aberration cancelled: ln|cos(p a)|
    p, b = 2, 0.35

    def measure(a):
        return abs(np.cos(p * a[0]))

    secant = -np.log(np.cos(p * b)) / b**2
    assert step_n_plus_1(measure, np.zeros(1), b, curvature=secant).delta_rad_rms[0] == pytest.approx(0.0, abs=1e-12)
    quadratic = step_n_plus_1(measure, np.zeros(1), b, curvature=p**2 / 2).delta_rad_rms[0]
    # hand-worked: a = (k_sec / k_quad) b / 2 - b / 2 -> the quadratic model steps away from the optimum
    assert quadratic == pytest.approx(-(secant / (p**2 / 2) - 1) * b / 2, rel=1e-9)
    assert abs(quadratic) > 0.01


def test_search_modes_are_orthonormal_over_the_beam_inside_the_pupil_and_map_to_the_saved_basis():
    shape, pupil = (96, 96), Pupil((47.0, 48.5), 30.0)
    basis = ZernikeBasis(range(5, 11), pupil, shape)
    intensity = gaussian_beam_intensity(shape, pupil)
    modes = beam_search_modes(basis, intensity, 1.5, pass_count=2, bias_rad=0.35)
    rho = np.hypot(np.arange(96)[None, :] - 48.5, np.arange(96)[:, None] - 47.0) / 30.0
    w = np.where(basis.mask, pupil.coverage(shape) * np.exp(-2 * rho**2), 0.0)[basis.mask]
    w /= w.sum()
    search = np.stack([basis.wavefront_rad(column)[basis.mask] for column in modes.to_basis.T])
    assert np.allclose((search * w) @ search.T, np.eye(6), atol=1e-9)
    assert np.all(modes.curvature > 0)


def test_the_curvature_counts_only_the_beam_the_correction_reaches():
    # a mode stopping at the pupil edge (extent 1) with zero beam-weighted mean inside: over the whole Gaussian
    # beam its variance is (1 - f) times that over the beam inside the pupil, f = e^-2 the power beyond the
    # 1/e^2 radius; the tails carry the uncorrected, scrambled aberration and add no coherent term
    shape, pupil = (160, 160), Pupil((79.5, 79.5), 30.0)
    basis = ZernikeBasis(range(5, 9), pupil, shape)
    intensity = gaussian_beam_intensity(shape, pupil)
    b = 1e-3  # the small-phase limit: p^2 var / 2
    at_pupil = beam_search_modes(basis, intensity, 1.0, pass_count=2, bias_rad=b)
    phases = [basis.continued_wavefront_rad(column, 1.0) for column in at_pupil.to_basis.T]
    whole_beam = secant_curvatures(phases, intensity, 2, b)
    assert np.allclose(at_pupil.curvature / whole_beam, 1.0 / (1.0 - np.exp(-2.0)), rtol=0.01)
    # modes continued to 3 radii reach (all but 1e-8 of) the beam: the whole-beam value
    far = beam_search_modes(basis, intensity, 3.0, pass_count=2, bias_rad=b)
    far_phases = [basis.continued_wavefront_rad(column, 3.0) for column in far.to_basis.T]
    assert np.allclose(far.curvature, secant_curvatures(far_phases, intensity, 2, b), rtol=1e-6)


@pytest.fixture(scope="module")
def small_ao_run():
    roi = (1008, 1008, 32, 32)
    aberration = {5: 0.6, 7: 0.45}  # astigmatism and coma, 0.75 rad RMS of wavefront
    bench = quick_bench(sample="empty", roi=roi, aberration_zernike_rad=aberration)
    bench.slm.lut = bench.slm.ideal_lut()
    centre, radius = bench.world.slm_pupil_truth()  # as registered (the benchmark measures it through the bench)
    pupil = Pupil(tuple(centre), radius)
    basis = ZernikeBasis((5, 6, 7, 8), pupil, bench.slm.shape)
    intensity = gaussian_beam_intensity(bench.slm.shape, pupil)
    modes = beam_search_modes(basis, intensity, 1.0, bench.world.pass_count, 0.35)
    run = run_modal_correction(bench, basis, "n+1", bias_rad=0.35, cycles=3, roi_px=32, frames_per_step=2,
                               pass_count=bench.world.pass_count, search_modes=modes, extent_radii=1.0,
                               mask_transform=lambda m: centre_piston(m, intensity))
    truth = ZernikeBasis((5, 6, 7, 8), pupil, bench.slm.shape)
    w = bench.world.aberration_on_slm_rad(bench.slm.shape).astype(np.float64)
    residual_before = float(np.linalg.norm(truth.project(w)))
    residual_after = float(np.linalg.norm(truth.project(w + bench.world.pass_count * run.correction.phase_rad())))
    return bench, run, residual_before, residual_after


def test_n_plus_1_in_beam_modes_cuts_the_residual_by_at_least_4_on_the_simulated_bench(small_ao_run):
    bench, run, before, after = small_ao_run
    assert before == pytest.approx(0.75, abs=0.02)
    assert after <= before / 4
    assert run.visibility_after > run.visibility_before
    assert not bench.world.state.laser_emission


@pytest.mark.parametrize("option, value", [("trials", 0), ("bias", 0.0), ("frames_per_step", 0), ("usaf_trials", -1)])
def test_bench_ao_refuses_a_bad_option_in_one_line_before_anything_moves(option, value):
    from types import SimpleNamespace

    from app.benchmarks.ao import main
    from app.cli import CliError

    args = SimpleNamespace(trials=1, bias=0.35, frames_per_step=2, seed=1, usaf_trials=0, workers=1)
    setattr(args, option, value)
    with pytest.raises(CliError, match="--trials >= 1, --bias > 0 rad"):
        main(args)

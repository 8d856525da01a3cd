"""The AO measurement loop on a tiny simulated bench (imperfect SLM, ideal LUT), against the world's truth.

Ground truth: the world's aberration W on the SLM pixels at the *true* pupil geometry
(``world.aberration_on_slm_rad``), its conjugate -W/p (``world.conjugate_slm_phase_rad``), and the
visibility of an aberration-free bench measured the same way. Residual = W + p x correction projected on
the corrected modes over the true pupil (rad RMS of wavefront).
"""

from __future__ import annotations

import numpy as np
import pytest

from app.wavefront.loop import VisibilityMetric, run_modal_correction
from app.wavefront.masks import Correction, compose_mask
from app.wavefront.zernike import Pupil, ZernikeBasis
from sim_backends.quick import quick_bench

ROI = (1008, 1008, 32, 32)  # 32 x 32 at the field centre
ABERRATION = {4: 0.6, 5: 0.45}  # defocus and astigmatism, rad RMS of wavefront (0.75 rad RMS together)
EXTENT = 1.5  # modes continued to 1.5 pupil radii: the pump's tail beyond its 1/e^2 radius is corrected too


def bench_with(aberration):
    bench = quick_bench(sample="empty", roi=ROI, aberration_zernike_rad=aberration, slm={"flicker_rad_rms": 0.02})
    bench.slm.lut = bench.slm.ideal_lut()  # no LUT error mixed in
    return bench


def basis_for(bench, noll=(4, 5)):
    centre, radius = bench.world.slm_pupil_configured()
    return ZernikeBasis(noll, Pupil(tuple(centre), radius), bench.slm.shape)


def residual_rad_rms(bench, phase_rad, noll=(4, 5)) -> float:
    centre, radius = bench.world.slm_pupil_truth()
    truth = ZernikeBasis(noll, Pupil(tuple(centre), radius), bench.slm.shape)
    w = bench.world.aberration_on_slm_rad(bench.slm.shape).astype(np.float64)
    return float(np.linalg.norm(truth.project(w + bench.world.pass_count * phase_rad)))


@pytest.fixture(scope="module")
def aberration_free_visibility():
    bench = bench_with({})
    metric = VisibilityMetric(bench, roi_px=32, frames_per_step=1)
    try:
        return metric(np.zeros(bench.slm.shape, np.float32))
    finally:
        metric.close()


@pytest.fixture(scope="module")
def corrected():
    bench = bench_with(ABERRATION)
    run = run_modal_correction(bench, basis_for(bench), "2n+1", bias_rad=0.35, cycles=2, roi_px=32,
                               extent_radii=EXTENT,
                               frames_per_step=1, pass_count=bench.world.pass_count, wavelength_nm=1550.0)
    return bench, run


def test_2n_plus_1_brings_the_residual_below_0_15_rad_and_the_visibility_to_95_percent(corrected,
                                                                                         aberration_free_visibility):
    bench, run = corrected
    assert residual_rad_rms(bench, np.zeros(bench.slm.shape)) == pytest.approx(0.75, abs=0.02)  # the truth, seen
    assert residual_rad_rms(bench, run.correction.phase_rad()) <= 0.15
    assert run.visibility_after >= 0.95 * aberration_free_visibility
    assert run.visibility_before < 0.8 * aberration_free_visibility  # the aberration did cost visibility
    assert run.n_measurements == 1 + 2 * (2 * 2 + 1) + 1  # before, 2 cycles of 2N+1, after


def test_the_laser_is_off_after_a_correction(corrected):
    bench, _ = corrected
    assert bench.world.state.laser_emission is False


def test_the_laser_is_off_when_the_metric_fails(monkeypatch):
    bench = bench_with(ABERRATION)

    def broken(*args, **kwargs):
        raise RuntimeError("camera lost")

    metric = VisibilityMetric(bench, roi_px=32, frames_per_step=1)
    metric.prepare()
    assert bench.world.state.laser_emission is True
    monkeypatch.setattr(metric, "visibility_map", broken)
    with pytest.raises(RuntimeError, match="camera lost"):
        run_modal_correction(bench, basis_for(bench), "n+1", metric=metric)
    assert bench.world.state.laser_emission is False


def test_a_saved_and_loaded_correction_gives_the_identical_mask(corrected, tmp_path):
    _, run = corrected
    path = run.correction.save(tmp_path / "ao.json")
    loaded = Correction.load(path)
    shape = run.correction.slm_shape
    assert np.array_equal(compose_mask(shape, correction=loaded), compose_mask(shape, correction=run.correction))
    assert loaded.metadata["method"] == "2n+1" and loaded.wavelength_nm == 1550.0 and loaded.extent_radii == EXTENT
    assert np.any(compose_mask(shape, correction=loaded)[~basis_for_shape(loaded).mask] != 0)  # continued outside


def basis_for_shape(correction):
    return correction.basis()


def test_the_modes_continued_beyond_the_pupil_are_the_same_polynomials():
    """Defocus sqrt(3) (2 rho^2 - 1), written out, at 1.2 pupil radii; unit RMS over the disc."""
    pupil = Pupil((50.0, 60.0), 40.0)
    basis = ZernikeBasis([4], pupil, (100, 120))
    phase = basis.continued_wavefront_rad([0.5], 1.5)
    rho = np.hypot(np.arange(120) - 60.0, 0.0) / 40.0  # along row 50
    outside = (rho > 1.05) & (rho <= 1.5)
    expected = 0.5 * np.sqrt(3) * (2 * rho**2 - 1)
    assert np.allclose(phase[50, outside], expected[outside], rtol=2e-3)
    assert np.all(phase[np.hypot(*np.indices((100, 120)) - np.array([50.0, 60.0])[:, None, None]) > 61] == 0)


def test_the_metric_of_the_perfect_conjugate_mask_beats_no_mask():
    bench = bench_with(ABERRATION)
    metric = VisibilityMetric(bench, roi_px=32, frames_per_step=1)
    try:
        none = metric(np.zeros(bench.slm.shape, np.float32))
        conjugate = metric(bench.world.conjugate_slm_phase_rad(bench.slm.shape))
    finally:
        metric.close()
    # V/V0 = |<exp(i W)>| over the pump intensity: ~exp(-0.75^2 / 2) = 0.75 for the bare aberration
    assert conjugate > 1.2 * none

"""The imperfect simulated SLM seen through the camera, against its equations (decision 0010, SLM section).

Fringe phase and visibility come from 4-step piezo phase stepping written out here (z = sum a_k e^{i theta_k};
the fringe sum rotates by -dphi when the interference phase grows by dphi), on a small ROI at the field
centre. Predictions are pupil integrals written out here: V/V0 = |sum_pupil w exp(i(W + p phi_slm))| / sum w,
w = exp(-2 r^2 / R^2) the pump intensity (R its 1/e^2 radius on the SLM), never the simulator's optics.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from scipy.special import erf

from app.config import load_config
from drivers.slm_lut import phase_levels, phase_to_gray
from sim_backends.quick import quick_bench
from sim_backends.settings import SimSlmConfig
from tests.helpers import SIM_CONFIG, write_config

ROI = (992, 992, 64, 64)  # 64 x 64 pixels at the field centre: ~8e6 e- per frame, phase noise ~1e-3 rad
VOLTS_PER_2PI = 7.75  # idler piezo, double pass, 0.1 um/V
QUIET = {"rin_rms": 0.0}


def bench_with(slm=None, **simulation):
    bench = quick_bench(sample="empty", roi=ROI, laser=QUIET, slm={"flicker_rad_rms": 0.0, **(slm or {})},
                        **simulation)
    bench.laser.set_emission(True)
    return bench


def fringe(bench, frames_per_step=2):
    """(ROI-mean complex fringe 2 z / sum a, per-pixel normalised) from a 4-step piezo scan."""
    means = []
    for k in range(4):
        bench.phase_piezo.move_to(10.0 + VOLTS_PER_2PI * k / 4)
        means.append(np.mean([bench.camera.read_frame().data.astype(np.float64) - 100.0
                              for _ in range(frames_per_step)], axis=0))
    means = np.array(means)
    z = np.tensordot(np.exp(2j * np.pi * np.arange(4) / 4), means, axes=1)
    return complex(np.mean(2 * z / means.sum(axis=0)))


def show_gray(slm, gray_level, *, wait=True):
    """A uniform gray level through the contract's linear LUT: phase at the middle of level g, undithered (the
    floor rule; dithered, the middle of level g is gray g + 1/2 on average)."""
    levels = len(slm.lut)
    slm.show(np.full(slm.shape, 2 * np.pi * (gray_level + 0.5) / levels, np.float32), wait=wait, dither="off")
    assert int(slm.gray_levels[0, 0]) == gray_level


def wrapped(x):
    return (x + np.pi) % (2 * np.pi) - np.pi


def s_response(gray, bits=8, gray_at_2pi=212.0, s=0.35):
    """The configured true response, written out: 2 pi S(g/g_max) / S(g_2pi/g_max), S(u) = u + s sin^2(pi u)(u - 1/2)."""
    g_max = 2**bits - 1.0
    shape = lambda u: u + s * np.sin(np.pi * u) ** 2 * (u - 0.5)  # noqa: E731
    return 2 * np.pi * shape(np.asarray(gray) / g_max) / shape(gray_at_2pi * 2**bits / 256 / g_max)


def pupil_weight(world, shape):
    (r0, c0), radius = world.slm_pupil_truth()
    rows = np.arange(shape[0])[:, None] - r0
    cols = np.arange(shape[1])[None, :] - c0
    return np.exp(-2 * (rows**2 + cols**2) / radius**2)


# ------------------------------------------------------------------------------ (a) response
@pytest.mark.parametrize("bits", [8, 10])
def test_a_uniform_gray_level_shifts_the_fringe_by_p_times_its_true_phase(bits):
    bench = bench_with(slm={"bits": bits})
    z0 = fringe(bench)
    scale = 2**bits // 256
    for g8 in (40, 100, 160, 212, 240):
        show_gray(bench.slm, g8 * scale)
        shift = -np.angle(fringe(bench) / z0)
        expected = 2 * s_response(g8 * scale, bits)  # p = 2 (michelson)
        # absolute 0.02 rad (the expected phases reach 4.2 pi; 2 % of them would hide a gray level's worth)
        assert wrapped(shift - expected) == pytest.approx(0.0, abs=0.02), g8
    linear = 2 * 2 * np.pi * 100 / 212  # what a linear panel would give at gray 100: the S-curve is visible
    show_gray(bench.slm, 100 * scale)
    assert abs(wrapped(-np.angle(fringe(bench) / z0) - linear)) > 0.2


# ------------------------------------------------------------------------------ (b) pupil
@pytest.mark.parametrize("axis", ["col", "row"])
def test_a_pi_half_plane_step_dips_deepest_at_the_true_pupil_centre_not_the_configured_one(axis):
    bench = bench_with()
    slm, world = bench.slm, bench.world
    slm.lut = slm.ideal_lut()
    v_flat = abs(fringe(bench))
    (true_r, true_c), radius = world.slm_pupil_truth()
    (conf_r, conf_c), conf_radius = world.slm_pupil_configured()
    assert (true_r - conf_r, true_c - conf_c) == (-3.5, 5.0)  # [simulation] slm_pupil_offset_px = (dx, dy)
    assert radius == pytest.approx(1.04 * conf_radius) and conf_radius == pytest.approx(1500 / 8.0)
    centre, index = (true_c, 1) if axis == "col" else (true_r, 0)
    delivered = 2 * s_response(slm.lut[phase_levels(np.array([np.pi / 2]), 256)[0]])  # pupil step p phi: pi up to one gray level
    offsets = np.array([-20.0, -10.0, -5.0, -2.0, 0.0, 2.0, 5.0, 10.0, 20.0])
    ratios = []
    for d in offsets:
        edge = centre + d  # the step sits between pixel edge - 1/2 and edge + 1/2 ... pixels >= edge get pi/p
        grid = np.indices(slm.shape)[index]
        slm.show(np.where(grid >= np.ceil(edge), np.pi / 2, 0.0).astype(np.float32))
        ratios.append(abs(fringe(bench)) / v_flat)
        # the pump weight beyond the edge: F = (1 - erf(sqrt2 (edge_px - c) / R)) / 2, Gaussian marginal sigma R/2
        f = 0.5 * (1 - erf(np.sqrt(2) * (np.ceil(edge) - 0.5 - centre) / radius))
        predicted = abs(1 - f + f * np.exp(1j * delivered))
        assert ratios[-1] == pytest.approx(predicted, abs=0.01), d
    assert offsets[int(np.argmin(ratios))] == 0.0 and ratios[int(np.argmin(ratios))] < 0.03
    # at the configured centre (5 px left or 3.5 px below the truth) the dip is measurably shallower
    conf = conf_c if axis == "col" else conf_r
    grid = np.indices(slm.shape)[index]
    slm.show(np.where(grid >= np.ceil(conf), np.pi / 2, 0.0).astype(np.float32))
    assert abs(fringe(bench)) / v_flat > min(ratios) + 0.01


# ------------------------------------------------------------------------------ (c) response time
@pytest.mark.parametrize("exposure_s", [0.02, 0.1])
def test_frames_right_after_show_without_wait_see_the_exposure_mean_of_the_relaxing_crystal(exposure_s):
    bench = quick_bench(sample="empty", roi=ROI, laser=QUIET, camera={"exposure_s": exposure_s},
                        slm={"flicker_rad_rms": 0.0})
    bench.laser.set_emission(True)
    slm, tau = bench.slm, 0.02
    assert slm.settle_time_s == pytest.approx(7 * tau)
    z_old = fringe(bench)
    frame_period = exposure_s + 64 * 4.87e-6
    for delay_frames in (0, 1):
        zs = []  # each piezo step gets its own fresh transient, so the 4 frames share the same mean weight
        for k in range(4):
            bench.phase_piezo.move_to(10.0 + VOLTS_PER_2PI * k / 4)
            show_gray(slm, 0)
            show_gray(slm, 60, wait=False)
            assert not slm.read_state().settled
            for _ in range(delay_frames):
                bench.camera.read_frame()
            zs.append(bench.camera.read_frame().data.astype(np.float64) - 100.0)
        zs = np.array(zs)
        z = complex(np.mean(2 * np.tensordot(np.exp(2j * np.pi * np.arange(4) / 4), zs, axes=1) / zs.sum(axis=0)))
        a, b = delay_frames * frame_period, delay_frames * frame_period + exposure_s
        w_bar = 1 - tau * (np.exp(-a / tau) - np.exp(-b / tau)) / exposure_s  # closed form, written out
        expected = 2 * w_bar * s_response(60)
        assert wrapped(-np.angle(z / z_old) - expected) == pytest.approx(0.0, abs=0.02 * max(1.0, expected))
        assert abs(z) == pytest.approx(abs(z_old), rel=0.02)  # a uniform mask keeps the visibility
    bench.world.advance(slm.settle_time_s)
    assert slm.read_state().settled


def test_a_half_plane_step_shown_without_wait_dips_by_the_mean_weight():
    bench = quick_bench(sample="empty", roi=ROI, laser=QUIET, camera={"exposure_s": 0.02},
                        slm={"flicker_rad_rms": 0.0, "crosstalk_sigma_px": 0.0})
    bench.laser.set_emission(True)
    slm = bench.slm
    slm.lut = slm.ideal_lut()
    v_flat = abs(fringe(bench))
    (r0, c0), radius = bench.world.slm_pupil_truth()
    cols = np.indices(slm.shape)[1]
    step = np.where(cols >= np.ceil(c0), np.pi / 2, 0.0).astype(np.float32)
    zs = []
    for k in range(4):
        bench.phase_piezo.move_to(10.0 + VOLTS_PER_2PI * k / 4)
        slm.show(np.zeros(slm.shape, np.float32))
        slm.show(step, wait=False)
        zs.append(bench.camera.read_frame().data.astype(np.float64) - 100.0)
    zs = np.array(zs)
    v = abs(np.mean(2 * np.tensordot(np.exp(2j * np.pi * np.arange(4) / 4), zs, axes=1) / zs.sum(axis=0)))
    w_bar = 1 - (1 - np.exp(-1.0))  # exposure = tau, starting at the show
    delta = w_bar * 2 * s_response(slm.lut[phase_levels(np.array([np.pi / 2]), 256)[0]])
    f = 0.5 * (1 - erf(np.sqrt(2) * (np.ceil(c0) - 0.5 - c0) / radius))
    assert v / v_flat == pytest.approx(abs(1 - f + f * np.exp(1j * delta)), rel=0.02)


# ------------------------------------------------------------------------------ (d) flicker
def test_flicker_adds_global_phase_noise_of_the_configured_rms():
    bench = quick_bench(sample="empty", roi=(1000, 1000, 48, 48), laser=QUIET, camera={"exposure_s": 0.01},
                        slm={"flicker_rad_rms": 0.02})
    bench.laser.set_emission(True)
    # A, B, psi of the ROI sum from a long 4-step scan (flicker averages out of them to 1e-4)
    sums = []
    for k in range(4):
        bench.phase_piezo.move_to(10.0 + VOLTS_PER_2PI * k / 4)
        sums.append(np.mean([bench.camera.read_frame().data.sum(dtype=np.float64) for _ in range(200)]))
    sums = np.array(sums) - 100.0 * 48 * 48
    a_mean = sums.mean()
    z = np.sum(np.exp(2j * np.pi * np.arange(4) / 4) * sums) / 2  # = B e^{-i psi}
    psi = -np.angle(z)
    # to quadrature: theta + psi = pi/2, where the ROI sum is A - B sin(delta)
    theta = (np.pi / 2 - psi) % (2 * np.pi)
    bench.phase_piezo.move_to(10.0 + VOLTS_PER_2PI * theta / (2 * np.pi))
    series = np.array([bench.camera.read_frame().data.sum(dtype=np.float64) - 100.0 * 48 * 48 for _ in range(12000)])
    delta = np.arcsin(np.clip((a_mean - series) / abs(z), -1, 1))
    # p = 2 passes: the interferometer sees 2 x 0.02 rad; 12000 frames give the RMS to 0.65 % (1 sigma),
    # shot noise (2.7e6 e- per frame) adds 1e-3 rad in quadrature (0.03 %); tolerance 3 % = 4.6 sigma
    assert np.std(delta) == pytest.approx(2 * 0.02, rel=0.03)
    assert abs(np.corrcoef(delta[:-1], delta[1:])[0, 1]) < 0.05  # drawn anew for every exposure


def test_the_flicker_series_is_a_function_of_the_seed_and_frame_number():
    def series():
        bench = quick_bench(sample="empty", roi=(1000, 1000, 16, 16), laser=QUIET, slm={"flicker_rad_rms": 0.05})
        bench.laser.set_emission(True)
        return [bench.camera.read_frame().data.sum() for _ in range(5)]

    assert series() == series()


# ------------------------------------------------------------------------------ (e) correction
def predicted_ratio(world, slm, phase_rad, sigma_px):
    """|<exp(i(W + p phi_delivered))>_pump|, phi_delivered = Gauss(sigma) * response(gray image of the phase)."""
    w = world.aberration_on_slm_rad(slm.shape)
    delivered = s_response(phase_to_gray(phase_rad, slm.lut, dither=slm.dither, gray_max=slm.gray_max))
    if sigma_px > 0:
        delivered = gaussian_filter(delivered, sigma_px, mode="nearest")
    weight = pupil_weight(world, slm.shape)
    return abs(np.sum(weight * np.exp(1j * (w + 2 * delivered)))) / weight.sum()


def test_the_conjugate_mask_through_an_ideal_lut_restores_visibility_and_the_naive_lut_does_not():
    coeffs = {5: 0.6, 7: 0.8}  # 1 rad RMS
    plain = bench_with()
    v_plain = abs(fringe(plain))
    bench = bench_with(aberration_zernike_rad=coeffs)
    slm, world = bench.slm, bench.world
    assert abs(fringe(bench)) / v_plain < 0.8
    conjugate = world.conjugate_slm_phase_rad(slm.shape)  # -W/2 at the true pupil
    slm.lut = slm.ideal_lut()
    slm.show(conjugate)
    ideal = abs(fringe(bench)) / v_plain
    assert ideal == pytest.approx(predicted_ratio(world, slm, conjugate, 0.7), rel=0.01)
    # the fringing field at the mask's 2 pi wraps costs ~3 % of the visibility at 0.7 px
    assert ideal > 0.96
    slm.lut = np.arange(256, dtype=np.uint8)  # naive linear LUT: the S-shaped panel gives the wrong phases
    slm.show(conjugate)
    naive = abs(fringe(bench)) / v_plain
    assert naive == pytest.approx(predicted_ratio(world, slm, conjugate, 0.7), rel=0.02)
    assert naive < ideal - 0.03


def test_without_crosstalk_the_ideal_lut_restores_visibility_within_2_percent():
    coeffs = {5: 0.6, 7: 0.8}
    v_plain = abs(fringe(bench_with(slm={"crosstalk_sigma_px": 0.0})))
    bench = bench_with(aberration_zernike_rad=coeffs, slm={"crosstalk_sigma_px": 0.0})
    bench.slm.lut = bench.slm.ideal_lut()
    bench.slm.show(bench.world.conjugate_slm_phase_rad(bench.slm.shape))
    assert abs(fringe(bench)) == pytest.approx(v_plain, rel=0.02)


def test_the_conjugate_at_the_configured_pupil_leaves_a_deficit():
    # what a user would do without registration: W evaluated around the configured centre and radius
    coeffs = {5: 0.6, 7: 0.8}
    bench = bench_with(aberration_zernike_rad=coeffs, slm={"crosstalk_sigma_px": 0.0})
    slm, world = bench.slm, bench.world
    v_plain = abs(fringe(bench_with(slm={"crosstalk_sigma_px": 0.0})))
    slm.lut = slm.ideal_lut()
    from sim_backends.pupil import slm_pixel_coordinates_um
    from sim_backends.zernike import wavefront_rad

    (cr, cc), radius = world.slm_pupil_configured()
    x, y = slm_pixel_coordinates_um(slm.shape, (cr, cc), 1500.0 / radius)
    slm.show((-wavefront_rad(coeffs, x, y, 1500.0) / 2).astype(np.float32))
    assert abs(fringe(bench)) / v_plain < 0.97


# ------------------------------------------------------------------------------ config
def test_old_full_scale_key_is_the_linear_case_of_the_new_ones():
    old = SimSlmConfig(backend="sim", phase_at_full_scale_rad=2 * np.pi * 256 / 200)
    assert old.gray_at_2pi == pytest.approx(200.0) and old.s_curve == 0.0
    with pytest.raises(ValueError, match="give gray_at_2pi and s_curve only"):
        SimSlmConfig(backend="sim", phase_at_full_scale_rad=6.0, gray_at_2pi=200.0)
    assert SimSlmConfig(backend="sim").effective_settle_time_s == pytest.approx(0.14)


def test_the_slm_table_of_the_default_config_builds_the_imperfect_panel(tmp_path):
    loaded = load_config(write_config(tmp_path, SIM_CONFIG.read_text().replace("s_curve = 0.35", "s_curve = 0.2")))
    section = loaded.settings.slm
    assert (section.bits, section.gray_at_2pi, section.s_curve, section.crosstalk_sigma_px) == (8, 212.0, 0.2, 0.7)
    assert loaded.settings.simulation.slm_pupil_offset_px == (5.0, -3.5)


def test_masks_shown_from_another_thread_while_frames_are_read_never_tear_a_frame():
    # the SLM updates the crystal under the world lock, the camera renders under it: each frame sees one state
    import threading

    bench = bench_with()
    z0 = fringe(bench)
    errors = []

    def shower():
        try:
            for k in range(12):
                show_gray(bench.slm, 40 + 10 * (k % 3))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=shower)
    thread.start()
    frames = [bench.camera.read_frame() for _ in range(30)]
    thread.join()
    assert not errors and len({f.frame_id for f in frames}) == 30
    bench.world.advance(bench.slm.settle_time_s)
    shift = -np.angle(fringe(bench) / z0)  # the last mask (gray 60) is what the optics see once settled
    assert wrapped(shift - 2 * s_response(60)) == pytest.approx(0.0, abs=0.02)


def test_the_optics_recompute_only_while_the_crystal_moves(monkeypatch):
    from sim_backends import pupil

    calls = []
    original = pupil.slm_pupil_field
    monkeypatch.setattr("sim_backends.optics.slm_pupil_field", lambda *a, **k: calls.append(1) or original(*a, **k))
    bench = bench_with()
    show_gray(bench.slm, 50)  # waits 7 tau: frame 1 still sees 2e-4 of the step, frame 2 ~1e-6, then settled
    for _ in range(12):
        bench.camera.read_frame()
    assert 1 <= len(calls) <= 3
    calls.clear()
    for _ in range(12):
        bench.camera.read_frame()
    assert calls == []


@pytest.mark.parametrize(("old", "new", "words"), [
    ("s_curve = 0.35", "s_curve = 0.35\nphase_at_full_scale_rad = 6.0", ["gray_at_2pi", "phase_at_full_scale_rad"]),
    ("bits = 8 ", "bits = 12 ", ["slm.bits", "8 or 10"]),
])
def test_bad_slm_keys_get_one_line_naming_the_key(tmp_path, old, new, words):
    from app.config import ConfigError

    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path, SIM_CONFIG.read_text().replace(old, new)))
    message = str(info.value)
    assert "\n" not in message and all(w in message for w in words)

"""The simulated interferometer against its physics: visibility, source balance, pump power, PSF, SLM.

Fringe parameters are measured from phase-stepped frames with the textbook N-step formulas written
out here (V = 2 |sum a_k exp(i theta_k)| / sum a_k), and compared with the model's equations
(Lemos et al. 2014; DESIGN.md section 4), never with the simulator's own internals.
"""

import numpy as np
import pytest

from sim_backends.samples import Sample
from sim_backends.quick import quick_bench

STEPS = 4
VOLTS_PER_2PI = 7.75  # idler 1550 nm, mirror double pass, 0.1 um/V: 4 pi (7.75 * 0.1 um) / 1.55 um = 2 pi
CENTRE = (slice(200, 312), slice(200, 312))  # inside the field, frame coordinates of a 512 ROI


def phase_stepped(bench, frames_per_step=4):
    """(N, h, w) dark-subtracted mean frame per step, and the complex fringe sum."""
    offset = bench.world.camera.offset_adu
    means = []
    for k in range(STEPS):
        bench.phase_piezo.move_to(10.0 + VOLTS_PER_2PI * k / STEPS)
        stack = [bench.camera.read_frame().data.astype(np.float64) for _ in range(frames_per_step)]
        means.append(np.mean(stack, axis=0) - offset)
    means = np.array(means)
    theta = 2 * np.pi * np.arange(STEPS) / STEPS
    return means, np.tensordot(np.exp(1j * theta), means, axes=1)


def visibility(bench, frames_per_step=4):
    means, fringe = phase_stepped(bench, frames_per_step)
    return 2 * np.abs(fringe) / means.sum(axis=0)


def set_transmission(bench, t):
    bench.world.sample = Sample.uniform("test", t)


@pytest.mark.parametrize(("geometry", "volts_per_2pi", "passes"), [("mach-zehnder", 15.5, 1), ("michelson", 7.75, 2)])
def test_thin_sample_acts_once_per_pass_of_the_geometry(geometry, volts_per_2pi, passes):
    # single pass: V = V0 |t|, phase arg t; double pass (Michelson): the idler crosses the sample twice, t^2.
    bench = quick_bench(sample="empty", geometry=geometry, laser={"rin_rms": 0.0})
    bench.laser.set_emission(True)
    global VOLTS_PER_2PI
    saved, VOLTS_PER_2PI = VOLTS_PER_2PI, volts_per_2pi  # the piezo mirror is crossed as often as the sample
    try:
        _, empty = phase_stepped(bench)
        set_transmission(bench, 0.5 * np.exp(0.3j))
        # 2000 e- x 16 frames per pixel, 112 x 112 pixels: the median V has a relative error < 0.1 %
        assert np.median(visibility(bench)[CENTRE]) == pytest.approx(0.6 * 0.5**passes, rel=0.02)
        _, fringe = phase_stepped(bench)
    finally:
        VOLTS_PER_2PI = saved
    phase = np.angle(np.median((fringe / empty)[CENTRE].real) + 1j * np.median((fringe / empty)[CENTRE].imag))
    assert abs(phase) == pytest.approx(0.3 * passes, abs=0.01)


@pytest.mark.parametrize("ratio", [1 / 14, 4.0])
def test_unequal_source_rates_lower_the_visibility(ratio):
    bench = quick_bench(sample="empty", source_rate_ratio=ratio, laser={"rin_rms": 0.0})
    bench.laser.set_emission(True)
    expected = 0.6 * 2 * np.sqrt(ratio) / (1 + ratio)  # 2 sqrt(R1 R2) / (R1 + R2); r = 1/14 -> 0.4989
    assert np.median(visibility(bench)[CENTRE]) == pytest.approx(expected, rel=0.02)


def test_mean_signal_is_linear_in_pump_power_and_independent_of_the_sample():
    # SLM flicker off: a random phase per frame would keep the 4-step sum from cancelling the fringe exactly
    bench = quick_bench(sample="empty", roi=(896, 896, 256, 256), slm={"flicker_rad_rms": 0.0})
    bench.laser.set_emission(True)
    powers = np.array([0.02, 0.04, 0.06, 0.08, 0.1])
    signal = []
    for p in powers:
        bench.laser.set_power_w(p)
        means, _ = phase_stepped(bench, frames_per_step=2)  # the sum over a fringe cancels the interference
        signal.append(means.mean())
    slope, intercept = np.polyfit(powers, signal, 1)
    r2 = 1 - np.sum((signal - (slope * powers + intercept)) ** 2) / np.sum((signal - np.mean(signal)) ** 2)
    assert r2 > 0.999
    assert abs(intercept) < 0.01 * signal[-1]  # no signal without pump (dark already subtracted)
    empty = signal[-1]
    for t in (0.5, 0.1 * np.exp(1j)):
        set_transmission(bench, t)
        means, _ = phase_stepped(bench, frames_per_step=2)
        assert means.mean() == pytest.approx(empty, rel=0.005)  # induced coherence: |t| is only in V


def finest_resolved_element(pump_waist_um, threshold=0.2):
    """Index of the smallest USAF element whose bar contrast in |t| = V / V_ref stays >= threshold."""
    # monochromatic (one spectral node): the pump-waist law alone; the chromatic spread of the magnification
    # blurs off-axis elements radially whatever w_p (tests/test_sim_imaging.py)
    bench = quick_bench(sample="usaf", pump_waist_um=pump_waist_um, spectral_samples=1, laser={"rin_rms": 0.0})
    bench.laser.set_emission(True)
    bench.sample_stage.move_to(25_000.0)
    v_ref = visibility(bench, frames_per_step=2)
    bench.sample_stage.move_to(0.0)
    amplitude = visibility(bench, frames_per_step=2) / v_ref
    from sim_backends.usaf import bar_contrast

    contrasts = [bar_contrast(amplitude, el, offset=(768, 768)) for el in bench.world.usaf_elements()]
    resolved = [i for i, c in enumerate(contrasts) if c >= threshold]
    unresolved = [i for i, c in enumerate(contrasts) if c < threshold]
    return max(resolved), (min(unresolved) if unresolved else None)


def test_usaf_resolution_scales_with_the_pump_waist():
    # PSF on the camera: sigma = f_s lambda_s / (2 pi w_p p) (Fuenzalida et al. 2022), so the finest
    # resolved spatial frequency is proportional to w_p: halving w_p loses one USAF group = 6 elements.
    fine, _ = finest_resolved_element(1500.0)
    coarse, _ = finest_resolved_element(750.0)
    assert coarse < fine
    assert fine - coarse == pytest.approx(6, abs=1)


def zernike_5_7(rho, theta):
    """Noll Z5 = sqrt6 rho^2 sin 2theta, Z7 = sqrt8 (3 rho^3 - 2 rho) sin theta (unit RMS on the disc)."""
    return np.sqrt(6) * rho**2 * np.sin(2 * theta), np.sqrt(8) * (3 * rho**3 - 2 * rho) * np.sin(theta)


def test_aberration_lowers_visibility_and_the_conjugate_slm_mask_restores_it():
    coeffs = {5: 0.6, 7: 0.8}  # 1.0 rad RMS over the Zernike disc (orthonormal terms add in quadrature)
    plain = quick_bench(sample="empty", laser={"rin_rms": 0.0})
    plain.laser.set_emission(True)
    v_plain = np.median(visibility(plain)[CENTRE])

    # no crosstalk: the fringing field at the mask's 2 pi wraps costs ~3 % (tests/test_sim_slm_bench.py)
    bench = quick_bench(sample="empty", aberration_zernike_rad=coeffs, laser={"rin_rms": 0.0},
                        slm={"crosstalk_sigma_px": 0.0})
    bench.laser.set_emission(True)
    v_aberrated = np.median(visibility(bench)[CENTRE])
    # Independent prediction: V / V0 = |<exp(i W)>| weighted by the pump intensity exp(-2 rho^2 / w_p^2)
    # at the crystal (pupil) plane; w_p = Zernike radius = 1.5 mm here.
    r = np.linspace(0, 3, 1200)[:, None]
    th = np.linspace(0, 2 * np.pi, 720, endpoint=False)[None, :]
    z5, z7 = zernike_5_7(r, th)
    weight = np.exp(-2 * r**2) * r
    predicted = np.abs(np.sum(weight * np.exp(1j * (0.6 * z5 + 0.8 * z7)))) / np.sum(weight * np.ones_like(th))
    assert v_aberrated < 0.9 * v_plain
    assert v_aberrated / v_plain == pytest.approx(predicted, rel=0.03)

    w_on_slm = bench.world.aberration_on_slm_rad(bench.slm.shape)  # W at the pump's true place on the SLM
    bench.slm.lut = bench.slm.ideal_lut()  # a perfectly calibrated panel (its true response is S-shaped)
    bench.slm.show(-w_on_slm / 2)  # double pass (default michelson geometry): the conjugate mask is -W/2
    v_corrected = np.median(visibility(bench)[CENTRE])
    assert v_corrected == pytest.approx(v_plain, rel=0.02)
    bench.slm.show(-w_on_slm)  # the single-pass conjugate over-corrects: the pupil sees W - 2 W = -W, as lossy as W
    assert np.median(visibility(bench)[CENTRE]) / v_plain == pytest.approx(predicted, rel=0.03)


def test_single_pass_geometry_cancels_the_aberration_with_minus_w():
    coeffs = {5: 0.6, 7: 0.8}
    plain = quick_bench(sample="empty", geometry="mach-zehnder", laser={"rin_rms": 0.0})
    plain.laser.set_emission(True)
    global VOLTS_PER_2PI
    saved, VOLTS_PER_2PI = VOLTS_PER_2PI, 15.5
    try:
        v_plain = np.median(visibility(plain)[CENTRE])
        bench = quick_bench(sample="empty", geometry="mach-zehnder", aberration_zernike_rad=coeffs,
                            laser={"rin_rms": 0.0}, slm={"crosstalk_sigma_px": 0.0})
        bench.laser.set_emission(True)
        assert np.median(visibility(bench)[CENTRE]) < 0.9 * v_plain
        bench.slm.lut = bench.slm.ideal_lut()  # a perfectly calibrated panel
        bench.slm.show(bench.world.conjugate_slm_phase_rad(bench.slm.shape))  # -W / 1
        assert np.median(visibility(bench)[CENTRE]) == pytest.approx(v_plain, rel=0.02)
    finally:
        VOLTS_PER_2PI = saved

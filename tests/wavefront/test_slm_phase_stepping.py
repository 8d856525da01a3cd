"""SLM phase stepping (phase_stepper = "slm") on the simulated bench, against the panel's true response."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from app.bench_factory import open_bench
from app.engine import Runner
from app.engine.acquire import slm_step_mask
from app.engine.sequences import bench_facts
from app.storage import read_run_file
from app.wavefront.loop import VisibilityMetric
from tests.test_engine_fixtures import small_loaded
from tests.test_sim_slm_bench import pupil_weight, s_response


def delivered_phase_rad(bench, gray: np.ndarray) -> float:
    """What the true panel does with a gray image, written out: the phase of the pump-weighted mean of
    exp(i p phi) over the SLM, phi = crosstalk-smoothed true response of each pixel's gray level."""
    slm = bench.slm
    phi = s_response(gray, bits=slm.response.bits, gray_at_2pi=slm.response.gray_at_2pi, s=slm.response.s_curve)
    phi = gaussian_filter(phi, slm.crosstalk_sigma_px, mode="nearest")
    weight = pupil_weight(bench.world, slm.shape)
    return float(np.angle(np.sum(weight * np.exp(1j * bench.world.pass_count * phi))))


@pytest.mark.parametrize(("bits", "lut"), [(10, "integer"), (8, "fractional"), (8, "integer")])
def test_a_pi_over_2_slm_step_measures_what_the_dithered_panel_delivers_and_1_571_rad_through_a_precise_lut(
        tmp_path, bits, lut):
    """8 bits in double pass: one gray level is ~0.057 rad of interference phase. Dithering (the default) realises
    the LUT between gray levels; a LUT of whole gray levels (rounded, as its entry for pi/4 is: 32 for 32.49)
    still moves the step by up to ~0.03 rad, a LUT with fractional entries gives pi/2 to within 0.02 rad."""
    with open_bench(small_loaded(tmp_path, sample="empty", **{"bits = 8 ": f"bits = {bits} "})) as bench:
        slm, cal = bench.slm, bench_facts(bench).calibration
        assert slm.dither == "bayer4"  # the default config
        slm.lut = slm.ideal_lut(fractional=lut == "fractional")  # a calibrated panel
        passes = bench.world.pass_count
        bench.delay_stage.move_to(cal.zero_path_delay_um)
        bench.camera.start()
        meter = VisibilityMetric(bench, piezo_start=cal.piezo_start, piezo_travel_per_2pi=cal.piezo_travel_per_2pi,
                                 roi_px=32, frames_per_step=4)
        base = np.zeros(slm.shape)
        steps, truth = [], []
        try:
            for _ in range(4):
                phases, true_phases = [], []
                for step_rad in (0.0, np.pi / 2 / passes):
                    slm.show(slm_step_mask(base, step_rad), wait=True)
                    assert slm.read_state().dither == "bayer4"
                    true_phases.append(delivered_phase_rad(bench, slm.gray_levels))
                    maps = meter.maps()
                    phases.append(np.angle(np.mean(maps.visibility * np.exp(1j * maps.phase_rad))))
                steps.append(np.angle(np.exp(1j * (phases[1] - phases[0]))))
                truth.append(np.angle(np.exp(1j * (true_phases[1] - true_phases[0]))))
        finally:
            meter.close()
        assert not bench.world.state.laser_emission
    measured, delivered = float(np.mean(steps)), float(np.mean(truth))
    print(f"bits {bits}, {lut} LUT: pi/2 step measured {measured:.4f} rad, the true panel delivers {delivered:.4f}")
    assert measured == pytest.approx(delivered, abs=0.01)  # what the panel truly did, within the noise
    if lut == "fractional" or bits == 10:
        assert measured == pytest.approx(np.pi / 2, abs=0.02)
        assert delivered == pytest.approx(np.pi / 2, abs=0.01)


def test_a_phase_stepping_run_with_slm_steps_matches_the_piezo_run_and_keeps_the_piezo_still(tmp_path):
    params = {"frames_per_step": 4, "dark_frames": 4, "cycles": 2}
    with open_bench(small_loaded(tmp_path)) as bench:  # the horse: a phase object
        bench.slm.lut = bench.slm.ideal_lut()
        runner = Runner(bench)
        piezo = runner.run("phase-stepping", params, path=tmp_path / "piezo.h5")
        masks_before = bench.slm.cached_state.mask_id
        slm = runner.run("phase-stepping", {**params, "phase_stepper": "slm"}, path=tmp_path / "slm.h5")
        shown = bench.slm.cached_state.mask_id - masks_before
        assert not bench.world.state.laser_emission
    assert slm.status == "complete"
    prov = read_run_file(tmp_path / "slm.h5").provenance()
    lit = prov[prov["stage"] > 0]  # reference and sample (the dark does not step)
    assert np.ptp(lit["piezo_position"]) < 1e-9  # the piezo never moved: the SLM stepped
    assert shown == 2 * 4 * 2  # one mask per step visit: 2 stages x 4 steps x 2 cycles
    use = piezo["mask"].astype(bool) & slm["mask"].astype(bool)
    diff = np.angle(np.exp(1j * (slm["phase"] - piezo["phase"])))[use]
    diff = np.angle(np.exp(1j * (diff - np.angle(np.mean(np.exp(1j * diff))))))  # a global piston is no information
    sigma = np.hypot(piezo["sigma_phase"], slm["sigma_phase"])[use]
    assert np.sqrt(np.mean((diff / sigma) ** 2)) <= 1.3

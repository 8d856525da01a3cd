"""The SLM procedures through the Runner on the simulated bench, against the simulator's ground truth.

Ground truth: the world's true pupil (``world.slm_pupil_truth``, offset from the configured one), the
panel's true phase response (``slm.response.phase_of_gray``, sim_backends/slm_physics) and the true
aberration on the SLM (``world.aberration_on_slm_rad``).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from app.bench_factory import open_bench
from app.cli import main
from app.engine import Runner
from app.engine.params import ParameterError
from app.storage import read_run_file
from app.wavefront.masks import Correction, compose_mask
from app.wavefront.zernike import Pupil, ZernikeBasis
from drivers.slm_lut import load_lut
from tests.test_engine_fixtures import small_config, small_loaded

SMALL = {"roi_px": 32, "frames_per_step": 1, "dark_frames": 2}
ABERRATION = "aberration_zernike_rad = { 5 = 0.6, 6 = -0.4 }"  # rad RMS of wavefront, all passes
AO_PARAMS = {**SMALL, "modes": [5, 6], "cycles": 2, "bias_rad": 0.35, "extent_radii": 1.5}


def aberrated(tmp_path, name="bench.toml"):
    return small_loaded(tmp_path, sample="empty", name=name, **{"aberration_zernike_rad = {}": ABERRATION})


def residual_rad_rms(bench, slm_phase_rad, noll=(5, 6)) -> float:
    """True aberration + passes x SLM phase, projected on the corrected modes over the TRUE pupil."""
    centre, radius = bench.world.slm_pupil_truth()
    truth = ZernikeBasis(noll, Pupil(tuple(centre), radius), bench.slm.shape)
    w = bench.world.aberration_on_slm_rad(bench.slm.shape).astype(np.float64)
    return float(np.linalg.norm(truth.project(w + bench.world.pass_count * np.asarray(slm_phase_rad, np.float64))))


# ------------------------------------------------------------------------------------ pupil registration
def test_pupil_registration_finds_the_true_pupil_within_2_percent_centre_and_5_percent_radius(tmp_path):
    with open_bench(small_loaded(tmp_path, sample="empty")) as bench:
        (row, col), radius = bench.world.slm_pupil_truth()
        (crow, ccol), cradius = bench.world.slm_pupil_configured()
        assert np.hypot(row - crow, col - ccol) > 0.02 * radius  # the config is wrong by more than the target
        result = Runner(bench).run("pupil-registration", SMALL, path=tmp_path / "pupil.h5")
        assert not bench.world.state.laser_emission
    centre = result["pupil_centre_yx_px"]
    assert np.hypot(centre[0] - row, centre[1] - col) <= 0.02 * radius
    assert abs(result["pupil_radius_px"] - radius) <= 0.05 * radius
    stored = read_run_file(tmp_path / "pupil.h5")
    assert stored.status == "complete"
    assert np.array_equal(stored["pupil_centre_yx_px"], centre)
    assert int(stored["measurements_done"]) == 2 * (13 + 21)
    assert np.all(np.isfinite(stored["x_visibility"])) and np.all(np.isfinite(stored["y_edge_px"]))


# ------------------------------------------------------------------------------------ LUT calibration
def test_lut_calibration_recovers_the_true_response_with_drift_on_and_writes_the_lut_the_driver_loads(tmp_path):
    loaded = small_loaded(tmp_path, sample="empty", **{"phase_drift_rad_per_s = 0.0": "phase_drift_rad_per_s = 0.05",
                                                       "flicker_rad_rms = 0.0 ": "flicker_rad_rms = 0.02 "})
    with open_bench(loaded) as bench:
        assert bench.world.sim.phase_drift_rad_per_s == 0.05
        result = Runner(bench).run("lut-calibration", {**SMALL, "gray_step": 8}, path=tmp_path / "lut.h5")
        true = bench.slm.response.phase_of_gray(np.arange(256))
        true = true - true[0]
        true_2pi = float(np.interp(2 * np.pi, true, np.arange(256)))
        loaded_lut = bench.slm.lut.copy()
        laser = bench.world.state.laser_emission
    assert not laser
    assert np.sqrt(np.mean((result["response_rad"] - true) ** 2)) <= 0.03  # every gray level, 0..255
    assert abs(result["gray_at_2pi"] - true_2pi) <= 1.0
    assert result["phase_sign"] == 1
    on_disk = load_lut(tmp_path / "lut.lut")  # what the SLM drivers load
    assert np.array_equal(on_disk, result["lut"]) and np.array_equal(loaded_lut, on_disk)
    reference = result["reference_phase_rad"]  # the drift was there, and the bracketing took it out
    assert abs(np.angle(np.exp(1j * (reference[-1] - reference[0])))) > 0.1


# ------------------------------------------------------------------------------------ adaptive optics
@pytest.fixture(scope="module")
def ao_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("ao")
    with open_bench(aberrated(tmp_path)) as bench:
        bench.slm.lut = bench.slm.ideal_lut()  # no LUT error mixed in
        result = Runner(bench).run("adaptive-optics", AO_PARAMS, path=tmp_path / "ao.h5")
        residual_before = residual_rad_rms(bench, np.zeros(bench.slm.shape))
        residual_after = residual_rad_rms(bench, Correction.load(tmp_path / "ao.correction.json").phase_rad())
        laser = bench.world.state.laser_emission
    return tmp_path, result, residual_before, residual_after, laser


def test_adaptive_optics_reduces_the_true_residual_and_raises_the_visibility(ao_run):
    _, result, before, after, laser = ao_run
    assert not laser
    assert before == pytest.approx(0.72, abs=0.03)  # sqrt(0.6^2 + 0.4^2) seen through the true pupil
    assert after <= 0.2
    metric = result["metric"]
    assert metric.size == 2 + 2 * (2 * 2 + 1) and np.all(np.isfinite(metric))
    assert metric[-1] > 1.2 * metric[0]


def test_every_mask_the_ao_shows_has_its_beam_weighted_circular_mean_at_pi(tmp_path):
    # decision 0050: the piston keeps the SLM's wraps at 0 / 2 pi off the bright beam centre. The beam is the
    # pupil's Gaussian (1/e^2 intensity radius = pupil radius). Defocus and spherical have a zero mean over
    # the disc but not over the beam, so a uniform pi carrier would leave their masks' mean away from pi.
    with open_bench(aberrated(tmp_path)) as bench:
        shown, show = [], bench.slm.show

        def spy(mask, *args, **kwargs):
            shown.append((kwargs.get("label", ""), np.array(mask, np.float64)))
            return show(mask, *args, **kwargs)

        bench.slm.show = spy
        result = Runner(bench).run("adaptive-optics", {**AO_PARAMS, "modes": [4, 11], "cycles": 1, "bias_rad": 0.5},
                                   path=tmp_path / "piston.h5")
    masks = [mask for label, mask in shown if label.startswith("ao")]
    assert len(masks) == 2 + (2 * 2 + 1) + 1  # every measurement, and the correction left shown (apply)
    (h, w), (cy, cx), radius = masks[0].shape, result["pupil_centre_yx_px"], float(result["pupil_radius_px"])
    y, x = np.mgrid[0:h, 0:w]
    intensity = np.exp(-2.0 * ((y - cy) ** 2 + (x - cx) ** 2) / radius**2)
    for mask in masks:
        assert abs(np.angle(np.sum(intensity * np.exp(1j * mask)))) == pytest.approx(np.pi, abs=0.01)


def test_n_plus_1_in_pump_weighted_modes_corrects_through_the_runner(tmp_path):
    # the engine's N+1 searches the beam-weighted modes with their secant curvatures over the corrected part
    # of the beam (decision 0050): 3 cycles take 0.72 rad RMS of astigmatism to well under 0.2
    with open_bench(aberrated(tmp_path)) as bench:
        bench.slm.lut = bench.slm.ideal_lut()
        Runner(bench).run("adaptive-optics", {**AO_PARAMS, "method": "n+1", "cycles": 3, "extent_radii": 1.0,
                                              "search": "pump-weighted", "frames_per_step": 4}, path=tmp_path / "n1.h5")
        correction = Correction.load(tmp_path / "n1.correction.json")
        after = residual_rad_rms(bench, correction.phase_rad())
        assert not bench.world.state.laser_emission
    assert correction.metadata["search_basis"] == "orthonormal over the pump intensity"
    assert after <= 0.15


def test_the_run_file_holds_every_measurement_and_the_correction_with_its_metadata(ao_run):
    tmp_path, result, *_ = ao_run
    stored = read_run_file(tmp_path / "ao.h5")
    assert stored.status == "complete" and stored.sequence == "adaptive-optics"
    assert int(stored["measurements_done"]) == 12
    assert np.array_equal(stored["metric"], result["metric"])
    assert stored["coefficients_rad_rms"].shape == (12, 2)
    in_file = Correction.from_json(bytes(stored["correction_json"][()]).decode())
    on_disk = Correction.load(tmp_path / "ao.correction.json")
    assert in_file == on_disk
    assert on_disk.noll_indices == (5, 6) and on_disk.wavelength_nm == 1550.0 and on_disk.lut_sha256
    assert on_disk.normalisation == "unit-rms" and on_disk.pupil.radius_px == 187.5  # the configured pupil
    assert np.array_equal(np.asarray(on_disk.coefficients_rad_rms), stored["correction_rad_rms"])
    # the saved mask file round-trips bit for bit
    shape = tuple(on_disk.slm_shape)
    assert np.array_equal(compose_mask(shape, correction=on_disk), compose_mask(shape, correction=in_file))
    assert stored["visibility_after"].mean() > stored["visibility_before"].mean()


def test_a_later_phase_stepping_run_with_the_saved_correction_shows_higher_visibility(ao_run):
    tmp_path, *_ = ao_run
    mask = str(tmp_path / "ao.correction.json")
    visibility = {}
    with open_bench(aberrated(tmp_path, "later.toml")) as bench:
        bench.slm.lut = bench.slm.ideal_lut()
        runner = Runner(bench)
        for label, extra in (("plain", {}), ("corrected", {"slm_correction": mask})):
            result = runner.run("phase-stepping", {"frames_per_step": 2, "dark_frames": 2, **extra},
                                path=tmp_path / f"{label}.h5")
            visibility[label] = float(np.nanmean(result["visibility"][24:40, 24:40]))
        assert not bench.world.state.laser_emission
    assert visibility["corrected"] > 1.2 * visibility["plain"]


def test_aborting_adaptive_optics_leaves_the_laser_off_and_the_file_aborted_with_its_measurements(tmp_path):
    with open_bench(aberrated(tmp_path)) as bench:
        runner = Runner(bench)
        shown = []

        def abort_at_4(progress):
            shown.append(progress.frames_done)
            if progress.frames_done == 4:
                threading.Thread(target=runner.abort, args=("test abort",)).start()

        runner.events.progress.connect(abort_at_4)
        result = runner.run("adaptive-optics", AO_PARAMS, path=tmp_path / "aborted.h5", raise_on_error=False)
        assert not bench.world.state.laser_emission and result.laser_off_confirmed
    assert result.status == "aborted"
    stored = read_run_file(tmp_path / "aborted.h5")
    assert stored.status == "aborted"
    done = int(stored["measurements_done"])
    assert 4 <= done < 12
    assert np.all(np.isfinite(stored["metric"][:done])) and np.all(np.isnan(stored["metric"][done:]))
    assert not (tmp_path / "aborted.correction.json").exists()
    assert np.all(np.isnan(stored["correction_rad_rms"]))


@pytest.mark.parametrize("params, words", [
    ({"modes": [0]}, "Noll index 0"),
    ({"method": "simplex"}, "method"),
    ({"pupil_from": "nowhere.h5"}, "pupil_from"),
    ({"pupil_centre_px": [5000, 5]}, "outside"),
    ({"laser_power_w": 5.0}, "laser power"),
])
def test_bad_adaptive_optics_parameters_give_one_line_before_anything_moves(tmp_path, params, words):
    with open_bench(small_loaded(tmp_path, sample="empty")) as bench:
        with pytest.raises(ParameterError) as err:
            Runner(bench).run("adaptive-optics", params, path=tmp_path / "never.h5")
        assert not bench.world.state.laser_emission
    assert "\n" not in str(err.value) and words in str(err.value) and "adaptive-optics" in str(err.value)
    assert not (tmp_path / "never.h5").exists()


def test_bad_slm_correction_file_and_reference_gray_are_refused_in_one_line(tmp_path):
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    with open_bench(small_loaded(tmp_path, sample="empty")) as bench:
        runner = Runner(bench)
        with pytest.raises(ParameterError, match=r"phase-stepping: parameter slm_correction: .*bad.json"):
            runner.plan("phase-stepping", {"slm_correction": str(tmp_path / "bad.json")})
        with pytest.raises(ParameterError, match=r"reference_gray=300: the SLM has gray levels 0..255"):
            runner.plan("lut-calibration", {"reference_gray": 300})


def test_qiup_run_adaptive_optics_from_the_command_line(tmp_path, capsys):
    config = small_config(tmp_path, sample="empty", **{"aberration_zernike_rad = {}": ABERRATION})
    code = main(["run", "--config", str(config), "--sequence", "adaptive-optics", "--out", str(tmp_path / "out"),
                 "--figures", "none", "--param", "modes=[5,6]", "--param", "cycles=1", "--param", "roi_px=32",
                 "--param", "dark_frames=2"])
    out = capsys.readouterr().out
    assert code == 0, out
    (run_file,) = (tmp_path / "out").glob("*-adaptive-optics.h5")
    assert read_run_file(run_file).status == "complete"
    assert Correction.load(run_file.with_suffix(".correction.json")).noll_indices == (5, 6)
    assert "adaptive optics (2n+1, 2 modes, 1 cycles)" in out or "complete" in out


def test_a_procedure_run_cannot_be_resumed(tmp_path):
    with open_bench(small_loaded(tmp_path, sample="empty")) as bench:
        runner = Runner(bench)
        runner.events.progress.connect(lambda p: p.frames_done == 2 and runner.abort("stop"))
        runner.run("adaptive-optics", {**SMALL, "modes": [5]}, path=tmp_path / "a.h5", raise_on_error=False)
        with pytest.raises(ParameterError, match="closed loop and cannot be resumed"):
            runner.resume_run(tmp_path / "a.h5")


def test_a_procedure_pauses_between_frames_and_resumes_to_completion(tmp_path):
    from app.engine import RunState

    with open_bench(small_loaded(tmp_path, sample="empty")) as bench:
        runner = Runner(bench)
        paused, seen, done = threading.Event(), {}, []
        runner.events.state_changed.connect(lambda new, old: new == RunState.PAUSED and paused.set())
        runner.events.progress.connect(lambda p: done.append(p.frames_done))

        def pause_at_2(progress):
            if progress.frames_done == 2 and "paused_at" not in seen:
                seen["paused_at"] = 2
                runner.pause()
                threading.Thread(target=check_and_resume).start()

        def check_and_resume():
            assert paused.wait(30)
            before = len(done)
            threading.Event().wait(0.5)
            seen["progress_while_paused"] = len(done) - before
            runner.resume()

        runner.events.progress.connect(pause_at_2)
        result = runner.run("adaptive-optics", {**SMALL, "modes": [5], "cycles": 1}, path=tmp_path / "p.h5")
        assert not bench.world.state.laser_emission
    assert result.status == "complete"
    assert seen["progress_while_paused"] == 0
    assert done[-1] == 2 + 3  # before, 2N+1 with N = 1, after


def test_aborting_lut_calibration_gives_the_slm_its_own_lut_back_and_writes_no_lut_file(tmp_path):
    with open_bench(small_loaded(tmp_path, sample="empty")) as bench:
        own = bench.slm.lut.copy()
        runner = Runner(bench)
        runner.events.progress.connect(lambda p: p.frames_done == 5 and runner.abort("test abort"))
        result = runner.run("lut-calibration", {**SMALL, "gray_step": 16}, path=tmp_path / "lut.h5",
                            raise_on_error=False)
        assert np.array_equal(bench.slm.lut, own) and bench.slm.lut_name == "linear"
        assert not bench.world.state.laser_emission
    assert result.status == "aborted" and read_run_file(tmp_path / "lut.h5").status == "aborted"
    assert not (tmp_path / "lut.lut").exists()
    assert np.all(np.isnan(read_run_file(tmp_path / "lut.h5")["response_rad"]))

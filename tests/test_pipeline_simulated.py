"""The pipeline against the simulated bench's ground truth, and `qiup reprocess` against the live path."""

import h5py
import numpy as np
import pytest
import tifffile

from app.benchmarks.pipeline_truth import acquire, truth_limits
from app.cli import main
from app.pipeline import reconstruct
from app.storage.results_file import result_arrays
from tests.storage_fixtures import write_run_file


@pytest.fixture(scope="module")
def phase_bump():
    return acquire("phase-bump", roi_size=128, steps=4, frames_per_step=4, keep_frames=True)


def _recon(acq):
    return reconstruct(acq.sample.sums, reference=acq.reference.sums, dark=acq.dark.sums,
                       gain_e_per_adu=acq.gain_e_per_adu, read_noise_e=acq.read_noise_e)


def test_phase_error_is_at_the_shot_and_read_noise_limit(phase_bump):
    acq = phase_bump
    recon = _recon(acq)
    _, _, lim_s = truth_limits(acq.sample, acq)
    _, _, lim_r = truth_limits(acq.reference, acq)
    limit = np.hypot(lim_s, lim_r)
    use = acq.illuminated & recon.mask
    err = np.angle(np.exp(1j * (recon.phase_rad - np.angle(acq.transmission))))
    err = np.angle(np.exp(1j * (err - np.angle(np.mean(np.exp(1j * err[use]))))))  # global piston
    ratio = np.sqrt(np.mean((err[use] / limit[use]) ** 2))
    assert 0.85 < ratio < 1.1
    # the reported sigma map (from measured counts, gain, read noise) matches the truth's limit
    assert np.median(recon.sigma_phase_rad[use] / limit[use]) == pytest.approx(1.0, abs=0.05)


def test_amplitude_follows_the_true_transmission():
    acq = acquire("horse", roi_size=128, steps=4, frames_per_step=4)
    recon = _recon(acq)
    use = acq.illuminated & recon.mask
    assert np.corrcoef(recon.amplitude[use], np.abs(acq.transmission)[use])[0, 1] > 0.99
    assert not recon.saturated.any()


def _write_stacks(acq, tmp_path):
    paths = {}
    for label in ("dark", "reference", "sample"):
        paths[label] = tmp_path / f"{label}.tif"
        tifffile.imwrite(paths[label], np.stack(getattr(acq, label).frames))
    return paths


def test_reprocess_of_tiff_stacks_reproduces_the_live_results(phase_bump, tmp_path, capsys):
    acq = phase_bump
    paths = _write_stacks(acq, tmp_path)
    out = tmp_path / "result.h5"
    code = main(["reprocess", "--frames", str(paths["sample"]), "--reference", str(paths["reference"]),
                 "--dark", str(paths["dark"]), "--steps", "4", "--frames-per-step", "4",
                 "--gain-e-per-adu", str(acq.gain_e_per_adu), "--read-noise-e", "0", "--out", str(out)])
    assert code == 0
    live = result_arrays(reconstruct(acq.sample.sums, reference=acq.reference.sums, dark=acq.dark.sums,
                                     gain_e_per_adu=acq.gain_e_per_adu, read_noise_e=0.0))
    with h5py.File(out, "r") as h5:
        for name in ("visibility", "amplitude", "phase", "phase_unwrapped", "sigma_phase", "mask"):
            data = h5[f"results/{name}"][()]
            assert data.shape == (128, 128) and data.dtype == (bool if name == "mask" else np.float32)
            np.testing.assert_array_equal(data, live[name])
    for name in ("visibility", "amplitude", "phase", "phase_unwrapped"):
        assert (tmp_path / f"result-{name}.png").exists()


def test_reprocess_of_a_run_file_uses_its_sums_and_camera_settings(phase_bump, tmp_path):
    acq = phase_bump
    run = tmp_path / "run.h5"
    write_run_file(run, {label: getattr(acq, label).sums for label in ("dark", "reference", "sample")},
                   config_text=f"[camera]\ngain_e_per_adu = {acq.gain_e_per_adu}\nread_noise_e = 1.4\n")
    assert main(["reprocess", str(run), "--out", str(tmp_path / "re.h5")]) == 0
    live = result_arrays(reconstruct(acq.sample.sums, reference=acq.reference.sums, dark=acq.dark.sums,
                                     gain_e_per_adu=acq.gain_e_per_adu, read_noise_e=1.4))
    with h5py.File(tmp_path / "re.h5", "r") as h5:
        for name in ("amplitude", "phase", "sigma_phase", "mask"):
            np.testing.assert_array_equal(h5[f"results/{name}"][()], live[name])


@pytest.mark.parametrize("argv_tail, message", [
    (["--steps", "5"], "do not divide into 5 steps"),
    (["--steps", "4", "--frames-per-step", "3"], "need 12"),
    (["--steps", "2"], "at least 3"),
    (["--steps", "4", "--step-phases", "0,1,2"], "3 values for 4 steps"),
    (["--steps", "4", "--reference", "{small}"], "--reference frames are (8, 8)"),
    (["--steps", "4", "--dark", "{junk}"], "not a readable TIFF"),
    (["--steps", "4", "--dark", "{missing}"], "no such file"),
])
def test_reprocess_bad_input_gets_one_line_naming_the_problem(tmp_path, capsys, argv_tail, message):
    frames = tmp_path / "s.tif"
    tifffile.imwrite(frames, np.full((16, 12, 12), 500, np.uint16))
    tifffile.imwrite(tmp_path / "small.tif", np.full((16, 8, 8), 500, np.uint16))
    (tmp_path / "junk.tif").write_bytes(b"this is not a tiff")
    names = {"small": tmp_path / "small.tif", "junk": tmp_path / "junk.tif", "missing": tmp_path / "nope.tif"}
    tail = [a.format(**names) for a in argv_tail]
    code = main(["reprocess", "--frames", str(frames), *tail, "--out", str(tmp_path / "r.h5")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and message in err


def test_reprocess_unreadable_run_file(tmp_path, capsys):
    bad = tmp_path / "run.h5"
    bad.write_text("nope")
    assert main(["reprocess", str(bad)]) == 2
    assert "run.h5: not an HDF5 run file" in capsys.readouterr().err

"""The first run images the horse: files as documented, amplitude matching the simulator's truth."""

import h5py
import numpy as np
import pytest

from app.bench_factory import open_bench
from app.cli import main
from app.cli.run_cmd import run_sequence
from app.config import load_config
from app.engine import Runner
from app.storage import read_run_file
from tests.helpers import SIM_CONFIG


def roi_slices(bench):
    roi = bench.camera.roi()
    return slice(roi.y, roi.y + roi.height), slice(roi.x, roi.x + roi.width)


@pytest.fixture(scope="module")
def horse_run(tmp_path_factory):
    """One default phase-stepping run plus the simulator's ground truth for its field of view."""
    out = tmp_path_factory.mktemp("run")
    loaded = load_config(SIM_CONFIG)
    with open_bench(loaded) as bench:
        result = Runner(bench).run("phase-stepping", {}, path=out / "run.h5")
        assert result.status == "complete"
        bench.sample_stage.move_to(loaded.settings.calibration.sample_in_position_um)
        truth = bench.world.transmission_truth(roi_slices(bench))
        field = bench.world.illuminated_mask(roi_slices(bench))
    return result, truth, field


def test_amplitude_correlates_with_ground_truth_horse(horse_run):
    result, truth, field = horse_run
    horse = np.abs(truth)
    assert 0.2 < horse[field].mean() < 0.8, "the test object must have both horse and background"
    r = np.corrcoef(result["amplitude"][field], horse[field])[0, 1]
    assert r >= 0.95


def test_phase_inside_horse_matches_ground_truth(horse_run):
    result, truth, field = horse_run
    inside = field & (np.abs(truth) > 0.5)
    error = np.angle(np.exp(1j * (result["phase"] - np.angle(truth))))
    assert np.sqrt(np.mean(error[inside] ** 2)) < 0.05  # shot-noise limited: ~0.01 rad here


def test_reference_visibility_is_the_model_v0(horse_run):
    result, _, field = horse_run
    # With the sample out, |t| = 1 and the fringe visibility is V0 = 0.6 (DESIGN.md section 4).
    centre = result["reference_visibility"][200:312, 200:312]
    assert np.median(centre) == pytest.approx(0.6, rel=0.02)


def test_cli_run_writes_documented_file_and_figures(tmp_path, capsys):
    code = main(["run", "--config", str(SIM_CONFIG), "--sequence", "phase-stepping",
                 "--param", "frames_per_step=2", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert code == 0
    files = sorted(tmp_path.glob("*-phase-stepping.h5"))
    assert len(files) == 1 and str(files[0]) in printed and "100.0 %" in printed
    with h5py.File(files[0], "r") as h5:
        assert h5.attrs["status"] == "complete"
        assert "[camera]" in h5["config/text"][()].decode()
        for name in ("visibility", "amplitude", "phase"):
            dset = h5[f"results/{name}"]
            assert dset.dtype == np.float32 and dset.shape == (512, 512)
        assert h5["results/phase"].attrs["unit"] == "rad"
    run = read_run_file(files[0])
    assert run.counts["sample"].tolist() == [2, 2, 2, 2]
    assert run.counts["reference"].tolist() == [2, 2, 2, 2]
    assert int(run.counts["dark"].sum()) == 4 * 2  # dark: N steps x F frames, laser off
    assert run.stage("sample").sums.dtype.kind == "u"
    for name in ("overview", "visibility", "amplitude", "phase", "complex", "phase_unwrapped"):
        assert (tmp_path / files[0].name.replace(".h5", f"-{name}.png")).stat().st_size > 1000


def test_run_sequence_returns_path_under_out(tmp_path, capsys):
    path = run_sequence(SIM_CONFIG, "phase-stepping", ["frames_per_step=1", "steps=3"], tmp_path / "new")
    assert path.parent == tmp_path / "new" and path.exists()

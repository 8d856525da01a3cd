"""A run's results are the pipeline's full reconstruction: equal to ``qiup reprocess`` of the same file,
with uncertainty maps that describe the actual scatter around the simulator's ground truth."""

import h5py
import numpy as np
import pytest

from app.bench_factory import open_bench
from app.cli import main
from app.engine import Runner
from tests.test_engine_fixtures import small_loaded

ROI_128 = "roi = { x = 960, y = 960, width = 128, height = 128 }"


@pytest.fixture(scope="module")
def phase_bump_run(tmp_path_factory):
    """A phase-stepping run of a smooth phase object (|t| = 1) and its ground truth."""
    tmp = tmp_path_factory.mktemp("results")
    loaded = small_loaded(tmp, sample="phase-bump", **{"roi = { x = 992, y = 992, width = 64, height = 64 }": ROI_128})
    with open_bench(loaded) as bench:
        result = Runner(bench).run("phase-stepping", {"frames_per_step": 2}, path=tmp / "run.h5")
        roi = bench.camera.roi()
        truth = bench.world.transmission_truth((slice(roi.y, roi.y + roi.height), slice(roi.x, roi.x + roi.width)))
    return tmp, result, np.asarray(truth)


def test_run_file_holds_uncertainty_and_unwrapped_phase(phase_bump_run):
    _, result, _ = phase_bump_run
    with h5py.File(result.path, "r") as h5:
        for name, unit in (("sigma_phase", "rad"), ("sigma_visibility", "1"), ("phase_unwrapped", "rad")):
            assert h5[f"results/{name}"].attrs["unit"] == unit and h5[f"results/{name}"].shape == (128, 128)
        mask = h5["results/mask"][()].astype(bool)
        assert np.all(np.isfinite(h5["results/sigma_phase"][()][mask]))


def test_reprocess_of_the_run_file_equals_the_run(phase_bump_run, capsys):
    tmp, result, _ = phase_bump_run
    out = tmp / "reprocessed.h5"
    assert main(["reprocess", str(result.path), "--out", str(out)]) == 0
    with h5py.File(result.path, "r") as run, h5py.File(out, "r") as again:
        for name in ("visibility", "amplitude", "phase", "phase_unwrapped", "sigma_phase", "sigma_visibility"):
            assert np.array_equal(run[f"results/{name}"][()], again[f"results/{name}"][()], equal_nan=True), name
        assert np.array_equal(run["results/mask"][()].astype(bool), again["results/mask"][()])


def test_sigma_phase_matches_the_scatter_around_ground_truth(phase_bump_run):
    _, result, truth = phase_bump_run
    with h5py.File(result.path, "r") as h5:
        phase, sigma = h5["results/phase"][()], h5["results/sigma_phase"][()]
        mask = h5["results/mask"][()].astype(bool)
    error = np.angle(np.exp(1j * (phase - np.angle(truth))))
    pulls = (error / sigma)[mask]
    assert pulls.size > 10_000  # variance of the pull variance ~ 2/n: 1.4 % here, so +-15 % is > 10 sigma
    assert np.mean(pulls**2) == pytest.approx(1.0, abs=0.15)

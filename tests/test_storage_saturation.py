"""Per-stage saturation is committed with the sums: ``qiup reprocess RUN.h5`` rebuilds every result and
mask of a run with saturated pixels bit for bit, and a resumed run keeps the saturation taken before."""

import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from app.bench_factory import open_bench
from app.cli import main
from app.engine import Runner
from app.storage import read_run_file
from tests.helpers import ROOT
from tests.test_engine_fixtures import small_config, small_loaded
from tests.test_storage_commit import CHILD, NO_RAMP

# 0.1 e-/ADU: the 16-bit ADC clips at 6553 e-, well below the full well; bright fringes clip at 50000 e-/px/s
BRIGHT = {"gain_e_per_adu = 0.45847": "gain_e_per_adu = 0.1",
          "signal_rate_photons_per_px_s = 25000.0": "signal_rate_photons_per_px_s = 50000.0",
          **NO_RAMP}
NO_SUSPENDER = "[suspenders]\nsaturation = false\n"
PARAMS = {"frames_per_step": 2, "cycles": 2, "dark_frames": 2}


@pytest.fixture(scope="module")
def saturated_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("saturated")
    with open_bench(small_loaded(tmp, extra=NO_SUSPENDER, **BRIGHT)) as bench:
        result = Runner(bench).run("phase-stepping", PARAMS, path=tmp / "bright.h5")
    assert result.status == "complete"
    saturated = result["saturated"].astype(bool)
    assert 0 < saturated.sum() < saturated.size  # some pixels clip, most do not
    return tmp, result


def _run_results(path):
    run = read_run_file(path)
    return {name: np.asarray(r) for name, r in run.results.items()}


def test_reprocess_of_a_saturated_run_gives_every_result_and_mask_bit_for_bit(saturated_run, capsys):
    tmp, result = saturated_run
    out = tmp / "again.h5"
    assert main(["reprocess", str(result.path), "--out", str(out)]) == 0, capsys.readouterr().err
    run = _run_results(result.path)
    with h5py.File(out, "r") as h5:
        again = {name: d[()] for name, d in h5["results"].items()}
    compared = set()
    for name, data in run.items():
        if name in again:
            assert np.array_equal(np.asarray(again[name], data.dtype), data, equal_nan=True), name
            compared.add(name)
    assert compared == {"dark", "reference_visibility", "visibility", "amplitude", "phase", "phase_unwrapped",
                        "sigma_phase", "sigma_visibility", "sigma_amplitude", "mask", "hot_pixels", "saturated"}
    assert again["saturated"].any() and not again["mask"][again["saturated"]].any()


def test_each_stage_stores_its_own_saturation(saturated_run):
    _, result = saturated_run
    run = read_run_file(result.path)
    assert not run.stage("dark").saturated.any()  # laser off: nothing clips
    sample, reference = run.stage("sample").saturated, run.stage("reference").saturated
    assert sample.any() and reference.any()
    assert np.array_equal(sample | reference, result["saturated"].astype(bool))


def test_a_resumed_run_keeps_the_saturation_committed_before_the_crash(saturated_run, capsys):
    tmp, result = saturated_run
    config = small_config(tmp, name="bright.toml", extra=NO_SUSPENDER, **BRIGHT)
    path = tmp / "crashed.h5"
    env = dict(os.environ, QIUP_TEST_CRASH_AT="commit.done:13")  # in the sample's second cycle
    proc = subprocess.run([sys.executable, "-c", CHILD, str(config), str(path), json.dumps(PARAMS), "null"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 137, proc.stderr
    assert main(["resume", str(path)]) == 0, capsys.readouterr().err
    resumed, plain = _run_results(path), _run_results(result.path)
    for name in ("saturated", "mask", "amplitude", "phase"):
        assert np.array_equal(resumed[name], plain[name], equal_nan=True), name

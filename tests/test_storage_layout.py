"""The run file holds what docs/data-format.md says: header first, sums, provenance, raw frames, results."""

import json

import h5py
import numpy as np
import pytest

from app.bench_factory import open_bench
from app.cli import main
from app.engine import Runner
from app.storage import open_run_file, read_run_file
from tests.test_engine_fixtures import small_loaded


@pytest.fixture(scope="module")
def raw_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("layout")
    params = {"frames_per_step": 4, "cycles": 2, "dark_frames": 3, "save_raw_frames": True, "raw_compression": "gzip"}
    with open_bench(small_loaded(tmp)) as bench:
        result = Runner(bench).run("phase-stepping", params, path=tmp / "raw.h5")
    return result.path


def test_header_config_devices_parameters_and_version(raw_run):
    with h5py.File(raw_run, "r") as h5:
        assert h5.attrs["status"] == "complete" and h5.attrs["format_version"] == 3
        assert h5.attrs["software_version"] and h5.attrs["sequence"] == "phase-stepping"
        assert json.loads(h5.attrs["parameters_json"])["frames_per_step"] == 4
        assert "[camera]" in h5["config/text"][()].decode()
        assert h5["devices/camera"].attrs["model"] == "simulated sCMOS camera"
        assert set(h5["devices"]) >= {"laser", "phase_piezo", "delay_stage", "sample_stage", "slm", "camera"}


def test_step_sums_counts_and_phases(raw_run):
    run = read_run_file(raw_run)
    assert run.stage("dark").counts.tolist() == [3]
    for label in ("reference", "sample"):
        stage = run.stage(label)
        assert stage.sums.shape == (4, 64, 64) and stage.sums.dtype == np.uint32
        assert stage.counts.tolist() == [4, 4, 4, 4]
        assert np.allclose(stage.step_phases_rad, np.arange(4) * np.pi / 2)
        assert stage.cycles == 2 and stage.kind == label
    with h5py.File(raw_run, "r") as h5:  # two slots (A/B) per step, the space reserved at creation
        assert h5["runs/sample/sums"].shape == (2, 4, 64, 64)


def test_raw_frames_are_lossless_and_provenance_says_where_each_belongs(raw_run):
    with h5py.File(raw_run, "r") as h5:
        raw, prov = h5["frames/raw"], h5["frames/provenance"][()]
        assert raw.compression == "gzip" and raw.chunks == (1, 64, 64) and len(raw) == len(prov) == 3 + 32
        frames = raw[()].astype(np.uint64)
        run = read_run_file(raw_run)
        for label, st in run.stages.items():
            sums = st.sums
            for step in range(st.n_steps):
                rows = (prov["stage"] == st.stage_index) & (prov["step"] == step)
                assert np.array_equal(frames[rows].sum(axis=0), sums[step]), (label, step)
                assert np.allclose(prov["piezo_position"][rows], st.piezo_setpoints[step])
        dark = prov["stage"] == h5["runs/dark"].attrs["stage_index"]
        assert np.all(prov["laser_power_w"][dark] == 0) and np.allclose(prov["laser_power_w"][~dark], 0.1, rtol=0.01)  # settled to 1 %
        assert np.all(np.diff(prov["timestamp_s"]) > 0) and np.all(np.diff(prov["frame_id"]) == 1)
        # interleaving: the sample's steps are visited 0,1,2,3,0,1,2,3 (2 frames each), not 0,0,0,0,1,...
        sample = prov["step"][prov["stage"] == h5["runs/sample"].attrs["stage_index"]]
        assert sample.tolist() == [0, 0, 1, 1, 2, 2, 3, 3] * 2


def test_results_carry_units(raw_run):
    with h5py.File(raw_run, "r") as h5:
        units = {name: d.attrs["unit"] for name, d in h5["results"].items()}
        assert units == {"dark": "ADU", "reference_visibility": "1", "reference_phase": "rad", "visibility": "1",
                         "amplitude": "1", "phase": "rad", "mask": "bool", "phase_unwrapped": "rad",
                         "sigma_phase": "rad", "sigma_visibility": "1", "sigma_amplitude": "1",
                         "hot_pixels": "bool", "saturated": "bool"}
        assert all(np.isfinite(h5["results"][n][()]).all() for n in units)


def test_qiup_info_summarises_the_file(raw_run, capsys):
    assert main(["info", str(raw_run)]) == 0
    out = capsys.readouterr().out
    assert "status     complete" in out and "sequence   phase-stepping" in out
    assert "reference      reference 4 steps  16/16 frames" in out
    assert "35 committed, 35 recorded (with raw frames)" in out


def test_a_file_being_written_can_be_read_by_another_reader(tmp_path):
    """SWMR: while the run is paused, another reader sees the flushed sums."""
    with open_bench(small_loaded(tmp_path)) as bench:
        runner = Runner(bench)
        seen = {}

        def peek(_data, info):
            if info.stage == "sample" and "counts" not in seen:
                live = read_run_file(tmp_path / "live.h5")
                seen["status"] = live.status
                seen["counts"] = live.stage("reference").counts.tolist()

        runner.events.frame_acquired.connect(peek)
        runner.run("phase-stepping", {"frames_per_step": 2, "dark_frames": 1}, path=tmp_path / "live.h5")
    assert seen == {"status": "running", "counts": [2, 2, 2, 2]}


def test_unknown_or_foreign_files_are_one_line_errors(tmp_path, capsys):
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as h5:
        h5["x"] = 1
    assert main(["info", str(foreign)]) == 2
    assert "not a qiup run file" in capsys.readouterr().err
    assert main(["info", str(tmp_path / "missing.h5")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_a_reader_holding_the_file_does_not_spoil_the_end_of_the_run(tmp_path):
    import subprocess
    import sys
    import time

    from app.bench_factory import open_bench
    from app.engine import Runner
    from tests.helpers import ROOT
    from tests.test_engine_fixtures import small_loaded

    path = tmp_path / "watched.h5"
    watcher = ("import sys, time\nfrom app.storage import open_run_file\n"
               "with open_run_file(sys.argv[1]) as h5:\n    print('open', flush=True)\n    time.sleep(30)\n")
    with open_bench(small_loaded(tmp_path)) as bench:
        runner = Runner(bench)
        runner.start("phase-stepping", {"frames_per_step": 400}, path=path)
        while not path.exists() or runner.state.value != "running":
            time.sleep(0.01)
        reader = subprocess.Popen([sys.executable, "-c", watcher, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        try:
            assert reader.stdout.readline().strip() == "open"  # a notebook watches the run
            result = runner.wait()
        finally:
            reader.kill()
            reader.wait()
    assert result.status == "complete" and result.error is None
    with open_run_file(path) as h5:
        assert h5["status"][()] == b"complete"

"""The one reader: a typed view of any run file, small things at once, arrays only when sliced."""

import numpy as np

from app import read_run
from app.bench_factory import open_bench
from app.cli import main
from app.engine import Runner
from app.storage import LazyResult, read_run_file
from tests.test_engine_fixtures import small_loaded


def test_a_time_series_is_read_slice_by_slice_with_units_and_per_stage_data(tmp_path, capsys):
    with open_bench(small_loaded(tmp_path)) as bench:
        result = Runner(bench).run("time-series", {"repeats": 3, "frames_per_step": 2, "dark_frames": 1},
                                   path=tmp_path / "ts.h5")
    run = read_run(result.path)
    assert type(run) is type(read_run_file(result.path))
    assert run.status == "complete" and run.failure == "" and run.sequence == "time-series"
    assert run.blocks_done == run.total_blocks and run.frames_done == run.total_frames == 1 + 4 * 4 * 2
    assert run.parameters["repeats"] == 3 and "[camera]" in run.config_text
    assert run.identities["camera"]["model"] == "simulated sCMOS camera"
    amplitude = run.results["amplitude"]
    assert isinstance(amplitude, LazyResult) and amplitude.shape == (3, 64, 64) and amplitude.unit == "1"
    assert run.results["phase"].unit == "rad" and run.units["start_time_s"] == "s"
    assert np.array_equal(amplitude[1], result["amplitude"][1], equal_nan=True)  # one repeat read
    assert np.array_equal(run["amplitude"], result["amplitude"], equal_nan=True)  # the whole stack
    stage = run.stage("sample_0002")
    assert stage.kind == "sample" and stage.index == 2 and stage.counts.tolist() == [2, 2, 2, 2]
    assert np.allclose(stage.step_phases_rad, np.arange(4) * np.pi / 2)
    prov = run.provenance()
    rows = prov["stage"] == stage.stage_index
    assert rows.sum() == 8 and np.all(np.diff(prov["frame_id"]) == 1)
    assert main(["info", str(result.path)]) == 0
    out = capsys.readouterr().out
    assert "sample_0002    sample    4 steps  8/8 frames" in out
    assert "amplitude              (3, 64, 64)      float32    48.0 kB  1" in out

"""Regressions found in review: a delay scan with the visibility suspender on, a suspension right
after a mid-cycle resume, and a bad output folder."""

import pytest

from app.bench_factory import open_bench
from app.cli import main
from app.engine import Runner
from app.engine import acquire as acq
from app.storage import read_run_file
from tests.test_engine_fixtures import small_loaded

VISIBILITY_SUSPENDER = "[suspenders]\nvisibility = true\nrecheck_interval_s = 0.0\nmax_suspended_s = 2.0\n"


def test_visibility_suspender_leaves_delay_scans_alone(tmp_path):
    # Away from a reflector a delay stage has V ~ 0 by design: that is depth, not misalignment.
    loaded = small_loaded(tmp_path, sample="three-layer", extra=VISIBILITY_SUSPENDER)
    with open_bench(loaded) as bench:
        result = Runner(bench).run("delay-scan", {"start_um": 0, "stop_um": 100, "step_um": 10,
                                                  "frames_per_step": 1}, path=tmp_path / "scan.h5",
                                   raise_on_error=False)
    assert result.status == "complete", result.error


def test_suspension_after_a_mid_cycle_resume_repeats_only_this_sessions_blocks(tmp_path, monkeypatch):
    params = {"frames_per_step": 4, "cycles": 2, "dark_frames": 2, "reference": False}  # blocks of 2 frames
    path = tmp_path / "run.h5"
    loaded = small_loaded(tmp_path)
    with open_bench(loaded) as bench:  # session 1: aborted in the sample's second cycle, after step 1
        runner = Runner(bench)
        runner.events.frame_acquired.connect(
            lambda data, info: info.stage == "sample" and info.cycle == 1 and info.step == 2 and runner.abort("test"))
        assert runner.run("phase-stepping", params, path=path).status == "aborted"

    real_take_block, tripped = acq.Acquisition._take_block, []

    def take_block(self, index, stage, block, cycle_acc):  # session 2: one suspension at the cycle's end
        real_take_block(self, index, stage, block, cycle_acc)
        if stage.label == "sample" and block.cycle == 1 and block.step == 3 and not tripped:
            tripped.append(True)
            raise acq.Suspended("test: one-off suspension")

    monkeypatch.setattr(acq.Acquisition, "_take_block", take_block)
    with open_bench(loaded) as bench:
        result = Runner(bench).resume_run(path)
    assert result.status == "complete" and tripped
    run = read_run_file(path)
    assert run.counts["sample"].tolist() == [4, 4, 4, 4]
    assert run.frames_done == run.total_frames == run.frames_recorded


@pytest.mark.parametrize("make_out", [lambda tmp: tmp / "notes.txt", lambda tmp: tmp / "notes.txt" / "sub"])
def test_an_unusable_output_folder_is_one_clear_error(tmp_path, capsys, make_out):
    (tmp_path / "notes.txt").write_text("not a folder")
    assert main(["run", "--out", str(make_out(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert "cannot write run files there" in err and "Traceback" not in err

"""A run killed with SIGKILL leaves a readable file with every completed step; ``qiup resume`` finishes it."""

import json
import signal
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from app.bench_factory import open_bench
from app.cli import main
from app.engine import Runner
from app.engine.plan import plan_from_json
from app.storage import open_run_file, read_snapshot
from tests.helpers import ROOT
from tests.test_engine_fixtures import small_config, small_loaded

PARAMS = {"frames_per_step": 6, "cycles": 3, "dark_frames": 2}  # 2 frames per step visit
NO_RAMP = {"power_ramp_time_s = 0.3": "power_ramp_time_s = 0.0"}
KILL_AT_FRAME = 23  # dark 2 + reference 24 frames: the kill lands in the middle of a block

CHILD = textwrap.dedent("""
    import json, os, signal, sys
    from app.bench_factory import open_bench
    from app.config import load_config
    from app.engine import Runner

    config, path, params, kill_at = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
    with open_bench(load_config(config)) as bench:
        runner = Runner(bench)
        seen = [0]
        def maybe_die(_data, _info):
            seen[0] += 1
            if seen[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
        runner.events.frame_acquired.connect(maybe_die)
        runner.run("phase-stepping", params, path=path)
""")


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crash")
    # No pump ramp: a resumed process switches emission on again and would re-ramp (as a real laser
    # does), taking its frames at a slightly different power than the uninterrupted run.
    config = small_config(tmp, **NO_RAMP)
    path = tmp / "killed.h5"
    proc = subprocess.run([sys.executable, "-c", CHILD, str(config), str(path), json.dumps(PARAMS), str(KILL_AT_FRAME)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    (tmp / "killed-pristine.h5").write_bytes(path.read_bytes())  # as the crash left it, for later tests
    return tmp, config, path


@pytest.fixture(scope="module")
def uninterrupted(killed_run):
    tmp, config, _ = killed_run
    with open_bench(small_loaded(tmp, **NO_RAMP)) as bench:
        return Runner(bench).run("phase-stepping", PARAMS, path=tmp / "plain.h5")


def test_killed_file_opens_says_running_and_holds_every_completed_block(killed_run, uninterrupted):
    _, _, path = killed_run
    snap = read_snapshot(path)
    assert snap.status == "running"
    with open_run_file(path) as h5:
        assert h5.attrs["status"] == "running"
        plan = plan_from_json(h5.attrs["plan_json"])
        assert h5["frames/provenance"].shape[0] >= snap.frames_done
    assert snap.blocks_done == 11 and snap.frames_done == plan.frames_before(11) == 22  # block 12 was cut
    assert sum(int(c.sum()) for c in snap.counts.values()) == 22
    # Same seed, same plan: everything on disk is bit-identical to the run that was not killed.
    plain = read_snapshot(uninterrupted.path)
    assert np.array_equal(snap.sums["dark"], plain.sums["dark"])
    ref_counts = snap.counts["reference"]
    assert ref_counts.tolist() == [6, 6, 4, 4]  # two full cycles and two steps of the third
    done_steps = ref_counts == 6
    assert np.array_equal(snap.sums["reference"][done_steps], plain.sums["reference"][done_steps])


def test_qiup_resume_completes_the_killed_run(killed_run, uninterrupted, capsys):
    tmp, _, path = killed_run
    assert main(["resume", str(path)]) == 0
    assert "(complete)" in capsys.readouterr().out
    with h5py.File(path, "r") as h5:  # closed cleanly now: any HDF5 reader opens it
        assert h5.attrs["status"] == "complete" and h5["status"][()] == b"complete"
        assert h5["frames/provenance"].shape[0] == h5.attrs["total_frames"] == 2 + 2 * 24
        assert "resumed at block 11" in h5["log"]["message"][0].decode()
    run = read_snapshot(path)
    for label in ("reference", "sample"):
        assert run.counts[label].tolist() == [6, 6, 6, 6]
    # The camera continues its frame numbering (and the simulator its per-frame noise) after the last
    # kept frame, so the resumed run equals the uninterrupted one exactly, not just within noise.
    plain = read_snapshot(uninterrupted.path)
    for label in ("dark", "reference", "sample"):
        assert np.array_equal(run.sums[label], plain.sums[label]), label
    for name in ("visibility", "amplitude", "phase"):
        assert np.array_equal(run[name], plain[name], equal_nan=True), name


def test_resume_refuses_a_complete_file(killed_run, uninterrupted, capsys):
    assert main(["resume", str(uninterrupted.path)]) == 2
    assert "already complete" in capsys.readouterr().err


def test_reprocess_reads_a_crashed_file(killed_run, tmp_path, capsys):
    copy = killed_run[0] / "killed-pristine.h5"  # still marked "open for write" by the killed writer
    with pytest.raises(OSError, match="already open for write"):
        h5py.File(copy, "r")
    # The kill came during the reference run: the file opens, and reprocess says what is missing.
    assert main(["reprocess", str(copy), "--out", str(tmp_path / "reprocessed.h5")]) == 2
    err = capsys.readouterr().err
    assert "killed-pristine.h5: steps [0, 1, 2, 3] have no frames" in err and "open for write" not in err

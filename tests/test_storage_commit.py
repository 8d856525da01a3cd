"""Atomic commit points: a kill at any of them loses at most the block in flight, never counts one twice,
and resume gives exactly the uninterrupted run; resume refuses (one line) whatever it cannot trust."""

import json
import os
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

import app.bench_factory as bench_factory
from app.bench_factory import open_bench
from app.cli import main
from app.engine import Runner
from app.storage import read_run_file
from app.storage import layout as L
from tests.helpers import ROOT
from tests.test_engine_fixtures import abort_after_frames, small_config, small_loaded

# 1-frame blocks: F = 2 over 2 cycles; one dark block of 2 frames. 1 + 8 + 8 = 17 blocks, 18 frames.
PARAMS = {"frames_per_step": 2, "cycles": 2, "dark_frames": 2, "save_raw_frames": True}
NO_RAMP = {"power_ramp_time_s = 0.3": "power_ramp_time_s = 0.0"}
SUSPEND_AT = ("sample", 1, 2)  # a one-off suspension: the sample's second cycle is rolled back at step 2

CHILD = textwrap.dedent("""
    import json, sys
    from app.bench_factory import open_bench
    from app.config import load_config
    from app.engine import Runner
    from app.engine import acquire as acq

    config, path, params, suspend_at = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
    if suspend_at:
        original, tripped = acq.Acquisition._take_block, []
        def take_block(self, index, stage, block, cycle_acc):
            if [stage.label, block.cycle, block.step] == suspend_at and not tripped:
                tripped.append(True)
                raise acq.Suspended("test: one-off suspension")
            return original(self, index, stage, block, cycle_acc)
        acq.Acquisition._take_block = take_block
    with open_bench(load_config(config)) as bench:
        result = Runner(bench).run("phase-stepping", params, path=path)
    sys.exit(0 if result.status == "complete" else 1)
""")

# (commit point, pass at which the process dies); every point of commit_block and rollback_cycle
KILLS = [("commit.begin", 6), ("commit.slot", 6), ("commit.slot_flushed", 6), ("commit.record", 6),
         ("commit.done", 6), ("commit.begin", 1), ("commit.done", 17), ("commit.record", 13)]
ROLLBACK_KILLS = [("rollback.record", 1), ("rollback.done", 1)]


def _child(config, path, crash: str | None, suspend: bool) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop("QIUP_TEST_CRASH_AT", None)
    if crash:
        env["QIUP_TEST_CRASH_AT"] = crash
    return subprocess.Popen([sys.executable, "-c", CHILD, str(config), str(path), json.dumps(PARAMS),
                             json.dumps(list(SUSPEND_AT) if suspend else None)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """Every kill run in parallel children; returns {name: (path, returncode, stderr)} and the config."""
    tmp = tmp_path_factory.mktemp("commit")
    config = small_config(tmp, **NO_RAMP)
    procs = {}
    # one config file per child: each child is its own bench (the bench lock allows one process per config)
    for point, n in KILLS:
        own = small_config(tmp, name=f"{point}-{n}.toml", **NO_RAMP)
        procs[f"{point}:{n}"] = (tmp / f"{point}-{n}.h5", _child(own, tmp / f"{point}-{n}.h5", f"{point}:{n}", False))
    for point, n in ROLLBACK_KILLS:
        own = small_config(tmp, name=f"rollback-{point}-{n}.toml", **NO_RAMP)
        procs[f"{point}:{n}"] = (tmp / f"{point}-{n}.h5", _child(own, tmp / f"{point}-{n}.h5", f"{point}:{n}", True))
    out = {}
    for name, (path, proc) in procs.items():
        _, err = proc.communicate(timeout=300)
        out[name] = (path, proc.returncode, err)
    return tmp, config, out


@pytest.fixture(scope="module")
def plain(killed):
    tmp = killed[0]
    with open_bench(small_loaded(tmp, name="plain.toml", **NO_RAMP)) as bench:
        return Runner(bench).run("phase-stepping", PARAMS, path=tmp / "plain.h5")


def _everything(path):
    """Every result, every stage's sums, counts and saturation, and the kept frames' ids."""
    run = read_run_file(path)
    out = {f"results/{name}": np.asarray(r) for name, r in run.results.items()}
    for label, stage in run.stages.items():
        sums, saturated = stage.read()
        out[f"{label}/sums"], out[f"{label}/counts"], out[f"{label}/saturated"] = sums, stage.counts, saturated
    out["frame_id"] = run.provenance()["frame_id"]
    return run, out


def _sums_equal_raw_frames(path):
    """Ground truth: each step's committed sum is exactly the sum of the raw frames recorded for it."""
    run = read_run_file(path)
    prov, raw = run.provenance(), run.raw_frames().astype(np.uint64)
    assert len(prov) == len(raw) == run.frames_done
    for label, stage in run.stages.items():
        sums = stage.sums
        for k in range(stage.n_steps):
            rows = (prov["stage"] == stage.stage_index) & (prov["step"] == k)
            assert rows.sum() == stage.counts[k], (label, k)
            assert np.array_equal(raw[rows].sum(axis=0), sums[k]), (label, k)


@pytest.mark.parametrize("point, n", KILLS)
def test_a_kill_at_any_commit_point_then_resume_equals_the_uninterrupted_run(killed, plain, point, n, capsys):
    _, _, out = killed
    path, code, err = out[f"{point}:{n}"]
    assert code == 137, err  # died exactly there
    crashed = read_run_file(path)
    assert crashed.status == "running"
    # the block in flight is either wholly in or wholly out
    committed_before = n - 1 if point in ("commit.begin", "commit.slot", "commit.slot_flushed") else None
    if committed_before is not None:
        assert crashed.blocks_done == committed_before
    if point == "commit.done":
        assert crashed.blocks_done == n
    _sums_equal_raw_frames(path)
    assert main(["resume", str(path)]) == 0, capsys.readouterr().err
    run, got = _everything(path)
    assert run.status == "complete" and run.blocks_done == run.total_blocks
    _sums_equal_raw_frames(path)
    _, want = _everything(plain.path)
    assert got.keys() == want.keys()
    for key in want:  # bit for bit: same seed, frame serials continued after the last committed frame
        assert np.array_equal(got[key], want[key], equal_nan=True), key


@pytest.mark.parametrize("point, n", ROLLBACK_KILLS)
def test_a_kill_while_a_suspended_cycle_rolls_back_never_double_counts(killed, point, n, capsys):
    path, code, err = killed[2][f"{point}:{n}"]
    assert code == 137, err
    crashed = read_run_file(path)
    # the rollback record is flushed before the process dies: back at the start of the sample's 2nd cycle
    assert crashed.blocks_done == 1 + 8 + 4 and crashed.stage("sample").counts.tolist() == [1, 1, 1, 1]
    _sums_equal_raw_frames(path)
    assert main(["resume", str(path)]) == 0, capsys.readouterr().err
    run = read_run_file(path)
    assert run.status == "complete" and run.counts["sample"].tolist() == [2, 2, 2, 2]
    _sums_equal_raw_frames(path)


# ------------------------------------------------------------------------------ what resume refuses
@pytest.fixture()
def aborted(tmp_path):
    """A closed run file (status aborted) after the reference's first cycle (blocks 5, frames 6)."""
    with open_bench(small_loaded(tmp_path, **NO_RAMP)) as bench:
        runner = Runner(bench)
        abort_after_frames(runner, 6)
        result = runner.run("phase-stepping", PARAMS, path=tmp_path / "aborted.h5")
    assert result.status == "aborted" and read_run_file(tmp_path / "aborted.h5").blocks_done == 5
    return tmp_path / "aborted.h5"


def _rewrite_newest_record(path, **changes):
    with h5py.File(path, "r+") as h5:
        raws = [h5[name][()] for name in L.RECORD_NAMES]
        record, _ = L.newest_valid_record(raws)
        fields = dict(seq=record.seq, blocks_done=record.blocks_done, frames_done=record.frames_done,
                      slots=record.slots) | changes
        h5[L.RECORD_NAMES[record.seq % 2]][...] = L.CommitRecord(**fields).encode()


def _refused(path, capsys, monkeypatch, *expected):
    monkeypatch.setattr(bench_factory, "open_bench", lambda *a, **k: pytest.fail("resume opened the bench"))
    assert main(["resume", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and all(e in err for e in expected), err
    with h5py.File(path, "r") as h5:
        assert h5["status"][()] != b"complete"


def test_negative_blocks_done_is_refused(aborted, capsys, monkeypatch):
    _rewrite_newest_record(aborted, blocks_done=-1)
    _refused(aborted, capsys, monkeypatch, "blocks_done -1 outside the plan's 0..17")


def test_blocks_done_beyond_the_plan_is_refused(aborted, capsys, monkeypatch):
    _rewrite_newest_record(aborted, blocks_done=40)
    _refused(aborted, capsys, monkeypatch, "blocks_done 40 outside")


def test_progress_that_disagrees_with_the_counts_is_refused(aborted, capsys, monkeypatch):
    run = read_run_file(aborted)
    _rewrite_newest_record(aborted, blocks_done=run.blocks_done - 1)  # a well-formed record, one block short
    _refused(aborted, capsys, monkeypatch, "does not match the plan's")


def test_a_torn_newest_record_falls_back_to_the_previous_commit(aborted, tmp_path, capsys):
    before = read_run_file(aborted)
    with h5py.File(aborted, "r+") as h5:
        name = L.RECORD_NAMES[before.commit_seq % 2]
        raw = h5[name][()]
        raw[20] ^= 0xFF  # a torn write: the checksum no longer matches
        h5[name][...] = raw
    after = read_run_file(aborted)
    assert after.torn_records == 1 and after.commit_seq == before.commit_seq - 1
    assert after.blocks_done == before.blocks_done - 1
    assert main(["resume", str(aborted)]) == 0, capsys.readouterr().err
    _sums_equal_raw_frames(aborted)


def test_both_records_torn_is_refused(aborted, capsys, monkeypatch):
    with h5py.File(aborted, "r+") as h5:
        for name in L.RECORD_NAMES:
            h5[name][...] = np.zeros(h5[name].shape, np.uint8)
    _refused(aborted, capsys, monkeypatch, "no valid commit record")


def test_sums_that_are_not_what_was_committed_are_refused(aborted, capsys, monkeypatch):
    """The disk-full defect: sums of a committed step read back as zeros while its count says 1."""
    run = read_run_file(aborted)
    stage = run.stage("reference")
    with h5py.File(aborted, "r+") as h5:
        h5["runs/reference/sums"][int(stage.slots[1]), 1] = 0
    _refused(aborted, capsys, monkeypatch, "/runs/reference step 1", "checksum")


def test_sums_beyond_count_times_full_scale_are_refused_even_with_a_matching_checksum(aborted, capsys, monkeypatch):
    run = read_run_file(aborted)
    stage = run.stage("reference")
    slot = int(stage.slots[0])
    with h5py.File(aborted, "r+") as h5:
        g = h5["runs/reference"]
        sums = g["sums"][slot, 0]
        sums[0, 0] = 70000  # > 1 frame x 65535
        g["sums"][slot, 0] = sums
        g["slot_crc32"][slot, 0] = L.slot_checksum(int(stage.counts[0]), sums, g["saturated"][slot, 0])
    _refused(aborted, capsys, monkeypatch, "exceed 1 frames x 65535")


def test_counts_that_disagree_with_the_plan_are_refused(aborted, capsys, monkeypatch):
    run = read_run_file(aborted)
    stage = run.stage("reference")
    slot = int(stage.slots[0])
    with h5py.File(aborted, "r+") as h5:
        g = h5["runs/reference"]
        g["slot_counts"][slot, 0] = 2  # the frame counted twice (the crash-window defect)
        g["slot_crc32"][slot, 0] = L.slot_checksum(2, g["sums"][slot, 0], g["saturated"][slot, 0])
    _refused(aborted, capsys, monkeypatch, "/runs/reference counts [2, 1, 1, 1] differ from the plan's [1, 1, 1, 1]")

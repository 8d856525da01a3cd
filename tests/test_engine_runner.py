"""The runner: states, pause/resume, abort, device faults and suspenders on the simulated bench."""

import threading

import numpy as np
import pytest

from app.bench_factory import open_bench
from app.engine import Runner, RunState
from app.storage import open_run_file, read_snapshot
from drivers.interfaces import DeviceTimeout, Frame
from sim_backends.devices import SimCamera, SimLaser
from tests.test_engine_fixtures import small_loaded

PARAMS = {"frames_per_step": 4, "dark_frames": 2}  # dark 2 frames, then 2 x (4 steps x 4 frames, 4 cycles)


def run_once(tmp_path, name, *, on_frame=None, loaded=None, params=PARAMS):
    """One phase-stepping run; ``on_frame(runner, n)`` is called after the n-th frame (worker thread)."""
    loaded = loaded or small_loaded(tmp_path)
    with open_bench(loaded) as bench:
        runner = Runner(bench)
        states, warnings, frames = [], [], [0]
        runner.events.state_changed.connect(lambda new, old: states.append(new))
        runner.events.warning.connect(warnings.append)
        runner.events.cycle_discarded.connect(warnings.append)  # a typed record, before its warning line
        if on_frame is not None:
            def count(_data, _info):
                frames[0] += 1
                on_frame(runner, frames[0])
            runner.events.frame_acquired.connect(count)
        result = runner.run("phase-stepping", params, path=tmp_path / name, raise_on_error=False)
        laser_on = bench.world.state.laser_emission
    return result, states, warnings, laser_on


def sums_of(path):
    snap = read_snapshot(path)
    return snap.sums, snap.counts


def test_pause_and_resume_give_bit_identical_step_sums(tmp_path):
    plain, states_plain, _, _ = run_once(tmp_path, "plain.h5")
    paused_seen = threading.Event()
    seen_on_disk = {}

    def pause_at_20(runner, n):
        if n == 20:
            runner.pause()
            threading.Thread(target=check_and_resume, args=(runner,)).start()

    def check_and_resume(runner):
        assert paused_seen.wait(10)
        seen_on_disk["counts"] = read_snapshot(tmp_path / "paused.h5").counts  # readable while paused
        seen_on_disk["state"] = runner.state
        runner.resume()

    loaded = small_loaded(tmp_path)
    with open_bench(loaded) as bench:
        runner = Runner(bench)
        runner.events.state_changed.connect(lambda new, old: new == RunState.PAUSED and paused_seen.set())
        states = []
        runner.events.state_changed.connect(lambda new, old: states.append(new))
        n = [0]
        runner.events.frame_acquired.connect(lambda *_: (n.__setitem__(0, n[0] + 1), pause_at_20(runner, n[0])))
        paused = runner.run("phase-stepping", PARAMS, path=tmp_path / "paused.h5")

    assert seen_on_disk["state"] == RunState.PAUSED
    assert sum(int(c.sum()) for c in seen_on_disk["counts"].values()) == 20  # flushed before pausing
    assert states == [RunState.RUNNING, RunState.PAUSED, RunState.RUNNING, RunState.DONE]
    assert states_plain == [RunState.RUNNING, RunState.DONE]
    assert paused.status == plain.status == "complete"
    a, ac = sums_of(tmp_path / "plain.h5")
    b, bc = sums_of(tmp_path / "paused.h5")
    for label in a:
        assert np.array_equal(ac[label], bc[label]) and np.array_equal(a[label], b[label]), label
    assert np.array_equal(plain["phase"], paused["phase"])


def test_abort_ends_aborted_with_laser_off_and_completed_blocks_on_disk(tmp_path):
    result, states, _, laser_on = run_once(tmp_path, "abort.h5", on_frame=lambda r, n: n == 13 and r.abort())
    assert result.status == "aborted" and "aborted by request" in result.error
    assert laser_on is False
    assert states[-2:] == [RunState.ABORTING, RunState.DONE]
    snap = read_snapshot(tmp_path / "abort.h5")
    assert snap.status == "aborted"
    assert snap.frames_done == 13 == sum(int(c.sum()) for c in snap.counts.values())


def test_a_device_fault_mid_run_fails_cleanly_with_data_on_disk(tmp_path, monkeypatch):
    original = SimCamera.read_frame

    def dying_camera(self, timeout_s=5.0):
        frame = original(self, timeout_s)
        if frame.frame_id > 11:
            raise DeviceTimeout(f"no frame within {timeout_s:g} s", device="camera")
        return frame

    monkeypatch.setattr(SimCamera, "read_frame", dying_camera)
    result, states, _, laser_on = run_once(tmp_path, "fault.h5")
    assert result.status == "failed" and states[-1] == RunState.FAILED
    assert result.error == "camera: no frame within 5 s"
    assert laser_on is False
    snap = read_snapshot(tmp_path / "fault.h5")
    assert snap.status == "failed" and snap.frames_done == 11
    assert snap.counts["dark"].tolist() == [2]
    with open_run_file(tmp_path / "fault.h5") as h5:
        assert "camera: no frame within 5 s" in h5["log"][-1]["message"].decode()


def test_visibility_drop_suspends_the_run_discards_the_cycle_and_resumes(tmp_path, monkeypatch):
    """Frames 7-14 lose their fringes (misalignment): the cycle 7-10 is discarded, the re-check 11-14 still
    fails, the re-check 15-18 passes, and the cycle is repeated from frame 19."""
    original = SimCamera.read_frame

    def misaligned(self, timeout_s=5.0):
        frame = original(self, timeout_s)
        if 7 <= frame.frame_id <= 14:
            flat = np.full_like(frame.data, 1000)  # no fringes left: the same level at every step
            return Frame(flat, frame.frame_id, frame.timestamp_s, frame.metadata)
        return frame

    monkeypatch.setattr(SimCamera, "read_frame", misaligned)
    loaded = small_loaded(tmp_path, sample="empty",
                          extra="[suspenders]\nvisibility = true\nmin_visibility = 0.3\nrecheck_interval_s = 0\n")
    params = {"frames_per_step": 4, "dark_frames": 2, "reference": False}
    result, states, warnings, laser_on = run_once(tmp_path, "suspend.h5", loaded=loaded, params=params)
    assert result.status == "complete" and laser_on is False
    assert states == [RunState.RUNNING, RunState.PAUSED, RunState.RUNNING, RunState.DONE]
    discarded = warnings.pop(0)
    assert (discarded.stage, discarded.cycle) == ("sample", 1)  # frames 7-10: the second cycle of 1 frame per step
    assert discarded.reason.startswith("reference-region visibility 0.0")
    assert all(isinstance(w, str) for w in warnings)  # one discard only
    assert warnings[0].startswith("suspended: reference-region visibility 0.0")
    assert warnings[-1] == "resumed: suspending condition cleared"
    snap = read_snapshot(tmp_path / "suspend.h5")
    assert snap.counts["sample"].tolist() == [4, 4, 4, 4]  # the washed-out cycle was not kept
    assert np.median(result["visibility"]) == pytest.approx(0.6, abs=0.03)
    with open_run_file(tmp_path / "suspend.h5") as h5:
        frames = h5["frames/provenance"][()]
        assert len(frames) == 2 + 16 and not np.isin(frames["frame_id"], range(7, 19)).any()
        log = [m.decode() for m in h5["log"]["message"]]
        assert any("suspended" in m for m in log) and any("resumed" in m for m in log)


def test_laser_power_out_of_tolerance_suspends_until_it_recovers(tmp_path, monkeypatch):
    readings = iter([0.1, 0.1, 0.05, 0.04])  # two good blocks, then a dip for two readings

    monkeypatch.setattr(SimLaser, "measured_power_w",
                        lambda self: next(readings, self._setpoint_w if self.world.state.laser_emission else 0.0))
    loaded = small_loaded(tmp_path, extra="[suspenders]\nrecheck_interval_s = 0\n")
    params = {"frames_per_step": 2, "dark_frames": 1, "reference": False}
    result, states, warnings, _ = run_once(tmp_path, "power.h5", loaded=loaded, params=params)
    assert result.status == "complete"
    assert RunState.PAUSED in states and "laser power 50.0 mW is 50 % off the setpoint 100.0 mW" in warnings[0].reason
    assert warnings[1].startswith("suspended: laser power 50.0 mW")
    assert read_snapshot(tmp_path / "power.h5").counts["sample"].tolist() == [2, 2, 2, 2]


def test_a_failing_subscriber_is_logged_and_does_not_end_the_run(tmp_path):
    calls = [0]

    def broken_display(_data, _info):
        calls[0] += 1
        raise ZeroDivisionError("bug in a progress display")

    plain, *_ = run_once(tmp_path, "plain.h5")
    result, states, _, laser_on = run_once(tmp_path, "buggy.h5", on_frame=lambda runner, n: broken_display(None, None))
    assert calls[0] == result.plan.total_frames()  # called for every frame, the run went on
    assert result.status == "complete" and states[-1] is RunState.DONE and laser_on is False
    with open_run_file(result.path) as h5:
        messages = [m.decode() for m in h5["log"]["message"]]
    assert any("frame_acquired" in m and "ZeroDivisionError" in m for m in messages)
    assert np.array_equal(sums_of(result.path)[0]["sample"], sums_of(plain.path)[0]["sample"])

"""The runner as a GUI, a script and a run share it: isolated subscribers, one state thread, ownership,
no device I/O on the caller's thread, emergency stop, latest-value slots, result_ready (decision 0040)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from app.bench_factory import open_bench
from app.engine import Runner, RunState
from app.storage import open_run_file, read_snapshot
from drivers.ownership import BenchBusy
from tests.test_engine_fixtures import small_loaded

PARAMS = {"frames_per_step": 4, "dark_frames": 2}  # 2 dark frames, then reference and sample: 4 steps x 4 frames


def _log_messages(path) -> list[str]:
    with open_run_file(path) as h5:
        return [row["message"].decode() for row in h5["log"][()]]


def test_a_raising_subscriber_never_stops_the_others_and_the_run_completes(tmp_path):
    with open_bench(small_loaded(tmp_path)) as bench:
        runner = Runner(bench)
        seen = {"first": [], "third": []}
        for name in ("frame_acquired", "progress", "step_done", "stage_done", "result_ready", "state_changed"):
            signal = getattr(runner.events, name)
            signal.connect(lambda *a, _n=name: seen["first"].append(_n))
            signal.connect(lambda *a: 1 / 0)
            signal.connect(lambda *a, _n=name: seen["third"].append(_n))
        result = runner.run("phase-stepping", PARAMS, path=tmp_path / "r.h5")
    assert result.status == "complete"
    frames = 2 + 2 * 16
    assert seen["third"].count("frame_acquired") == frames == seen["first"].count("frame_acquired")
    assert seen["third"] == seen["first"]  # every event reached the subscriber after the failing one
    assert seen["third"].count("stage_done") == 3
    log = _log_messages(tmp_path / "r.h5")
    failures = [m for m in log if "subscriber of" in m and "ZeroDivisionError" in m]
    # the first failure of each signal is written once, not once per emission
    assert len(failures) == 6, failures


def test_state_changed_comes_only_from_the_worker_thread(tmp_path):
    with open_bench(small_loaded(tmp_path)) as bench:
        runner = Runner(bench)
        threads, states = set(), []
        runner.events.state_changed.connect(lambda new, old: (threads.add(threading.current_thread().name),
                                                              states.append(new)))
        n = [0]

        def control(*_):  # pause, resume and abort are requested from other threads
            n[0] += 1
            if n[0] == 5:
                runner.pause()
                threading.Timer(0.05, runner.resume).start()
            if n[0] == 20:
                threading.Thread(target=runner.abort).start()

        runner.events.frame_acquired.connect(control)
        result = runner.run("phase-stepping", PARAMS, path=tmp_path / "s.h5")
    assert result.status == "aborted"
    assert threads == {"qiup-runner-phase-stepping"}
    assert states == [RunState.RUNNING, RunState.PAUSED, RunState.RUNNING, RunState.ABORTING, RunState.DONE]


def test_an_abort_landing_just_after_done_never_leaves_the_run_aborting(tmp_path):
    with open_bench(small_loaded(tmp_path)) as bench:
        runner = Runner(bench)
        states = []

        def on_state(new, old):  # the worker has just reported DONE and has not finished yet: abort now
            states.append(new)
            if new == RunState.DONE:
                late = threading.Thread(target=runner.abort, args=("late",))
                late.start()
                late.join(5)
                states.append("late abort returned" if not late.is_alive() else "late abort blocked")

        runner.events.state_changed.connect(on_state)
        result = runner.run("dark", {"frames": 1})
        runner.abort("after the end")  # and an abort after the end changes nothing either
    assert result.status == "complete"
    assert states == [RunState.RUNNING, RunState.DONE, "late abort returned"]
    assert runner.state == RunState.DONE


def test_start_does_no_device_io_on_the_callers_thread(tmp_path):
    with open_bench(small_loaded(tmp_path)) as bench:
        calls = []
        for device in bench.devices().values():
            original = device._call

            def recording(method, _orig=original, _dev=device.name):
                calls.append((threading.current_thread().name, _dev, method))
                return _orig(method)

            device._call = recording
        runner = Runner(bench)
        caller = threading.current_thread().name
        runner.start("phase-stepping", PARAMS, path=tmp_path / "io.h5")
        on_caller = [c for c in calls if c[0] == caller]
        result = runner.wait(60)
    assert result.status == "complete"
    assert on_caller == []  # planning used cached facts; identities and the file are made by the worker
    assert any(c[0] == "qiup-runner-phase-stepping" and c[2] == "identity" for c in calls)


def test_a_run_owns_the_bench_refuses_outside_moves_and_releases_it(tmp_path):
    path = tmp_path / "own.h5"
    with open_bench(small_loaded(tmp_path)) as bench:
        runner = Runner(bench)
        seen = {}

        def outsider():
            try:
                bench.ownership.check("delay_stage", "move to 5 um")
            except BenchBusy as exc:
                seen["refused"] = str(exc)

        def on_frame(*_):
            if "holder" not in seen:
                seen["holder"] = bench.ownership.holder
                seen["worker_may_act"] = bench.ownership.may_act()
                t = threading.Thread(target=outsider)
                t.start()
                t.join()

        runner.events.frame_acquired.connect(on_frame)
        runner.start("phase-stepping", PARAMS, path=path)
        seen["caller_may_act"] = bench.ownership.may_act()  # the starting (GUI) thread is an outsider
        result = runner.wait(60)
        after = bench.ownership.holder
    assert result.status == "complete"
    assert seen["holder"] == f"run 'phase-stepping' -> {path}"
    assert seen["worker_may_act"] is True and seen["caller_may_act"] is False
    assert f"in use by run 'phase-stepping' -> {path}" in seen["refused"]
    assert after is None


def test_the_bench_is_released_when_a_run_fails(tmp_path):
    loaded = small_loaded(tmp_path, extra="[camera.faults]\nstop_answering_after_calls = 20\n")
    with open_bench(loaded) as bench:
        runner = Runner(bench)
        result = runner.run("phase-stepping", PARAMS, path=tmp_path / "f.h5", raise_on_error=False)
        assert result.status == "failed"
        assert bench.ownership.holder is None
        bench.ownership.check("delay_stage", "move")  # anyone may act again


def test_an_emergency_laser_off_from_outside_ends_the_run_aborted_with_its_blocks_on_disk(tmp_path):
    path = tmp_path / "estop.h5"
    with open_bench(small_loaded(tmp_path)) as bench:
        runner = Runner(bench)
        n = [0]

        def emergency():  # what the laser contract does for an emission-off from outside the run
            bench.laser.set_emission(False)
            bench.ownership.emergency_stop("laser emission switched off from outside the run")

        def on_frame(*_):
            n[0] += 1
            if n[0] == 12:
                t = threading.Thread(target=emergency)
                t.start()
                t.join()

        runner.events.frame_acquired.connect(on_frame)
        result = runner.run("phase-stepping", PARAMS, path=path)
        laser_on = bench.world.state.laser_emission
    assert result.status == "aborted" and "emergency stop" in result.error
    assert laser_on is False
    snap = read_snapshot(path)
    assert snap.status == "aborted"
    assert snap.blocks_done >= 2  # dark (2 frames) and the reference blocks before frame 12
    assert snap.counts["dark"].tolist() == [2]
    assert int(snap.counts["reference"].sum()) == snap.frames_done - 2


def test_latest_frame_holds_the_newest_read_only_frame_with_its_sequence_number(tmp_path):
    with open_bench(small_loaded(tmp_path)) as bench:
        runner = Runner(bench)
        checks = []

        def on_frame(data, info):
            latest = runner.latest_frame()
            frame, latest_info = latest.value
            checks.append((latest.seq, frame is data, latest_info == info, frame.flags.writeable))

        runner.events.frame_acquired.connect(on_frame)
        runner.run("phase-stepping", PARAMS, path=tmp_path / "lf.h5")
    assert [c[0] for c in checks] == list(range(1, 35))
    assert all(c[1] and c[2] and not c[3] for c in checks)  # the same frame, published read-only


def test_result_ready_names_each_result_as_it_is_written(tmp_path):
    with open_bench(small_loaded(tmp_path)) as bench:
        runner = Runner(bench)
        ready = []

        def on_ready(name, index):
            with open_run_file(tmp_path / "ts.h5") as h5:  # already in the file when announced
                data = h5["results"][name][()] if index is None else h5["results"][name][index]
            ready.append((name, index, bool(np.isfinite(np.asarray(data, float)).any())))

        runner.events.result_ready.connect(on_ready)
        runner.run("time-series", {"frames_per_step": 2, "repeats": 3, "dark_frames": 2}, path=tmp_path / "ts.h5")
    assert [(n, i) for n, i, _ in ready if n == "amplitude"] == [("amplitude", 0), ("amplitude", 1), ("amplitude", 2)]
    assert ("dark", None, True) in ready and ("reference_visibility", None, True) in ready
    assert all(finite for name, _, finite in ready if name in ("amplitude", "phase", "visibility"))

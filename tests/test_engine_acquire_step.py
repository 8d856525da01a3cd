"""One acquisition path (issue 9, item 6): the live sequence settles the pump, checks the interlock after
moves and discards stale frames, as every stepped plan does."""

from __future__ import annotations

import numpy as np
import pytest

from app.bench_factory import open_bench
from app.engine import Runner
from app.engine.acquire_step import StepAcquirer
from tests.test_engine_fixtures import small_loaded

LIVE = {"dark_frames": 2, "max_frames": 24}


def test_live_takes_no_frame_before_the_pump_has_settled(tmp_path):
    loaded = small_loaded(tmp_path, sample="empty")
    assert loaded.settings.laser.power_ramp_time_s > 0  # the simulated pump ramps after emission on
    tolerance = loaded.settings.calibration.laser_settle_fraction
    with open_bench(loaded) as bench:
        runner = Runner(bench)
        powers = []
        period = bench.camera.frame_period_s()

        def on_frame(data, info):  # the true pump power when this frame's exposure began
            setpoint = bench.world.state.laser_power_w
            powers.append(bench.world.laser_ramp.power_w(info.timestamp_s - period, setpoint) / setpoint)

        runner.events.frame_acquired.connect(on_frame)
        result = runner.run("live", LIVE)
    assert result.status == "complete" and len(powers) == 24
    assert min(powers) >= 1 - tolerance, powers[:4]


def test_live_checks_the_interlock_after_each_move(tmp_path):
    with open_bench(small_loaded(tmp_path, sample="empty")) as bench:
        runner = Runner(bench)
        frames_after_open = []
        opened = [False]

        def on_frame(data, info):
            if opened[0]:
                frames_after_open.append(info.frame_id)
            elif info.frame_id == 8:
                bench.laser.open_interlock()  # the door opened: emission drops
                opened[0] = True

        runner.events.frame_acquired.connect(on_frame)
        result = runner.run("live", LIVE, raise_on_error=False)
        laser_on = bench.world.state.laser_emission
    assert result.status == "failed" and "interlock" in result.error
    assert frames_after_open == [] and laser_on is False


def test_live_discards_stale_frames_after_every_move(tmp_path):
    with open_bench(small_loaded(tmp_path, sample="empty")) as bench:
        calls = []
        for device, method in ((bench.phase_piezo, "move_to"), (bench.camera, "discard_stale_frames"),
                               (bench.camera, "read_frame"), (bench.laser, "interlock_closed")):
            original = getattr(device, method)

            def recording(*args, _orig=original, _name=method, **kwargs):
                calls.append(_name)
                return _orig(*args, **kwargs)

            setattr(device, method, recording)
        runner = Runner(bench)
        result = runner.run("live", LIVE)
    assert result.status == "complete"
    reads = [i for i, c in enumerate(calls) if c == "read_frame"]
    live_reads = reads[2:]  # after the two dark frames
    assert len(live_reads) == 24
    for previous, read in zip(reads[1:], live_reads):
        between = calls[previous + 1:read]
        # every live frame: a move, then stale frames dropped, then the interlock checked, then the read
        assert between[:2] == ["move_to", "discard_stale_frames"] and "interlock_closed" in between, between


def test_frame_id_gaps_count_as_dropped_frames_but_a_discard_does_not():
    class Camera:
        def __init__(self, ids):
            self.ids = iter(ids)

        def read_frame(self, timeout_s):
            from drivers.interfaces import Frame

            return Frame(np.zeros((2, 2), np.uint16), next(self.ids), 0.0)

        def discard_stale_frames(self, timeout_s):
            return 3

    class Stage:
        def move_to(self, position): ...
        def wait_settled(self): ...
        def position(self): return 0.0

    class Laser:
        def interlock_closed(self): return True
        def measured_power_w(self): return 0.1

    class Bench:
        camera = Camera([1, 2, 4, 5, 9, 10, 13, 20])  # 3 lost; 6..8 discarded after a move; 11, 12 lost; 17..19

        phase_piezo = Stage()
        delay_stage = Stage()
        laser = Laser()

    acquirer = StepAcquirer(Bench(), frame_timeout_s=1.0)
    _, frames = acquirer.take(0.0, 4, laser_on=True)
    assert [f.frame_id for f in frames] == [1, 2, 4, 5] and acquirer.dropped_frames == 1
    _, frames = acquirer.take(1.0, 3, laser_on=True)
    assert [f.frame_id for f in frames] == [9, 10, 13] and acquirer.dropped_frames == 3
    _, frames = acquirer.take(2.0, 1, laser_on=True)  # 14..16 lost before the discard's 3 (17..19)
    assert [f.frame_id for f in frames] == [20] and acquirer.dropped_frames == 6


def test_a_camera_dropping_frames_is_logged_per_stage_and_warned(tmp_path):
    loaded = small_loaded(tmp_path, extra="[camera.faults]\ndrop_frame_at_calls = [20, 21, 33]\n")
    path = tmp_path / "drops.h5"
    with open_bench(loaded) as bench:
        runner = Runner(bench)
        warnings = []
        runner.events.warning.connect(warnings.append)
        result = runner.run("phase-stepping", {"frames_per_step": 4, "dark_frames": 2}, path=path)
    assert result.status == "complete"
    dropped = [w for w in warnings if "dropped" in w]
    assert sum(int(w.split("dropped ")[1].split()[0]) for w in dropped) == 3, warnings
    from app.storage import open_run_file

    with open_run_file(path) as h5:
        log = [row["message"].decode() for row in h5["log"][()]]
    assert [m for m in log if "dropped" in m] == dropped
    with open_run_file(path) as h5:
        ids = h5["frames/provenance"]["frame_id"]
    assert len(ids) == 34  # every planned frame arrived (a lost frame is replaced by the next one)


@pytest.mark.parametrize("module", ["app.benchmarks.simulator", "app.benchmarks.pipeline_truth"])
def test_benchmarks_take_frames_through_the_one_acquisition_path(module):
    import importlib
    import inspect

    source = inspect.getsource(importlib.import_module(module))
    assert "StepAcquirer" in source and ".read_frame(" not in source

"""Frames are taken only once the pump has ramped to its setpoint; a laser that never gets there
fails the run cleanly (laser off, data on disk)."""

import time

import numpy as np
import pytest

from app.bench_factory import open_bench
from app.engine import Runner
from app.storage import read_run_file
from sim_backends.devices import SimLaser
from tests.test_engine_fixtures import small_loaded

SLOW_RAMP = {"power_ramp_time_s = 0.3": "power_ramp_time_s = 2.0"}


def reference_frame_means(tmp_path, loaded):
    """Mean ADU of every frame of the reference stage, in acquisition order (step 0 visits first)."""
    means = []
    with open_bench(loaded) as bench:
        runner = Runner(bench)
        runner.events.frame_acquired.connect(
            lambda data, info: info.stage == "reference" and info.step == 0 and means.append(float(data.mean())))
        result = runner.run("phase-stepping", {"frames_per_step": 8, "cycles": 2}, path=tmp_path / "run.h5")
    return np.array(means), result


def test_first_frames_after_emission_on_are_at_full_power(tmp_path):
    means, result = reference_frame_means(tmp_path, small_loaded(tmp_path, **SLOW_RAMP))
    assert result.status == "complete"
    # Step 0's first frame (just after emission on) and its last (seconds later) see the same power:
    # a frame taken during a 2 s ramp would be tens of percent dimmer; RIN and shot noise are < 1 %.
    assert means[0] == pytest.approx(means[-1], rel=0.02)


def test_a_laser_that_never_settles_fails_the_run_with_the_laser_off(tmp_path, monkeypatch):
    monkeypatch.setattr(SimLaser, "measured_power_w", lambda self: 0.5 * self.power_setpoint_w())
    with open_bench(small_loaded(tmp_path)) as bench:
        result = Runner(bench).run("phase-stepping", {"frames_per_step": 1}, path=tmp_path / "run.h5",
                                   raise_on_error=False)
        assert bench.world.state.laser_emission is False
    assert result.status == "failed" and "did not settle within 1 %" in result.error


def test_a_pump_dip_suspends_the_run_until_the_laser_has_recovered(tmp_path):
    with open_bench(small_loaded(tmp_path)) as bench:
        runner = Runner(bench)
        warnings, seen = [], [0]
        runner.events.warning.connect(warnings.append)

        def dip(_data, _info):
            seen[0] += 1
            if seen[0] == 40:  # during the sample run: the pump drops to half and ramps back (tau 0.3 s)
                world = bench.world
                with world.lock:
                    world.laser_ramp.restart(world.clock_s, 0.05, world.laser_ramp.target_w)

        runner.events.frame_acquired.connect(dip)
        result = runner.run("phase-stepping", {"frames_per_step": 4}, path=tmp_path / "run.h5")
    assert result.status == "complete"
    assert any("suspended: laser power" in w for w in warnings) and any("resumed" in w for w in warnings)
    assert read_run_file(result.path).counts["sample"].tolist() == [4, 4, 4, 4]  # the dimmed cycle was repeated


def test_abort_is_honoured_while_waiting_for_the_pump(tmp_path, monkeypatch):
    """A pump that never settles must not hold the run (and the beam) for the whole settle timeout."""
    monkeypatch.setattr(SimLaser, "measured_power_w", lambda self: 0.5 * self.power_setpoint_w())
    monkeypatch.setattr(SimLaser, "_wait_s", lambda self, seconds: time.sleep(0.01))  # polls in wall time
    monkeypatch.setattr(SimLaser, "_clock_s", lambda self: time.monotonic())
    with open_bench(small_loaded(tmp_path)) as bench:
        runner = Runner(bench)
        runner.start("phase-stepping", {"frames_per_step": 1}, path=tmp_path / "run.h5")
        time.sleep(0.5)  # the dark stage is quick; the runner is now waiting for the pump (30 s timeout)
        started = time.monotonic()
        runner.abort()
        runner.wait()
        assert time.monotonic() - started < 5.0
        assert bench.world.state.laser_emission is False
    assert runner.result.status == "aborted"

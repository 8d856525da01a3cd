"""Faults injected by the simulator's config end a run cleanly: failed, a clear message, laser off, data kept."""

import numpy as np
import pytest

from app.bench_factory import open_bench
from app.engine import Runner, RunState
from app.storage import read_snapshot
from tests.test_engine_fixtures import small_loaded

PARAMS = {"frames_per_step": 4, "dark_frames": 2}


def faulty_run(tmp_path, faults_toml):
    with open_bench(small_loaded(tmp_path, extra=faults_toml)) as bench:
        runner = Runner(bench)
        states = []
        runner.events.state_changed.connect(lambda new, old: states.append(new))
        result = runner.run("phase-stepping", PARAMS, path=tmp_path / "fault.h5", raise_on_error=False)
        emission = bench.world.state.laser_emission
    return result, states, emission


@pytest.mark.parametrize("faults, message", [
    ("[camera.faults]\nstop_answering_after_calls = 30\n", "camera: "),
    ("[laser.faults]\ninterlock_trip_after_calls = 12\n", "laser: "),
], ids=["camera-stops-answering", "laser-interlock-trips"])
def test_injected_fault_fails_the_run_with_laser_off_and_data_on_disk(tmp_path, faults, message):
    result, states, emission = faulty_run(tmp_path, faults)
    assert result.status == "failed" and states[-1] == RunState.FAILED
    assert result.error.startswith(message) and "\n" not in result.error
    assert emission is False
    snap = read_snapshot(tmp_path / "fault.h5")
    assert snap.status == "failed"
    total = 2 + 2 * 16
    assert 0 < snap.frames_done < total  # it failed mid-run ...
    assert sum(int(c.sum()) for c in snap.counts.values()) == snap.frames_done  # ... and kept what it took
    assert np.all(snap.sums["dark"] > 0)

"""Drift tracking: with a drifting interferometer, the phase lock keeps the fringes where they belong."""

import numpy as np
import pytest

from app.bench_factory import open_bench
from app.engine import Runner
from app.storage import open_run_file
from tests.test_engine_fixtures import small_loaded



def drifting_run(tmp_path, name, phase_lock):
    # 0.6 rad/s of simulated time; 100 ms frames: 0.24 rad per 4-step cycle, ~3.8 rad over the sample stage
    loaded = small_loaded(tmp_path, sample="empty", **{"phase_drift_rad_per_s = 0.0 ": "phase_drift_rad_per_s = 0.6 "})
    params = {"steps": 4, "frames_per_step": 16, "cycles": 16, "dark_frames": 1, "reference": False,
              "phase_lock": phase_lock}
    with open_bench(loaded) as bench:
        result = Runner(bench).run("phase-stepping", params, path=tmp_path / name)
    return result


def test_phase_lock_keeps_the_visibility_that_drift_washes_out(tmp_path):
    free = drifting_run(tmp_path, "free.h5", phase_lock=False)
    locked = drifting_run(tmp_path, "locked.h5", phase_lock=True)
    v_free, v_locked = np.median(free["visibility"]), np.median(locked["visibility"])
    assert v_free < 0.4  # 3.8 rad of drift averaged into the steps: V0 sinc(1.9) ~ 0.3
    assert v_locked == pytest.approx(0.6, abs=0.03)
    with open_run_file(locked.path) as h5:
        drift = h5["runs/sample/cycle_phase_rad"][()]
        offsets = h5["runs/sample/piezo_offset"][()]
    assert np.all(np.isfinite(drift)) and abs(drift[1]) == pytest.approx(0.24, abs=0.05)  # one cycle of drift
    assert np.all(np.abs(drift[2:]) < 0.4)  # corrected from then on: the residual stays about one cycle's drift
    assert offsets[-1] == pytest.approx(-3.6 * 7.75 / (2 * np.pi), rel=0.15)  # the piezo followed the drift

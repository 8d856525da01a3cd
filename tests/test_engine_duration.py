"""The duration estimate against the simulated bench's own clock over a real run.

The simulator's clock advances only by what its devices take: one frame period (exposure + rows x row
time) per frame, a stage's travel (distance / velocity) plus its settle time per move, the laser's poll
interval while the runner waits for the pump ramp. The estimate models exactly these from the cached
readbacks and capability records, so on the simulated clock it must agree to float rounding (1e-6
relative); any missing or double-counted move, settle or ramp would be off by >= 10 ms.
"""

from __future__ import annotations

import math

import pytest

from app.bench_factory import open_bench
from app.config import load_config
from app.engine import Runner
from app.engine.calibration import effective_calibration
from app.engine.duration import bench_timing, estimate_duration, pump_settle_s
from tests.test_engine_fixtures import small_config

TIMINGS = {
    "displacement_um_per_v = 0.1": "displacement_um_per_v = 0.1\nsettle_time_s = 0.02",  # piezo
    "max_um = 100.0": "max_um = 100.0\nvelocity_um_per_s = 200.0\nsettle_time_s = 0.05",  # delay stage
}


def _estimate_and_run(tmp_path, sequence, params, **replacements):
    loaded = load_config(small_config(tmp_path, **TIMINGS, **replacements))
    with open_bench(loaded) as bench:
        for device in bench.devices().values():
            device.read_state()
        runner = Runner(bench)
        validated, plan = runner.plan(sequence, params)
        cal = effective_calibration(bench.config)
        timing = bench_timing(bench.readbacks(), bench.capabilities(), cal.laser_settle_fraction)
        estimate = estimate_duration(plan, timing, sample_in_um=cal.sample_in_position_um,
                                     sample_out_um=cal.sample_out_position_um)
        t0 = bench.world.clock_s
        result = runner.run(sequence, validated, path=tmp_path / f"{sequence}.h5")
        assert result.status == "complete"
        return estimate, bench.world.clock_s - t0


@pytest.mark.parametrize("sequence, params", [
    ("phase-stepping", {"steps": 4, "frames_per_step": 3, "dark_frames": 5}),
    ("delay-scan", {"frames_per_step": 1, "start_um": 20.0, "stop_um": 60.0, "step_um": 10.0}),
    ("fringe-calibration", {"points": 12, "frames_per_point": 1, "write_calibration": False}),
])
def test_estimate_equals_the_simulated_run_duration(tmp_path, sequence, params):
    estimate, elapsed_s = _estimate_and_run(tmp_path, sequence, params)
    assert estimate.total_s == pytest.approx(elapsed_s, rel=1e-6)
    assert estimate.parts_s["pump settling"] > 0 and estimate.parts_s["piezo steps"] > 0
    assert not any("does not report" in a for a in estimate.assumptions)


def test_estimate_follows_the_exposure_parameter_and_a_linear_pump_ramp(tmp_path):
    estimate, elapsed_s = _estimate_and_run(tmp_path, "reference", {"frames_per_step": 2, "exposure_s": 0.03},
                                            **{'pump_ramp_shape = "exponential"': 'pump_ramp_shape = "linear"'})
    assert estimate.total_s == pytest.approx(elapsed_s, rel=1e-6)
    rows_s = 64 * 4.87e-6  # readout of the 64-row ROI
    assert estimate.frame_period_s == pytest.approx(0.03 + rows_s, rel=1e-9)


def test_pump_settle_time_from_the_ramp_equation():
    """Exponential ramp from 0: |P - P_set| / P_set = exp(-t / tau) <= 1 % at tau ln 100, rounded up to 50 ms polls."""
    from app.engine.duration import AxisTiming, BenchTiming

    axis = AxisTiming(0.0, math.inf, 0.0)
    timing = BenchTiming(0.1, 0.1, axis, axis, None, False, 0.0, 0.3, "exponential", 0.01)
    assert pump_settle_s(0.0, 0.1, timing) == pytest.approx(math.ceil(0.3 * math.log(100) / 0.05) * 0.05)
    assert pump_settle_s(0.1, 0.1, timing) == 0.0  # already there: the first poll passes

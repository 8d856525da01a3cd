"""Each sequence produces its documented datasets, and the physics they measure matches the simulator."""

import numpy as np
import pytest
from scipy.signal import find_peaks

from app.bench_factory import open_bench
from app.config import ConfigError
from app.engine import Runner, RunState
from app.engine.calibration import effective_calibration
from app.storage import open_run_file, read_run_file
from sim_backends.devices import SimLaser
from tests.test_engine_fixtures import DEFAULT_ROI, small_loaded


def run(tmp_path, sequence, params, **config):
    with open_bench(small_loaded(tmp_path, **config)) as bench:
        result = Runner(bench).run(sequence, params, path=tmp_path / f"{sequence}.h5")
        world = bench.world
    assert result.status == "complete"
    return result, world


def test_dark_keeps_the_laser_off_and_gives_the_offset(tmp_path, monkeypatch):
    emissions = []
    original = SimLaser.set_emission
    monkeypatch.setattr(SimLaser, "set_emission", lambda self, on: (emissions.append(on), original(self, on))[1])
    result, _ = run(tmp_path, "dark", {"frames": 3})
    assert True not in emissions
    assert result["dark"].shape == (64, 64) and np.median(result["dark"]) == pytest.approx(100, abs=1)  # offset_adu
    stored = read_run_file(result.path)
    assert stored.counts["dark"].tolist() == [3] and stored.results["dark"].unit == "ADU"


def test_reference_on_the_empty_sample_without_a_sample_stage_move(tmp_path):
    result, world = run(tmp_path, "reference", {"frames_per_step": 2, "dark_frames": 2}, sample="empty",
                        **{"laser_power_w = 0.1": 'laser_power_w = 0.1\nreference_method = "bench_as_is"'})
    assert world.state.sample_stage_um == 0.0  # the bench as it is: nothing moved the sample
    assert np.median(result["reference_visibility"]) == pytest.approx(0.6, abs=0.02)
    assert np.isfinite(result["reference_phase"]).all()


def test_time_series_stacks_one_image_per_repeat(tmp_path):
    result, _ = run(tmp_path, "time-series", {"repeats": 3, "frames_per_step": 1, "dark_frames": 1})
    for name in ("visibility", "amplitude", "phase", "mask"):
        assert result[name].shape == (3, 64, 64)
    assert np.all(np.diff(result["start_time_s"]) >= 0)
    # the sample does not change: each repeat images the same object
    mask = result["mask"].all(axis=0).astype(bool)
    assert np.sqrt(np.mean((result["amplitude"][2] - result["amplitude"][0])[mask] ** 2)) < 0.1
    with open_run_file(result.path) as h5:
        assert [k for k in h5["runs"]] == ["dark", "reference", "sample_0000", "sample_0001", "sample_0002"]


def test_fringe_calibration_measures_the_piezo_and_the_next_run_uses_it(tmp_path):
    """The simulated piezo moves an idler mirror (double pass, 0.1 um/V): 1550 nm / 2 / 0.1 um/V = 7.75 V."""
    config = {"piezo_travel_per_2pi = 7.75": "piezo_travel_per_2pi = 7.0",
              "laser_power_w = 0.1": 'laser_power_w = 0.1\nfile = "piezo-calibration.toml"', "sample": "empty"}
    result, _ = run(tmp_path, "fringe-calibration", {"points": 24, "frames_per_point": 1, "dark_frames": 1}, **config)
    assert float(result["piezo_per_2pi"]) == pytest.approx(7.75, rel=0.01)
    assert result["sweep_piezo"].shape == (24,)
    written = (tmp_path / "piezo-calibration.toml").read_text()
    assert "piezo_travel_per_2pi = 7.7" in written
    loaded = small_loaded(tmp_path, **config)
    assert effective_calibration(loaded).piezo_travel_per_2pi == pytest.approx(7.75, rel=0.01)
    with open_bench(loaded) as bench:
        _, plan = Runner(bench).plan("phase-stepping", {})
    steps = np.diff(plan.stage_by_label("sample").piezo_setpoints)
    assert steps == pytest.approx(float(result["piezo_per_2pi"]) / 4)  # quarter fringes with the measured value


def test_delay_scan_writes_volume_and_depth_maps(tmp_path):
    result, _ = run(tmp_path, "delay-scan", {"delays_um": [10, 20, 30, 40], "frames_per_step": 1, "dark_frames": 1})
    assert result["volume"].shape == result["field_phase"].shape == (4, 64, 64)
    assert result["delays_um"].tolist() == [10, 20, 30, 40]
    assert result["depth_um"].shape == result["reflectivity"].shape == (64, 64)
    with open_run_file(result.path) as h5:
        assert [h5[f"runs/delay_{z:04d}"].attrs["delay_um"] for z in range(4)] == [10, 20, 30, 40]
        assert h5["results/depth_um"].attrs["unit"] == "um"


STRIP_ROI = "roi = { x = 896, y = 1016, width = 256, height = 16 }"


def test_3d_scan_of_the_three_layer_sample_recovers_the_layer_depths(tmp_path):
    """A strip across the field: top layer (left), disc (right), back mirror (everywhere)."""
    try:
        loaded = small_loaded(tmp_path, sample="three-layer", **{DEFAULT_ROI: STRIP_ROI})
    except ConfigError:
        pytest.skip("the simulator has no three-layer sample yet")
    params = {"start_um": 0, "stop_um": 100, "step_um": 2.5, "frames_per_step": 1, "dark_frames": 1}
    with open_bench(loaded) as bench:
        result = Runner(bench).run("delay-scan", params, path=tmp_path / "3d.h5")
        roi = bench.camera.roi()
        truth = bench.world.layers_truth((slice(roi.y, roi.y + roi.height), slice(roi.x, roi.x + roi.width)))
    assert result.status == "complete"
    delays, volume = result["delays_um"], result["volume"]
    for reflectivity, depth_um in truth:
        where = reflectivity > 0.2
        assert where.any()
        profile = volume[:, where].mean(axis=1)
        peaks, _ = find_peaks(profile, height=0.15 * profile.max())
        found = delays[peaks]
        assert np.min(np.abs(found - depth_um)) < 2.5, (depth_um, found)
    # the strongest reflector (the back mirror) is where the depth map puts the peak
    back_reflectivity, back_depth = truth[-1]
    assert np.median(result["depth_um"]) == pytest.approx(back_depth, abs=1.0)


def test_live_view_streams_rolling_maps_until_stopped(tmp_path):
    with open_bench(small_loaded(tmp_path, sample="empty")) as bench:
        runner = Runner(bench)
        maps, states = [], []

        def on_frame(data, info):  # the slot holds the maps of the frame before this one
            latest = runner.latest_maps()
            if latest is not None and (not maps or maps[-1][0] != latest.seq):
                maps.append((latest.seq, float(np.median(latest.value.visibility))))
            if info.frame_id >= 14:
                runner.stop()

        runner.events.state_changed.connect(lambda new, old: states.append(new))
        runner.events.frame_acquired.connect(on_frame)
        result = runner.run("live", {"dark_frames": 2})
        laser_on = bench.world.state.laser_emission
    assert result.status == "complete" and result.path is None and laser_on is False
    assert states[-1] == RunState.DONE
    assert runner.latest_maps().seq == 12 - 3  # frames 3..14 are live; maps from the 4th live frame on
    assert [seq for seq, _ in maps] == list(range(1, 9))  # one new map per frame, none queued or lost
    assert np.median([v for _, v in maps]) == pytest.approx(0.6, abs=0.03)

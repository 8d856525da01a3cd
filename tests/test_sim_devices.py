"""Simulated devices: camera timing/ROI/binning/trigger, piezo hysteresis, stages, SLM LUT, laser, faults."""

import threading
from types import SimpleNamespace

import numpy as np
import pytest

import sim_backends.world as world_module

from app.config import parse_config_text
from app.bench_factory import open_bench
from app.config.loader import LoadedConfig
from drivers.interfaces import DeviceError, DeviceTimeout, InterlockError, LimitError, Roi
from sim_backends.quick import quick_bench
from tests.helpers import SIM_CONFIG


def test_camera_frame_period_timestamps_and_ids():
    bench = quick_bench(roi=(768, 768, 512, 512))
    frames = [bench.camera.read_frame() for _ in range(3)]
    period = 0.1 + 512 * 4.87e-6  # exposure + rolling readout of 512 rows
    assert [f.frame_id for f in frames] == [1, 2, 3]
    assert np.diff([f.timestamp_s for f in frames]) == pytest.approx([period, period])


def test_camera_roi_binning_and_software_trigger():
    bench = quick_bench(sample="empty", roi=(896, 896, 256, 256), laser={"rin_rms": 0.0})
    bench.laser.set_emission(True)
    cam = bench.camera
    single = np.mean([cam.read_frame().data.astype(float) - 100 for _ in range(4)])
    cam.set_binning(2)
    binned = cam.read_frame().data
    assert binned.shape == (128, 128) == cam.frame_shape()
    assert (binned.astype(float) - 100).mean() == pytest.approx(4 * single, rel=0.02)  # digital sum of 2 x 2
    with pytest.raises(DeviceError):
        cam.set_roi(Roi(2000, 0, 512, 512))  # off the sensor
    cam.set_trigger_mode("software")
    with pytest.raises(DeviceTimeout):
        cam.read_frame(timeout_s=0.5)
    cam.software_trigger()
    assert cam.read_frame().data.shape == (128, 128)


def test_realtime_exposure_leaves_the_world_free_for_other_devices(monkeypatch):
    """While a realtime frame's wall-clock time passes, another thread can take the world's lock (a stage
    readback, a move, an emulator): an exposure slept holding it, so each of them could wait up to a
    frame, and the readback poller did so while holding that stage's own lock."""
    bench = quick_bench(roi=(992, 992, 64, 64), realtime=True, camera={"exposure_s": 0.05})
    world = bench.world
    slept_s, lock_was_free = [], []

    def take_and_release():
        if world.lock.acquire(timeout=1.0):
            world.lock.release()
            lock_was_free[-1] = True

    def sleep(seconds):  # the world's time.sleep: another thread tries the lock meanwhile
        slept_s.append(seconds)
        lock_was_free.append(False)
        other = threading.Thread(target=take_and_release)
        other.start()
        other.join()

    monkeypatch.setattr(world_module, "time", SimpleNamespace(sleep=sleep))
    frames = [bench.camera.read_frame() for _ in range(2)]
    period_s = 0.05 + 64 * 4.87e-6
    assert slept_s == pytest.approx([period_s, period_s])  # the wall clock still passes, a frame period each
    assert lock_was_free == [True, True]
    assert frames[1].timestamp_s - frames[0].timestamp_s == pytest.approx(period_s)
    assert bench.phase_piezo.read_state().position == 0.0  # and the world's state is intact


def test_piezo_hysteresis_and_nonlinearity_change_the_displacement():
    bench = quick_bench()
    world = bench.world
    world.piezo.hysteresis_v, world.piezo.nonlinearity = 2.0, 0.1
    bench.phase_piezo.move_to(20.0)
    up = world.piezo_displacement_um()
    bench.phase_piezo.move_to(40.0)
    bench.phase_piezo.move_to(20.0)
    down = world.piezo_displacement_um()
    assert down > up  # coming down, the stack lags behind: the loop is open
    with pytest.raises(LimitError):
        bench.phase_piezo.move_to(80.0)


def test_delay_stage_takes_time_to_move_and_settle():
    bench = quick_bench()
    t0 = bench.world.clock_s
    bench.delay_stage.move_to(50.0, wait=False)
    assert 0.0 < bench.delay_stage.position() < 50.0 or bench.delay_stage.position() == 0.0
    bench.delay_stage.wait_settled()
    assert bench.delay_stage.position() == 50.0
    assert bench.world.clock_s - t0 == pytest.approx(50.0 / 1000.0 + 0.01)


def test_slm_quantises_to_8_bit_and_wraps():
    bench = quick_bench()
    phase = np.full(bench.slm.shape, 2 * np.pi + 0.1, np.float32)
    bench.slm.show(phase, dither="off")
    shown = bench.slm.current_phase_rad()
    assert shown.max() < 2 * np.pi
    assert shown[0, 0] == pytest.approx(0.1, abs=np.pi / 256)
    assert bench.slm.gray_levels[0, 0] == np.floor(0.1 / (2 * np.pi) * 256)  # the contract's floor rule
    bench.slm.show(phase)  # dithered (the default): the tile's mean gray is the fractional level 4.07
    assert shown.max() < 2 * np.pi
    assert np.mean(bench.slm.gray_levels[:4, :4]) == pytest.approx(0.1 / (2 * np.pi) * 256, abs=1 / 32)


def test_laser_ramp_and_interlock():
    bench = quick_bench(laser={"power_ramp_time_s": 0.5})
    bench.laser.set_emission(True)
    assert bench.laser.measured_power_w() == pytest.approx(0.0, abs=1e-9)
    bench.world.advance(0.5)
    assert bench.laser.measured_power_w() == pytest.approx(0.1 * (1 - np.exp(-1)), rel=1e-6)
    bench.laser.open_interlock()
    assert bench.world.state.laser_emission is False
    with pytest.raises(InterlockError):
        bench.laser.set_emission(True)


def bench_with(extra: str):
    text = SIM_CONFIG.read_text() + "\n" + extra
    return open_bench(LoadedConfig(settings=parse_config_text(text), path=SIM_CONFIG, text=text))


def test_faults_are_off_by_default_and_configurable_per_device():
    extra = """
[camera.faults]
drop_frame_at_calls = [5]
stop_answering_after_calls = 8
[phase_piezo.faults]
corrupt_reply_at_calls = [3]
[laser.faults]
interlock_trip_after_calls = 4
"""
    # the sections already exist in simulation.toml: append the sub-tables under them
    with bench_with(extra) as bench:
        cam = bench.camera  # call 1 was connect()
        cam.start()  # call 2
        ids = [cam.read_frame().frame_id for _ in range(3)]  # calls 3, 4, 5 (5 drops a frame)
        assert ids == [1, 2, 4]
        assert cam.frames_dropped == 1 and cam.read_state().frames_dropped == 1  # counted, and observable
        cam.read_frame(); cam.read_frame(); cam.read_frame()  # calls 6, 7, 8
        with pytest.raises(DeviceTimeout):
            cam.read_frame()  # call 9: stopped answering
        bench.phase_piezo.move_to(10.0)  # call 2
        with pytest.raises(DeviceError, match="corrupted"):
            bench.phase_piezo.move_to(11.0)  # call 3
        bench.laser.set_power_w(0.1)  # laser call 2
        bench.laser.set_emission(True)  # call 3
        bench.laser.measured_power_w()  # call 4
        with pytest.raises(InterlockError):
            bench.laser.measured_power_w()  # call 5: the interlock has tripped
        assert bench.world.state.laser_emission is False
        with pytest.raises(InterlockError):
            bench.laser.set_emission(True)
    with bench_with("") as bench:
        bench.camera.start()
        assert [bench.camera.read_frame().frame_id for _ in range(20)] == list(range(1, 21))


def test_time_based_interlock_trip_darkens_frames():
    with bench_with("[laser.faults]\ninterlock_trip_after_s = 3.0\n") as bench:
        bench.laser.set_power_w(0.1)
        bench.laser.set_emission(True)
        bench.laser.wait_until_power_settled()  # about 1.4 s of simulated time with the default ramp
        bench.camera.start()
        bright = bench.camera.read_frame().data.mean()
        for _ in range(20):  # 2 s more: past the trip
            frame = bench.camera.read_frame()
        assert frame.data.mean() < 0.1 * bright
        with pytest.raises(InterlockError):
            bench.laser.emission_on()

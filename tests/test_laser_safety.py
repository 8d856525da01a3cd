"""Whatever ends a run — success, an exception, Ctrl-C, SIGTERM — leaves laser emission off."""

import os
import signal

import h5py
import pytest

import app.bench_factory as bench_factory
from app.cli import main
from app.storage import read_run_file
from drivers.interfaces import DeviceTimeout
from sim_backends.devices import SimCamera
from tests.helpers import SIM_CONFIG


@pytest.fixture
def captured_benches(monkeypatch):
    """Records every bench the CLI opens, so the test can inspect the laser after the run."""
    benches = []
    original = bench_factory.open_bench

    def recording_open_bench(loaded):
        cm = original(loaded)

        class Wrapper:
            def __enter__(self):
                bench = cm.__enter__()
                benches.append(bench)
                return bench

            def __exit__(self, *exc):
                return cm.__exit__(*exc)

        return Wrapper()

    monkeypatch.setattr(bench_factory, "open_bench", recording_open_bench)
    return benches


def fail_after(monkeypatch, n_frames, action):
    """Make the simulated camera run ``action`` once it has delivered ``n_frames`` frames."""
    original = SimCamera.read_frame

    def read_frame(self, timeout_s=5.0):
        frame = original(self, timeout_s)
        if frame.frame_id == n_frames:
            action()
        return frame

    monkeypatch.setattr(SimCamera, "read_frame", read_frame)


def emission_during_run_was_on(bench):
    return bench.world.state.laser_power_w > 0


def run(tmp_path):
    return main(["run", "--config", str(SIM_CONFIG), "--param", "frames_per_step=2", "--out", str(tmp_path)])


def only_file(tmp_path):
    """Root attributes and the labels of the runs that hold frames (every group is pre-created)."""
    (path,) = tmp_path.glob("*.h5")
    with h5py.File(path, "r") as h5:
        attrs = dict(h5.attrs)
    return attrs, {k for k, counts in read_run_file(path).counts.items() if counts.sum() > 0}


def test_laser_off_after_a_normal_run(tmp_path, captured_benches, capsys):
    assert run(tmp_path) == 0
    (bench,) = captured_benches
    assert emission_during_run_was_on(bench)
    assert bench.world.state.laser_emission is False


def test_laser_off_after_an_exception_inside_the_run(tmp_path, captured_benches, monkeypatch, capsys):
    def camera_dies():
        raise DeviceTimeout("no frame within 5 s", device="camera")

    fail_after(monkeypatch, 12, camera_dies)  # frames 9-16 are the reference run: laser on
    assert run(tmp_path) == 3
    (bench,) = captured_benches
    assert bench.world.state.laser_emission is False
    assert "camera: no frame within 5 s" in capsys.readouterr().err
    attrs, runs = only_file(tmp_path)
    assert attrs["status"] == "failed" and "dark" in runs  # data taken so far is on disk
    assert "sample" not in runs


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT],
                         ids=["ctrl-c", "sigterm", "sighup-terminal-closed", "sigquit"])
def test_laser_off_after_ctrl_c_or_sigterm(tmp_path, captured_benches, monkeypatch, capsys, signum, ctrl_c_raises):
    fail_after(monkeypatch, 12, lambda: os.kill(os.getpid(), signum))
    assert run(tmp_path) == 130
    (bench,) = captured_benches
    assert bench.world.state.laser_emission is False
    assert "laser is off" in capsys.readouterr().err
    attrs, _ = only_file(tmp_path)
    assert attrs["status"] == "aborted"


def test_laser_off_when_a_device_fails_to_connect(monkeypatch):
    """A laser left emitting (e.g. by the last session) is switched off when a later device fails."""
    from app.config import load_config
    from sim_backends.devices import SimLaser, SimSlm

    worlds = []
    original_connect = SimLaser.connect

    def connect_to_an_emitting_laser(self):
        original_connect(self)
        self.world.state.laser_emission = True
        worlds.append(self.world)

    def broken_connect(self):
        raise DeviceTimeout("no answer", device="slm")

    monkeypatch.setattr(SimLaser, "connect", connect_to_an_emitting_laser)
    monkeypatch.setattr(SimSlm, "connect", broken_connect)
    with pytest.raises(DeviceTimeout):
        with bench_factory.open_bench(load_config(SIM_CONFIG)):
            pass
    (world,) = worlds
    assert world.state.laser_emission is False


@pytest.fixture
def laser_that_will_not_switch_off(monkeypatch):
    """The laser stops answering once asked to switch off; close() cannot reach it either."""
    from sim_backends.devices import SimLaser

    original = SimLaser.set_emission

    def set_emission(self, on):
        if not on and self.world.state.laser_emission:
            raise DeviceTimeout("no answer to emission off", device="laser")
        original(self, on)

    def close(self):
        raise DeviceTimeout("no answer", device="laser")

    monkeypatch.setattr(SimLaser, "set_emission", set_emission)
    monkeypatch.setattr(SimLaser, "close", close)


def test_ctrl_c_never_claims_the_laser_is_off_when_it_did_not_confirm(tmp_path, captured_benches, monkeypatch,
                                                                    capsys, laser_that_will_not_switch_off,
                                                                    ctrl_c_raises):
    fail_after(monkeypatch, 12, lambda: os.kill(os.getpid(), signal.SIGINT))
    assert run(tmp_path) == 130
    err = capsys.readouterr().err
    assert "LASER EMISSION NOT CONFIRMED OFF" in err and "laser is off" not in err
    (path,) = tmp_path.glob("*.h5")
    with h5py.File(path, "r") as h5:
        assert any(b"NOT CONFIRMED OFF" in m for m in h5["log"]["message"][()])


def test_a_completed_run_whose_laser_does_not_confirm_off_is_an_error(tmp_path, captured_benches, capsys,
                                                                      laser_that_will_not_switch_off):
    assert run(tmp_path) == 3
    assert "LASER EMISSION NOT CONFIRMED OFF" in capsys.readouterr().err

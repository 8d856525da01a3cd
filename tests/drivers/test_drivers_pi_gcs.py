"""PI GCS delay stage: SVO on at connect, MOV then ERR?, ONT? polling with a timeout, limits from
TMN?/TMX?, GCS error codes with their meaning."""

import time

import pytest

from drivers.interfaces import DeviceTimeout, LimitError
from drivers.pi_gcs import GcsError, PiGcsStage
from sim_backends.emulators.pi_gcs import PiGcsEmulator


def test_emulator_speaks_gcs():
    emulator = PiGcsEmulator(move_time_s=0.0)
    assert emulator.handle("MOV 1 10") == b""  # set commands are silent...
    assert emulator.handle("ERR?") == b"5\n"  # ...and ERR? says why it failed: servo off
    emulator.handle("SVO 1 1")
    emulator.handle("MOV 1 10")
    assert emulator.handle("POS? 1") == b"1=10.000000\n"
    assert emulator.handle("ERR?") == b"0\n"


@pytest.fixture
def stage(serve, transport):
    emulator = PiGcsEmulator(min_um=0.0, max_um=80.0, move_time_s=0.05)
    server = serve(emulator, transport)
    with PiGcsStage(port=server.url, min_um=-10.0, max_um=100.0, timeout_s=0.5) as dev:
        yield dev, emulator, server


def test_connect_switches_servo_on_and_reads_limits(stage):
    dev, emulator, server = stage
    assert emulator.servo is True
    assert dev.identity().model == "E-709.CHG"
    assert dev.limits() == (0.0, 80.0)
    assert "ERR?" in server.received


def test_move_waits_for_on_target(stage):
    dev, emulator, _ = stage
    start = time.monotonic()
    dev.move_to(40.0)
    assert time.monotonic() - start >= 0.045  # waited for the 50 ms move
    assert dev.position() == pytest.approx(40.0)
    assert dev.status()["moving"] is False and dev.is_moving() is False


def test_no_wait_returns_before_on_target(stage):
    dev, _, _ = stage
    dev.move_to(60.0, wait=False)
    assert dev.on_target() is False
    dev.wait_settled(1.0)
    assert dev.on_target() is True


def test_never_on_target_times_out(stage):
    dev, emulator, _ = stage
    emulator.stuck = True
    start = time.monotonic()
    with pytest.raises(DeviceTimeout, match="not on target"):
        dev.move_to(10.0, wait=False)
        dev.wait_settled(0.2)
    assert time.monotonic() - start < 0.6


def test_limits_checked_before_sending_and_device_errors_have_meaning(stage):
    dev, emulator, _ = stage
    with pytest.raises(LimitError):
        dev.move_to(90.0)
    emulator.max_um = 50.0  # the controller's travel range changed since connect
    with pytest.raises(GcsError, match="position out of limits") as info:
        dev.move_to(70.0)
    assert info.value.code == 7

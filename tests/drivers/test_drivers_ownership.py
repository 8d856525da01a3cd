"""Emission-off goes ahead of queued calls and ends a run from outside; a run's claim refuses moves
from other threads before anything is sent (decision 0040), on real drivers over their emulators."""

import threading
import time

import pytest

from drivers.errors import DeviceNotConnected
from drivers.mdt693b import Mdt693bPiezo
from drivers.obis_laser import ObisLaser
from drivers.ownership import BenchBusy, BenchOwnership
from drivers.pi_gcs import PiGcsStage
from sim_backends.emulators.mdt693b import Mdt693bEmulator
from sim_backends.emulators.obis import ObisEmulator
from sim_backends.emulators.pi_gcs import PiGcsEmulator


def wait_until(condition, timeout_s=5.0):
    end = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.001)


@pytest.fixture
def obis(serve):
    emulator = ObisEmulator()
    server = serve(emulator)
    with ObisLaser(port=server.url, max_power_w=0.1, timeout_s=2.0) as laser:
        laser.set_power_w(0.05)
        laser.set_emission(True)
        yield laser, emulator, server


def test_emission_off_goes_ahead_of_queued_calls_while_another_thread_hammers(obis):
    laser, emulator, server = obis
    stop = threading.Event()
    hammer_errors = []

    def hammer():
        while not stop.is_set():
            try:
                laser.measured_power_w()
            except Exception as exc:  # noqa: BLE001
                hammer_errors.append(exc)

    hammerer = threading.Thread(target=hammer)
    hammerer.start()
    time.sleep(0.05)
    laser.lock.acquire()  # a transaction in flight: everything else queues behind it
    try:
        queued = [threading.Thread(target=laser.power_setpoint_w) for _ in range(3)]
        for t in queued:
            t.start()
        wait_until(lambda: laser.lock.queued[0] == 4)  # 3 queued callers + the hammer
        off = threading.Thread(target=laser.set_emission, args=(False,))
        off.start()
        wait_until(lambda: laser.lock.queued[1] == 1)
        sent_before = len(server.received)
    finally:
        laser.lock.release()
    off.join(5)
    for t in queued:
        t.join(5)
    stop.set()
    hammerer.join(5)
    assert hammer_errors == []
    assert server.received[sent_before] == "SOUR:AM:STAT OFF"  # first on the wire after the one in flight
    assert emulator.emission is False


def test_a_run_refuses_moves_from_other_threads_and_sends_nothing(serve):
    emulator = PiGcsEmulator(move_time_s=0.0)
    server = serve(emulator)
    ownership = BenchOwnership()
    with PiGcsStage(port=server.url, min_um=0.0, max_um=100.0, timeout_s=2.0) as stage:
        stage.ownership = ownership
        claimed, release = threading.Event(), threading.Event()
        run_moves = []

        def run():
            with ownership.claim("run 'phase-stepping' -> runs/x.h5"):
                stage.move_to(20.0)  # the run's own thread may move
                run_moves.append(stage.position())
                claimed.set()
                release.wait(5)

        runner = threading.Thread(target=run)
        runner.start()
        assert claimed.wait(5)
        sent = len(server.received)
        with pytest.raises(BenchBusy, match=r"in use by run 'phase-stepping' -> runs/x.h5"):
            stage.move_to(30.0)
        with pytest.raises(BenchBusy):
            stage.stop()
        assert len(server.received) == sent  # nothing reached the controller
        assert stage.position() == pytest.approx(20.0)  # queries from outside are served
        release.set()
        runner.join(5)
        assert run_moves == [pytest.approx(20.0)]
        stage.move_to(30.0)  # no run: anyone may move
        assert emulator.target_um == pytest.approx(30.0)


def test_emission_off_from_outside_a_run_is_accepted_and_aborts_the_run(obis):
    laser, emulator, _ = obis
    ownership = BenchOwnership()
    laser.ownership = ownership
    reasons, claimed, done = [], threading.Event(), threading.Event()

    def run():
        with ownership.claim("run 'time-series'", on_emergency_stop=reasons.append):
            laser.set_power_w(0.06)
            claimed.set()
            done.wait(5)

    runner = threading.Thread(target=run)
    runner.start()
    assert claimed.wait(5)
    with pytest.raises(BenchBusy):
        laser.set_power_w(0.07)  # a setting from outside is refused...
    laser.set_emission(False)  # ...emission-off never is
    done.set()
    runner.join(5)
    assert emulator.emission is False
    assert len(reasons) == 1 and "emission switched off from outside the run" in reasons[0]
    assert emulator.setpoint_w == pytest.approx(0.06)


def test_serial_ports_are_opened_exclusively(serve):
    """A second driver (or process) cannot open a port in use, so it cannot switch a run's laser off."""
    url = serve(Mdt693bEmulator()).url
    with Mdt693bPiezo(port=url, min_v=0, max_v=75):
        with pytest.raises(DeviceNotConnected, match="in use by another program"):
            Mdt693bPiezo(port=url, min_v=0, max_v=75).connect()

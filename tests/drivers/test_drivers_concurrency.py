"""Per-device serialisation (decision 0040): each emulated serial device hammered by 4 threads x 1,000
mixed calls (one thread moves/sets, three query) gives no garbled reply and no error, and every reply
agrees with the emulator's state. Without the device lock the replies of one thread land in another."""

import threading

import pytest

from drivers.ibeam_smart_laser import IBeamSmartLaser
from drivers.mdt693b import Mdt693bPiezo
from drivers.obis_laser import ObisLaser
from drivers.pi_gcs import PiGcsStage
from sim_backends.emulators.ibeam_smart import IBeamSmartEmulator
from sim_backends.emulators.mdt693b import Mdt693bEmulator
from sim_backends.emulators.obis import ObisEmulator
from sim_backends.emulators.pi_gcs import PiGcsEmulator

CALLS_PER_THREAD = 1000
THREADS = 4
POWERS_W = (0.011, 0.022, 0.033, 0.044)
VOLTS = (11.0, 22.5, 33.0, 44.5)
MICRONS = (12.5, 25.0, 37.5, 50.0)


def hammer(setter, queries) -> list[str]:
    """Thread 0 calls setter(i) 1,000 times; threads 1-3 cycle through ``queries`` (each returns an
    error text or None). Returns every problem (exceptions and wrong replies)."""
    problems: list[str] = []
    start = threading.Barrier(THREADS)

    def worker(index: int) -> None:
        start.wait()
        for i in range(CALLS_PER_THREAD):
            try:
                if index == 0:
                    setter(i)
                else:
                    wrong = queries[(i + index) % len(queries)]()
                    if wrong:
                        problems.append(wrong)
            except Exception as exc:  # noqa: BLE001 - every failure is a finding
                problems.append(f"thread {index} call {i}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return problems


def expect(value, allowed, what):
    return None if any(value == pytest.approx(a, abs=1e-6) for a in allowed) else f"{what}: {value!r} not in {allowed}"


def test_obis_four_threads(serve):
    emulator = ObisEmulator()
    laser = ObisLaser(port=serve(emulator).url, max_power_w=0.1, timeout_s=2.0)
    with laser:
        problems = hammer(
            lambda i: laser.set_power_w(POWERS_W[i % 4]),
            [lambda: expect(laser.power_setpoint_w(), POWERS_W + (0.0,), "setpoint"),
             lambda: expect(laser.measured_power_w(), (0.0,), "measured power with emission off"),
             lambda: None if laser.interlock_closed() is True else "interlock reads open",
             lambda: None if laser.identity().serial == emulator.serial_number else "identity garbled",
             lambda: None if laser.emission_on() is False else "emission reads on"])
        assert problems == []
        assert laser.power_setpoint_w() == pytest.approx(emulator.setpoint_w) == pytest.approx(POWERS_W[999 % 4])


def test_ibeam_smart_four_threads(serve):
    emulator = IBeamSmartEmulator()
    laser = IBeamSmartLaser(port=serve(emulator).url, max_power_w=0.1, timeout_s=2.0)
    with laser:
        problems = hammer(
            lambda i: laser.set_power_w(POWERS_W[i % 4]),
            [lambda: expect(laser.measured_power_w(), (0.0,), "measured power with emission off"),
             lambda: None if laser.emission_on() is False else "emission reads on",
             lambda: None if laser.identity().serial == emulator.serial_number else "identity garbled"])
        assert problems == []
        assert emulator.channel_power_uw[2] == pytest.approx(POWERS_W[999 % 4] * 1e6)


def test_mdt693b_four_threads(serve):
    emulator = Mdt693bEmulator()
    piezo = Mdt693bPiezo(port=serve(emulator).url, min_v=0.0, max_v=75.0, timeout_s=2.0)
    with piezo:
        problems = hammer(
            lambda i: piezo.move_to(VOLTS[i % 4], wait=False),
            [lambda: expect(piezo.position(), VOLTS + (0.0,), "voltage"),
             lambda: expect(piezo.read_state().position, VOLTS + (0.0,), "readback voltage"),
             lambda: None if piezo.identity().model == "MDT693B" else "identity garbled"])
        assert problems == []
        assert piezo.position() == pytest.approx(emulator.voltage_v["x"], abs=0.05) == pytest.approx(VOLTS[999 % 4], abs=0.05)


def test_pi_gcs_four_threads(serve):
    emulator = PiGcsEmulator(min_um=0.0, max_um=100.0, move_time_s=0.0)
    stage = PiGcsStage(port=serve(emulator).url, min_um=0.0, max_um=100.0, timeout_s=2.0)
    with stage:
        problems = hammer(
            lambda i: stage.move_to(MICRONS[i % 4], wait=False),
            [lambda: expect(stage.position(), MICRONS + (0.0,), "position"),
             lambda: None if stage.is_moving() is False else "moving although moves are instant",
             lambda: expect(stage.read_state().position, MICRONS + (0.0,), "readback position")])
        assert problems == []
        assert stage.position() == pytest.approx(emulator.target_um) == pytest.approx(MICRONS[999 % 4])

"""Every serial driver, facing a device that stops answering, answers garbage, or whose port closes,
raises a DeviceError within its configured timeout (never hangs); the lasers still end with
emission off when the device comes back, and say so when it cannot be confirmed."""

import time

import pytest

from drivers.ibeam_smart_laser import IBeamSmartLaser
from drivers.interfaces import DeviceError
from drivers.mdt693b import Mdt693bPiezo
from drivers.obis_laser import ObisLaser
from drivers.pi_gcs import PiGcsStage
from sim_backends.emulators.core import Fault
from sim_backends.emulators.ibeam_smart import IBeamSmartEmulator
from sim_backends.emulators.mdt693b import Mdt693bEmulator
from sim_backends.emulators.obis import ObisEmulator
from sim_backends.emulators.pi_gcs import PiGcsEmulator

TIMEOUT_S = 0.5

DRIVERS = {
    "obis": (ObisEmulator, lambda url: ObisLaser(port=url, max_power_w=0.1, timeout_s=TIMEOUT_S),
             lambda dev: dev.measured_power_w()),
    "ibeam-smart": (IBeamSmartEmulator, lambda url: IBeamSmartLaser(port=url, max_power_w=0.1, timeout_s=TIMEOUT_S),
                    lambda dev: dev.measured_power_w()),
    "mdt693b": (Mdt693bEmulator, lambda url: Mdt693bPiezo(port=url, min_v=0, max_v=75, timeout_s=TIMEOUT_S),
                lambda dev: dev.move_to(10.0)),
    "pi-gcs": (PiGcsEmulator, lambda url: PiGcsStage(port=url, min_um=0, max_um=100, timeout_s=TIMEOUT_S),
               lambda dev: dev.move_to(10.0)),
}


@pytest.mark.parametrize("fault", [Fault.SILENT, Fault.GARBAGE, Fault.CLOSED], ids=lambda f: f.value)
@pytest.mark.parametrize("kind", list(DRIVERS))
def test_fault_gives_device_error_within_timeout(serve, transport, kind, fault):
    make_emulator, make_driver, operate = DRIVERS[kind]
    server = serve(make_emulator(), transport)
    device = make_driver(server.url)
    device.connect()
    operate(device)  # healthy first
    server.set_fault(fault)
    start = time.monotonic()
    with pytest.raises(DeviceError):
        operate(device)
    elapsed = time.monotonic() - start
    assert elapsed < 2 * TIMEOUT_S + 0.3, f"{kind} took {elapsed:.2f} s to report {fault.value}"
    if fault is not Fault.CLOSED:
        server.set_fault(Fault.NONE)
    try:
        device.close()
    except DeviceError:
        pass  # a laser reports that it could not confirm emission off; the port is released anyway
    assert not device.connected


@pytest.mark.parametrize("kind", ["obis", "ibeam-smart"])
@pytest.mark.parametrize("fault", [Fault.SILENT, Fault.GARBAGE], ids=lambda f: f.value)
def test_laser_close_turns_emission_off_after_a_fault(serve, transport, kind, fault):
    make_emulator, make_driver, _ = DRIVERS[kind]
    emulator = make_emulator()
    server = serve(emulator, transport)
    laser = make_driver(server.url)
    laser.connect()
    laser.set_power_w(0.05)
    laser.set_emission(True)
    server.set_fault(fault)
    with pytest.raises(DeviceError):
        laser.measured_power_w()
    server.set_fault(Fault.NONE)  # the device is answering again (stale bytes may still be in flight)
    laser.close()
    assert _emitting(emulator) is False


@pytest.mark.parametrize("kind", ["obis", "ibeam-smart"])
def test_laser_close_on_a_dead_port_reports_it_within_bounded_time(serve, kind):
    make_emulator, make_driver, _ = DRIVERS[kind]
    server = serve(make_emulator())
    laser = make_driver(server.url)
    laser.connect()
    server.set_fault(Fault.SILENT)
    start = time.monotonic()
    with pytest.raises(DeviceError, match="could not confirm emission off"):
        laser.close()
    assert time.monotonic() - start < 6 * TIMEOUT_S + 1.0
    assert not laser.connected
    laser.close()  # idempotent: the second close is quiet


def _emitting(emulator) -> bool:
    return emulator.emission if isinstance(emulator, ObisEmulator) else emulator.laser_on

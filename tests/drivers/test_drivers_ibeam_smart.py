"""Toptica iBeam smart: pymeasure's own IBeamSmart speaks the protocol; our Laser adds watts, limits,
interlock and the safe close. The emulator behaves like the device (echo, prompt, [OK] handshake)."""

import pytest
from pymeasure.instruments.toptica import IBeamSmart
from pymeasure.test import expected_protocol

from drivers.ibeam_smart_laser import IBeamSmartLaser
from drivers.interfaces import InterlockError, LimitError
from sim_backends.emulators.ibeam_smart import IBeamSmartEmulator

INIT = [("echo off", None), ("prom off", None), ("talk usual", ""), (None, "[OK]")]


def test_replay_matches_pymeasure_protocol_for_power_and_emission():
    with expected_protocol(
        IBeamSmart,
        INIT + [("ch 2 pow 50000.000000 mic", ""), (None, "[OK]"),
                ("la on", ""), (None, "[OK]"),
                ("sh pow", ""), (None, "PIC  = 050000 uW  "), (None, "[OK]")],
    ) as laser:
        laser.ch_2.power = 50000
        laser.emission = True
        assert laser.power == 50000


def test_emulator_answers_like_the_device():
    emulator = IBeamSmartEmulator()
    assert emulator.handle("ver") == b"ver\r\n\r\niBEAM-SMART-EMU-1.0\r\n[OK]\r\nCMD> "
    emulator.handle("echo off")
    emulator.handle("prom off")
    assert emulator.handle("sta la") == b"\r\nOFF\r\n[OK]\r\n"
    assert b"%SYS" in emulator.handle("bogus")


@pytest.fixture
def ibeam(serve, transport):
    emulator = IBeamSmartEmulator(max_power_w=0.2)
    server = serve(emulator, transport)
    laser = IBeamSmartLaser(port=server.url, max_power_w=0.1, timeout_s=0.5)
    laser.connect()
    yield laser, emulator
    laser.close()


def test_power_in_watts_and_emission(ibeam):
    laser, emulator = ibeam
    assert laser.identity().serial == "iBEAM-SMART-EMU-0001"
    laser.set_power_w(0.035)
    assert emulator.channel_power_uw[2] == pytest.approx(35000)
    laser.set_emission(True)
    assert emulator.laser_on and emulator.channel_enabled[2] and not emulator.ext_enabled
    assert laser.emission_on() is True
    assert laser.measured_power_w() == pytest.approx(0.035, abs=1e-6)


def test_limits_refuse_before_sending(ibeam):
    laser, emulator = ibeam
    with pytest.raises(LimitError):
        laser.set_power_w(0.15)
    assert emulator.channel_power_uw[2] == 0.0


def test_interlock_message_becomes_interlock_error(ibeam):
    laser, emulator = ibeam
    emulator.open_interlock()
    with pytest.raises(InterlockError, match="interlock"):
        laser.set_emission(True)
    assert laser.interlock_closed() is False and not emulator.laser_on


def test_close_turns_emission_off(ibeam):
    laser, emulator = ibeam
    laser.set_power_w(0.02)
    laser.set_emission(True)
    laser.close()
    assert emulator.laser_on is False
    laser.close()
